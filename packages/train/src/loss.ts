import { HOST_BACKENDS, readFloats, readInts, writeFloats } from '@rnnlm/cells';
import { crossEntropy as kernelCrossEntropy, kernels } from '@rnnlm/kernels';
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
 * Mean cross-entropy per token of logits [N, V] against labels [N], with its gradient in closed form:
 * (softmax(logits) − one-hot(labels)) / N. Autodiff through logSoftmax, the mask and the mean would
 * build about a dozen [N, V] tensors per step, which at word level (V in the thousands) dominates
 * memory; this keeps two. The one-hot mask instead of a gather also keeps the gradient free of
 * `UnsortedSegmentSum` (missing on wasm).
 *
 * On the wasm and cpu backends the loss and its gradient come from one pass per row in
 * @rnnlm/kernels (SIMD exp, the kernels' threads): at word level tfjs's scalar exp over [N, V], twice
 * per step, cost more than the output head's matrix products.
 */
export function crossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: { kernels?: 'auto' | 'ops' } = {},
): tf.Scalar {
  const [rows, vocabSize] = logits.shape;
  const fused = options.kernels !== 'ops' && (HOST_BACKENDS as readonly string[]).includes(tf.getBackend());
  if (fused && kernels() !== null) {
    registerCrossEntropy();
    return tf.customGrad((x, save) => {
      const [loss, grad] = tf.engine().runKernel(CROSS_ENTROPY, { logits: x as tf.Tensor, labels }) as [
        tf.Scalar,
        tf.Tensor2D,
      ];
      (save as tf.GradSaveFunc)([grad]);
      return { value: loss, gradFunc: (dy, [saved]) => tf.mul(saved!, dy) };
    })(logits) as tf.Scalar;
  }
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

const CROSS_ENTROPY = 'RnnlmSoftmaxCrossEntropy';
let registered = false;

/** Inputs logits [N, V] and labels [N]; outputs the mean loss (a scalar) and its gradient [N, V]. */
function registerCrossEntropy(): void {
  if (registered) return;
  registered = true;
  for (const backendName of HOST_BACKENDS) {
    tf.registerKernel({
      kernelName: CROSS_ENTROPY,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const logits = inputs.logits!;
        const [N, V] = logits.shape as [number, number];
        const r = kernelCrossEntropy(
          kernels()!,
          readFloats(backend, logits),
          readInts(backend, inputs.labels!),
          N,
          V,
        );
        return [writeFloats(backend, [], [r.loss]), writeFloats(backend, [N, V], r.grad)];
      },
    });
  }
}
