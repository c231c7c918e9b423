/**
 * Whether a computation runs in the fused kernels of @rnnlm/kernels or op by op: the choice every
 * model, sequence function and the loss make the same way.
 */
import { kernelRuntime } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { CROSS_ENTROPY_OP } from './cross-entropy-op.js';
import { EMBEDDING_OPS } from './embedding-op.js';
import { HOST_BACKENDS } from './host-memory.js';
import { SEQUENCE_OPS } from './sequence-op.js';

/** The fused kernel where it can run (default), always (an error elsewhere), or op by op. */
export type FusedMode = 'auto' | 'fused' | 'ops';
/** Every `FusedMode`, for validating input and listing choices. */
export const FUSED_MODES: readonly FusedMode[] = ['auto', 'fused', 'ops'];

/**
 * Every kernel the fused path runs. The host backends get them from this package on first use; any
 * other backend has them only when someone registered them all for it (webgpu: @rnnlm/backend's
 * WGSL kernels, with the same names).
 */
export const FUSED_KERNEL_NAMES: readonly string[] = [...SEQUENCE_OPS, CROSS_ENTROPY_OP, ...EMBEDDING_OPS];

/** Why the fused kernels cannot run on the active backend, or null when they can. */
export function fusedUnavailableReason(): string | null {
  const backend = tf.getBackend();
  if (!(HOST_BACKENDS as readonly string[]).includes(backend)) {
    if (FUSED_KERNEL_NAMES.every((name) => tf.getKernel(name, backend) !== undefined)) return null;
    return (
      `the fused kernels run on the wasm and cpu backends, and on webgpu once @rnnlm/backend registered ` +
      `its kernels there, and the active one is ${backend}`
    );
  }
  if (kernelRuntime() === null) {
    return 'WebAssembly SIMD is not available here (or the kernels were not started)';
  }
  return null;
}

/** Whether a computation with this mode runs fused. */
export function useFused(mode: FusedMode = 'auto'): boolean {
  if (mode === 'ops') return false;
  const reason = fusedUnavailableReason();
  if (reason === null) return true;
  if (mode === 'fused') {
    throw new Error(`recurrence: 'fused' was asked for, but ${reason}; use 'auto' or 'ops'`);
  }
  return false;
}

/**
 * The `recurrence` option of a model or sequence function, checked: one of FUSED_MODES, 'auto' when
 * absent. The option was called `kernels` before; passing that name is an error that says so, rather
 * than a setting silently ignored.
 */
export function recurrenceOption(fn: string, options: { recurrence?: FusedMode }): FusedMode {
  if ('kernels' in options) {
    throw new Error(
      `${fn}: the option kernels is now called recurrence; pass { recurrence: ${JSON.stringify((options as { kernels: unknown }).kernels)} }`,
    );
  }
  const mode = options.recurrence ?? 'auto';
  if (!FUSED_MODES.includes(mode)) {
    throw new Error(
      `${fn}: recurrence must be one of ${FUSED_MODES.join(', ')}, got ${JSON.stringify(mode)}`,
    );
  }
  return mode;
}
