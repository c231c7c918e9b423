/**
 * The fused recurrent kernels of @rnnlm/kernels start with the backend: on wasm and cpu, the backends
 * whose tensors live in CPU memory, @rnnlm/cells runs each layer's recurrence in them. Browser-safe.
 */
import { startKernels } from '@rnnlm/kernels';
import type { BackendSelection } from './select.js';

const KERNEL_BACKENDS = ['wasm', 'cpu'];

export async function withKernels<Name extends string>(
  selection: BackendSelection<Name>,
  threads: number,
): Promise<BackendSelection<Name>> {
  if (!KERNEL_BACKENDS.includes(selection.tfjsBackend)) return selection;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`threads must be a positive integer, got ${threads}`);
  }
  const kernels = await startKernels({ threads });
  return { ...selection, kernels, message: `${selection.message}; recurrent layers: ${kernels.message}` };
}
