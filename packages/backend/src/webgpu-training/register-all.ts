/**
 * The kernels of tfjs's `webgpu` backend that training recurrent models needs and that tfjs 4.22 gets
 * wrong, one file a kernel in this folder, all listed here (as `wasm-training/register-all.ts`):
 *
 * - replaced: AddN (in chunks a shader can bind: see add-n.ts).
 *
 * Browser-safe: imports only tfjs-core.
 */
import * as tf from '@tensorflow/tfjs-core';
import { chunkedAddN } from './add-n.js';

const WEBGPU = 'webgpu';

/** Names of the kernels this package replaces in the webgpu backend. */
export const WEBGPU_TRAINING_KERNELS: { readonly replaced: readonly string[] } = { replaced: ['AddN'] };

let replaced = false;

/**
 * Replaces the webgpu kernels listed above. Idempotent. Call it after tfjs-backend-webgpu is imported
 * (its kernels register then) and before training.
 */
export function registerWebgpuTrainingKernels(): void {
  if (replaced) return;
  const addN = tf.getKernel('AddN', WEBGPU);
  if (!addN) throw new Error('tfjs-backend-webgpu is not loaded: its AddN kernel is missing');
  tf.unregisterKernel('AddN', WEBGPU);
  tf.registerKernel({ kernelName: 'AddN', backendName: WEBGPU, kernelFunc: chunkedAddN(addN.kernelFunc) });
  replaced = true;
}
