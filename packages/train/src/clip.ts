import * as tf from '@tensorflow/tfjs-core';

/**
 * Clips gradients by their global L2 norm, as d2l's `grad_clipping` means to: the norm is taken over
 * all gradients together, sqrt(sum of g^2), and when it exceeds `theta` every gradient is scaled by
 * theta / norm. (One notebook sums the parameters instead of the gradients; that is a bug.)
 * No value is read back: the scale is computed on the backend. Returns new tensors and the norm.
 */
export function clipByGlobalNorm(grads: tf.Tensor[], theta: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  if (!(theta > 0)) throw new Error(`clip threshold must be a positive number, got ${theta}`);
  return tf.tidy(() => {
    const norm = globalNorm(grads);
    // theta / max(norm, theta) is 1 below the threshold and theta / norm above it.
    const scale = tf.div(theta, tf.maximum(norm, theta));
    return { grads: grads.map((g) => tf.mul(g, scale)), norm };
  });
}

/** The L2 norm of all the tensors together, as if concatenated into one vector. */
export function globalNorm(tensors: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(tensors.map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}
