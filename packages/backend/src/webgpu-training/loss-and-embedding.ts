/**
 * The other fused ops of @rnnlm/cells as webgpu kernels, so that where the fused path runs every op it
 * calls exists: the softmax cross-entropy with its gradient (three small WGSL shaders: each row's
 * log-sum-exp, the gradient, the mean loss), and the embedding's row lookup and its gradient (tfjs's
 * own webgpu GatherV2 and UnsortedSegmentSum, which are fine there).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type GpuBackend, run, type Shader, webgpuKernel } from './program.js';

export const CROSS_ENTROPY_KERNEL = 'RnnlmSoftmaxCrossEntropy';
export const EMBEDDING_KERNELS = { lookup: 'RnnlmEmbeddingLookup', grad: 'RnnlmEmbeddingGrad' } as const;

/** Each row's log(sum(exp(x))), computed from its maximum so that nothing overflows. */
const ROW_LOG_SUM_EXP: Shader = {
  key: 'row_log_sum_exp',
  inputs: ['logits'],
  uniforms: ['rows', 'cols'],
  code: `
fn main(index: i32) {
  if (index >= uniforms.rows) { return; }
  let row = index * uniforms.cols;
  var m = logits[row];
  for (var v = 1; v < uniforms.cols; v++) { m = max(m, logits[row + v]); }
  var s = 0.0;
  for (var v = 0; v < uniforms.cols; v++) { s += exp(logits[row + v] - m); }
  result[index] = m + log(s);
}`,
};

/** (softmax(x) − one-hot(label)) / rows: the gradient of the mean loss. */
const CROSS_ENTROPY_GRAD: Shader = {
  key: 'cross_entropy_grad',
  inputs: ['logits', 'lse', 'labels'],
  uniforms: ['rows', 'cols'],
  code: `
fn main(index: i32) {
  if (index >= uniforms.rows * uniforms.cols) { return; }
  let r = index / uniforms.cols;
  let v = index - r * uniforms.cols;
  var p = exp(logits[index] - lse[r]);
  if (labels[r] == v) { p -= 1.0; }
  result[index] = p / f32(uniforms.rows);
}`,
};

/** The mean over rows of lse − x[label], in one workgroup of 64 (a tree sum of per-invocation sums). */
const CROSS_ENTROPY_MEAN: Shader = {
  key: 'cross_entropy_mean',
  inputs: ['logits', 'lse', 'labels'],
  uniforms: ['rows', 'cols'],
  workgroups: 'one',
  code: `
var<workgroup> partial: array<f32, 64>;
fn main(index: i32) {
  var s = 0.0;
  for (var r = index; r < uniforms.rows; r += 64) { s += lse[r] - logits[r * uniforms.cols + labels[r]]; }
  partial[index] = s;
  workgroupBarrier();
  for (var w = 32; w > 0; w = w / 2) {
    if (index < w) { partial[index] += partial[index + w]; }
    workgroupBarrier();
  }
  if (index == 0) { result[0] = partial[0] / f32(uniforms.rows); }
}`,
};

/** Inputs logits [N, V] and labels [N]; outputs the mean loss (a scalar) and its gradient [N, V]. */
const crossEntropyKernel: tf.KernelFunc = ({ inputs, backend: b }) => {
  const backend = b as unknown as GpuBackend;
  const logits = inputs.logits!;
  const labels = inputs.labels!;
  const [N, V] = logits.shape as [number, number];
  const lse = run(backend, ROW_LOG_SUM_EXP, [logits], [N, V], N, { shape: [N] });
  const loss = run(backend, CROSS_ENTROPY_MEAN, [logits, lse, labels], [N, V], 64, { shape: [] });
  const grad = run(backend, CROSS_ENTROPY_GRAD, [logits, lse, labels], [N, V], N * V, { shape: [N, V] });
  backend.disposeData(lse.dataId);
  return [loss, grad];
};

/** Inputs table [V, E] and ids [N]; output [N, E]. */
const lookupKernel: tf.KernelFunc = ({ inputs, backend }) =>
  webgpuKernel(
    backend as unknown as GpuBackend,
    'GatherV2',
    { x: inputs.table!, indices: inputs.ids! },
    { axis: 0, batchDims: 0 },
  );

/** Inputs dy [N, E] and ids [N]; attribute rows (V); output dTable [V, E]. */
const embeddingGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) =>
  webgpuKernel(
    backend as unknown as GpuBackend,
    'UnsortedSegmentSum',
    { x: inputs.dy!, segmentIds: inputs.ids! },
    { numSegments: (attrs as { rows: number }).rows },
  );

export function registerLossAndEmbeddingKernels(): void {
  const backendName = 'webgpu';
  tf.registerKernel({ kernelName: CROSS_ENTROPY_KERNEL, backendName, kernelFunc: crossEntropyKernel });
  tf.registerKernel({ kernelName: EMBEDDING_KERNELS.lookup, backendName, kernelFunc: lookupKernel });
  tf.registerKernel({ kernelName: EMBEDDING_KERNELS.grad, backendName, kernelFunc: embeddingGradKernel });
}
