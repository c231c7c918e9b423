import { sumOfSquares } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { floatsOf, hostKernels } from './fused-update.js';
import type { UpdatePath } from './optimizers.js';

/**
 * Clips gradients by their global L2 norm, as d2l's `grad_clipping` means to: the norm is taken over
 * all gradients together, sqrt(sum of g^2), and when it exceeds `theta` every gradient is scaled by
 * theta / norm. (One notebook sums the parameters instead of the gradients; that is a bug.)
 * No value is read back: the scale is computed on the backend, op by op. Returns new tensors and the
 * norm. (The trainer instead reads the norm back and passes `clipScale` to the update, which scales
 * the gradients as it goes.)
 */
export function clipByGlobalNorm(grads: tf.Tensor[], theta: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  if (!(theta > 0)) throw new Error(`clip threshold must be a positive number, got ${theta}`);
  return tf.tidy(() => {
    const norm = globalNorm(grads, 'ops');
    // theta / max(norm, theta) is 1 below the threshold and theta / norm above it.
    const scale = tf.div(theta, tf.maximum(norm, theta));
    return { grads: grads.map((g) => tf.mul(g, scale)), norm };
  });
}

/**
 * The factor `clipByGlobalNorm` scales gradients by, from their norm read back: 1 up to theta, then
 * theta / norm. The trainer passes it to `Optimizer.apply`, which scales in the same pass as it updates.
 */
export function clipScale(norm: number, theta: number): number {
  if (!(theta > 0)) throw new Error(`clip threshold must be a positive number, got ${theta}`);
  return theta / Math.max(norm, theta);
}

/**
 * The L2 norm of all the tensors together, as if concatenated into one vector: in one WebAssembly pass
 * on the wasm and cpu backends (unless `path` is 'ops'), op by op elsewhere.
 */
export function globalNorm(tensors: tf.Tensor[], path: UpdatePath = 'auto'): tf.Scalar {
  const host = path === 'auto' ? hostGlobalNorm(tensors) : null;
  if (host !== null) return tf.scalar(host);
  return tf.tidy(() => tf.sqrt(tf.addN(tensors.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/**
 * The same norm as a number, where the tensors live in CPU memory and the kernels run (one
 * WebAssembly pass, no tensor made and nothing to read back); null on other backends.
 */
export function hostGlobalNorm(tensors: tf.Tensor[]): number | null {
  const rt = hostKernels();
  return rt === null ? null : Math.sqrt(sumOfSquares(rt, tensors.map(floatsOf)));
}

/**
 * The one read-back per batch: the loss for reporting, and the gradients' global norm to catch
 * divergence before the update touches the weights. Where tensors live in CPU memory (wasm, cpu) both
 * are read where they lie, the norm in one kernel pass; elsewhere (webgpu) the two come back together
 * in one asynchronous read. Disposes `loss`.
 */
export async function lossAndNorm(loss: tf.Scalar, grads: tf.Tensor[]): Promise<[number, number]> {
  const hostNorm = hostGlobalNorm(grads);
  if (hostNorm !== null) {
    const lossValue = loss.dataSync()[0]!;
    loss.dispose();
    // Rounded as the norm read back from a float32 tensor is, so the clip factor is the same.
    return [lossValue, Math.fround(hostNorm)];
  }
  const norm = globalNorm(grads);
  const both = tf.stack([loss, norm]);
  const [lossValue, normValue] = (await both.data()) as Float32Array;
  tf.dispose([both, loss, norm]);
  return [lossValue!, normValue!];
}

/**
 * The gradients' global norm alone, read back as `lossAndNorm` reads it (float32): for a step whose loss
 * is already a number (a model's `lossAndGradients`).
 */
export async function gradientNorm(grads: tf.Tensor[]): Promise<number> {
  const hostNorm = hostGlobalNorm(grads);
  if (hostNorm !== null) return Math.fround(hostNorm);
  const norm = globalNorm(grads);
  const [value] = (await norm.data()) as Float32Array;
  norm.dispose();
  return value!;
}
