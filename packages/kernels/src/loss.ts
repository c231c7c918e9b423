/**
 * Softmax cross-entropy with its gradient in one pass per row (assembly/loss.ts): SIMD exp, shared
 * out over the threads by rows.
 */
import { checkIds } from './ids.js';
import type { KernelRuntime } from './runtime.js';

/** What `crossEntropyWithGrad` returns: the mean loss and its gradient. */
export interface CrossEntropyResult {
  /** The mean over the rows of -log softmax(logits)[label]. */
  loss: number;
  /** Its gradient with respect to the logits, (softmax - onehot) / N, [N, V]: a view (copy it out). */
  grad: Float32Array;
}

/** Softmax cross-entropy of logits [N, V] against labels [N] (each in [0, V)), with its gradient. */
export function crossEntropyWithGrad(
  rt: KernelRuntime,
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  N: number,
  V: number,
): CrossEntropyResult {
  if (labels.length !== N) throw new Error(`rnnlm kernels: expected ${N} labels, got ${labels.length}`);
  checkIds(labels, V);
  const a = rt.begin();
  const x = a.allocFrom(logits, N * V);
  const y = a.allocInts(labels);
  const grad = a.alloc(N * V);
  const losses = a.alloc(N);
  // In multiply-adds' time: an exp and the passes over its row cost about 64 a value (4 ns a value on
  // one thread of the 2-core test machine, against 0.05 ns a multiply-add in the products), so the
  // character models' loss (1120 rows of 28) is shared out too. Rows are independent, and the mean is
  // summed below in row order: the result does not depend on the split.
  rt.run('crossEntropyRows', { logits: x, labels: y, N, V, grad, loss: losses }, N * V * 64);
  // An indexed loop: iterating a view of shared memory with for-of is several times slower in V8.
  const rowLosses = a.f32(losses, N);
  let sum = 0;
  for (let n = 0; n < N; n++) sum += rowLosses[n]!;
  return { loss: sum / N, grad: a.f32(grad, N * V) };
}
