import { fusedCrossEntropy, useFused } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';

/** Labels in the order of the models' time-major logits (d2l's `Y.T.reshape(-1)`): one definition, in cells. */
export { timeMajor } from '@rnnlm/cells';

/**
 * Mean cross-entropy per token of logits [N, V] against labels [N], with its gradient in closed form:
 * (softmax(logits) − one-hot(labels)) / N. Autodiff through logSoftmax, the mask and the mean would
 * build about a dozen [N, V] tensors per step, which at word level (V in the thousands) dominates
 * memory; this keeps two. The one-hot mask instead of a gather also keeps the gradient free of
 * `UnsortedSegmentSum` (missing on wasm).
 *
 * Where the fused kernels run (the wasm and cpu backends; webgpu with @rnnlm/backend's kernels) the
 * loss and its gradient come from one pass per row in the kernels, through `fusedCrossEntropy` of
 * @rnnlm/cells; `{ mode: 'ops' }` keeps to the tfjs ops below.
 */
export function crossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: { mode?: 'auto' | 'ops' } = {},
): tf.Scalar {
  if ('kernels' in options) {
    throw new Error(
      "crossEntropy: the option kernels is now called mode; pass { mode: 'auto' } or { mode: 'ops' }",
    );
  }
  const [rows, vocabSize] = logits.shape;
  if (options.mode !== 'ops' && useFused('auto')) return fusedCrossEntropy(logits, labels);
  const meanLoss = tf.customGrad((x, save) => {
    const logProbs = tf.logSoftmax(x as tf.Tensor2D);
    // int32 then cast: tfjs-backend-wasm 4.22's OneHot ignores a float32 dtype and returns all zeros.
    const mask = tf.cast(tf.oneHot(labels, vocabSize), 'float32');
    (save as tf.GradSaveFunc)([logProbs, mask]);
    return {
      value: tf.div(tf.neg(tf.sum(tf.mul(mask, logProbs))), rows) as tf.Scalar,
      gradFunc: (dy, [savedLogProbs, savedMask]) =>
        tf.mul(tf.sub(tf.exp(savedLogProbs!), savedMask!), tf.div(dy, rows)),
    };
  });
  return meanLoss(logits) as tf.Scalar;
}

/** Perplexity = exp(mean cross-entropy per token). */
export function perplexity(meanLoss: number): number {
  return Math.exp(meanLoss);
}
