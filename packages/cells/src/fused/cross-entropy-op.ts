/**
 * Softmax cross-entropy and its gradient from one pass per row in @rnnlm/kernels, as a tfjs op on the
 * host backends (wasm and cpu): at word level tfjs's scalar exp over [N, V], twice per step, cost more
 * than the output head's matrix products. Registered on first use.
 */
import { crossEntropyWithGrad, kernelRuntime } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { HOST_BACKENDS, readFloats, readInts, writeFloats } from './host-memory.js';

export const CROSS_ENTROPY_OP = 'RnnlmSoftmaxCrossEntropy';

/** Inputs logits [N, V] and labels [N]; outputs the mean loss (a scalar) and its gradient [N, V]. */
const crossEntropyKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const logits = inputs.logits!;
  const [N, V] = logits.shape as [number, number];
  const r = crossEntropyWithGrad(
    kernelRuntime()!,
    readFloats(backend, logits),
    readInts(backend, inputs.labels!),
    N,
    V,
  );
  return [writeFloats(backend, [], [r.loss]), writeFloats(backend, [N, V], r.grad)];
};

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  for (const backendName of HOST_BACKENDS) {
    tf.registerKernel({ kernelName: CROSS_ENTROPY_OP, backendName, kernelFunc: crossEntropyKernel });
  }
}

/**
 * Whether the gradient reaching the loss is exactly 1, as it is when the loss is what is differentiated
 * (training): then the saved gradient is the answer and an [N, V] product by 1 is saved. Read only
 * where tensors live in CPU memory; elsewhere (webgpu) reading it would wait for the device.
 */
function isOne(dy: tf.Tensor): boolean {
  const backend = tf.backend();
  if (!(HOST_BACKENDS as readonly string[]).includes(tf.getBackend())) return false;
  return dy.size === 1 && readFloats(backend, dy)[0] === 1;
}

/**
 * The mean over the rows of -log softmax(logits)[label], for logits [N, V] and int32 labels [N], in the
 * fused kernel; differentiable with respect to the logits (the gradient comes from the same pass). Only
 * where the fused kernels run (`useFused()`); the caller checks.
 */
export function fusedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  register();
  return tf.customGrad((x, save) => {
    const [loss, grad] = tf.engine().runKernel(CROSS_ENTROPY_OP, { logits: x as tf.Tensor, labels }) as [
      tf.Scalar,
      tf.Tensor2D,
    ];
    (save as tf.GradSaveFunc)([grad]);
    return { value: loss, gradFunc: (dy, [saved]) => (isOne(dy) ? tf.clone(saved!) : tf.mul(saved!, dy)) };
  })(logits) as tf.Scalar;
}
