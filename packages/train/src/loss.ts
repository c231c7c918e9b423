import * as tf from '@tensorflow/tfjs-core';

/**
 * Labels in the order of the models' time-major logits: d2l's `Y.T.reshape(-1)`. `Y` is row-major
 * [batchSize, numSteps]; row t*B + b of the result is step t of sequence b.
 */
export function timeMajor(Y: Int32Array, batchSize: number, numSteps: number): Int32Array {
  const out = new Int32Array(batchSize * numSteps);
  for (let b = 0; b < batchSize; b++) {
    for (let t = 0; t < numSteps; t++) out[t * batchSize + b] = Y[b * numSteps + t]!;
  }
  return out;
}

/**
 * Mean cross-entropy per token of logits [N, V] against labels [N]. Written with a one-hot mask
 * rather than a gather so that its gradient needs no `UnsortedSegmentSum` (missing on wasm).
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const vocabSize = logits.shape[1];
    const logProbs = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(tf.oneHot(labels, vocabSize), logProbs), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/** Perplexity = exp(mean cross-entropy per token). */
export function perplexity(meanLoss: number): number {
  return Math.exp(meanLoss);
}
