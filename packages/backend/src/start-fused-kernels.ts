/**
 * The fused recurrent kernels of @rnnlm/kernels start with the backend: on wasm and cpu, the backends
 * whose tensors live in CPU memory, @rnnlm/cells runs each layer's recurrence in them. Browser-safe.
 */
import { startKernels } from '@rnnlm/kernels';
import type { BackendSelection } from './select.js';

const FUSED_KERNEL_BACKENDS = ['wasm', 'cpu'];

/** Starts the fused kernels on `threads` threads where the selected backend runs them, and says so. */
export async function withFusedKernels<Name extends string>(
  selection: BackendSelection<Name>,
  threads: number,
): Promise<BackendSelection<Name>> {
  if (!FUSED_KERNEL_BACKENDS.includes(selection.tfjsBackend)) return selection;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`threads must be a positive integer, got ${threads}`);
  }
  const fusedKernels = await startKernels({ threads });
  return {
    ...selection,
    fusedKernels,
    message: `${selection.message}; recurrent layers: ${fusedKernels.message}`,
  };
}
