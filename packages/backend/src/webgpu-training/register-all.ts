/**
 * The kernels of tfjs's `webgpu` backend that training recurrent models needs, one file a concern in
 * this folder, all listed here (as `wasm-training/register-all.ts`):
 *
 * - replaced: AddN (tfjs 4.22 gets it wrong: in chunks a shader can bind, see add-n.ts).
 * - added: the fused ops of @rnnlm/cells, so its fused path (`useFused`) runs on webgpu: a layer's
 *   recurrence forward and backward through time in WGSL shaders (sequence-ops.ts), the softmax
 *   cross-entropy and the embedding lookup (loss-and-embedding.ts).
 *
 * Browser-safe: imports only tfjs-core and @rnnlm/kernels' names.
 */
import * as tf from '@tensorflow/tfjs-core';
import { chunkedAddN } from './add-n.js';
import {
  CROSS_ENTROPY_KERNEL,
  EMBEDDING_KERNELS,
  registerLossAndEmbeddingKernels,
} from './loss-and-embedding.js';
import {
  registerSequenceKernels,
  SEQUENCE_BACKWARD_KERNEL,
  SEQUENCE_FORWARD_KERNELS,
} from './sequence-ops.js';

const WEBGPU = 'webgpu';

/** Names of the kernels this package replaces in, and adds to, the webgpu backend. */
export const WEBGPU_TRAINING_KERNELS: {
  readonly replaced: readonly string[];
  readonly added: readonly string[];
} = {
  replaced: ['AddN'],
  added: [
    ...SEQUENCE_FORWARD_KERNELS,
    SEQUENCE_BACKWARD_KERNEL,
    CROSS_ENTROPY_KERNEL,
    EMBEDDING_KERNELS.lookup,
    EMBEDDING_KERNELS.grad,
  ],
};

let replaced = false;

/**
 * Replaces and adds the webgpu kernels listed above. Idempotent. Call it after tfjs-backend-webgpu is
 * imported (its kernels register then) and before training.
 */
export function registerWebgpuTrainingKernels(): void {
  if (replaced) return;
  const addN = tf.getKernel('AddN', WEBGPU);
  if (!addN) throw new Error('tfjs-backend-webgpu is not loaded: its AddN kernel is missing');
  tf.unregisterKernel('AddN', WEBGPU);
  tf.registerKernel({ kernelName: 'AddN', backendName: WEBGPU, kernelFunc: chunkedAddN(addN.kernelFunc) });
  registerSequenceKernels();
  registerLossAndEmbeddingKernels();
  replaced = true;
}
