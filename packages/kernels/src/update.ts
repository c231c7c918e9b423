/**
 * The optimizers' parameter update in one pass (assembly/update.ts): every variable's values copied in
 * end to end, updated with the same settings, and handed back as views. Also the sum of squares that
 * global-norm gradient clipping needs, in one pass over all the gradients.
 */
import type { Arena } from './memory.js';
import type { KernelRuntime } from './runtime.js';

/** The sum of the squares of every value of every array (accumulated in f64). */
export function sumOfSquares(rt: KernelRuntime, arrays: readonly ArrayLike<number>[]): number {
  const a = rt.begin();
  const x = copyIn(a, arrays);
  const out = a.alloc(2);
  // No work given: one thread, so that the sum does not depend on how threads would share it.
  rt.run('sumSquares', { x: x.ptr, N: x.total, out }, 0);
  return new Float64Array(a.memory.buffer, out, 1)[0]!;
}

/**
 * One step's settings, the same for every variable. The gradient is first multiplied by `scale` (the
 * clip factor) and gets `l2` times the weight added; SGD then takes w - lr g. Adam's and AdamW's
 * decoupled decay multiplies the weight by `decay` before its step.
 */
export type UpdateRule =
  | { kind: 'sgd'; scale: number; l2: number; lr: number }
  | {
      kind: 'adam';
      scale: number;
      l2: number;
      /** 1 - lr * weightDecay for AdamW, 1 for Adam. */
      decay: number;
      lr: number;
      beta1: number;
      beta2: number;
      epsilon: number;
      /** The step being taken, from 1 (bias correction). */
      step: number;
    };

/** The values an update reads: weights and gradients, and Adam's moments (one array per variable each). */
export interface UpdateInputs {
  weights: readonly ArrayLike<number>[];
  grads: readonly ArrayLike<number>[];
  m?: readonly ArrayLike<number>[];
  v?: readonly ArrayLike<number>[];
}

/** The updated weights and moments (empty for SGD), views of kernel memory (copy them out). */
export interface UpdateResult {
  weights: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
}

/** Applies `rule` to every variable at once. */
export function parameterUpdate(rt: KernelRuntime, inputs: UpdateInputs, rule: UpdateRule): UpdateResult {
  const sizes = inputs.weights.map((w) => w.length);
  const a = rt.begin();
  const w = copyIn(a, inputs.weights, sizes, 'weights');
  const g = copyIn(a, inputs.grads, sizes, 'grads');
  const N = w.total;
  const { scale, l2, lr } = rule;
  if (rule.kind === 'sgd') {
    const settings = a.allocFrom([scale, l2, lr], 3);
    rt.run('sgdUpdate', { w: w.ptr, g: g.ptr, N, rule: settings }, N * 3);
    return { weights: views(a, w.ptr, sizes), m: [], v: [] };
  }
  if (!inputs.m || !inputs.v) throw new Error('rnnlm kernels: Adam needs its moments m and v');
  const m = copyIn(a, inputs.m, sizes, 'm');
  const v = copyIn(a, inputs.v, sizes, 'v');
  const { decay, beta1, beta2, epsilon, step } = rule;
  // In the order assembly/update.ts loads them; float32 as the op path's scalar tensors are.
  const settings = a.allocFrom(
    [scale, l2, decay, lr, beta1, 1 - beta1, beta2, 1 - beta2, 1 - beta1 ** step, 1 - beta2 ** step, epsilon],
    11,
  );
  rt.run('adamUpdate', { w: w.ptr, g: g.ptr, m: m.ptr, v: v.ptr, N, rule: settings }, N * 16);
  return { weights: views(a, w.ptr, sizes), m: views(a, m.ptr, sizes), v: views(a, v.ptr, sizes) };
}

/** Copies the arrays end to end into new kernel memory; checks their sizes against `sizes` if given. */
function copyIn(
  a: Arena,
  arrays: readonly ArrayLike<number>[],
  sizes?: number[],
  what = 'arrays',
): { ptr: number; total: number } {
  if (sizes && arrays.length !== sizes.length) {
    throw new Error(`rnnlm kernels: ${arrays.length} ${what} for ${sizes.length} variables`);
  }
  let total = 0;
  for (const [i, x] of arrays.entries()) {
    if (sizes && x.length !== sizes[i]) {
      throw new Error(`rnnlm kernels: ${what}[${i}] has ${x.length} values, its variable ${sizes[i]}`);
    }
    total += x.length;
  }
  const ptr = a.alloc(total);
  const all = a.f32(ptr, total);
  let at = 0;
  for (const x of arrays) {
    all.set(x, at);
    at += x.length;
  }
  return { ptr, total };
}

function views(a: Arena, ptr: number, sizes: number[]): Float32Array[] {
  let at = ptr;
  return sizes.map((n) => {
    const view = a.f32(at, n);
    at += n * 4;
    return view;
  });
}
