/**
 * The parts of a layer's pass around its recurrence (sequence.ts): the input projection of every step
 * and the output head, forward and backward, on kernel memory; the buffers the backward pass reads
 * again are taken from held regions (held.ts) when the forward pass held them.
 */
import { checkHeadMask, maskedCopy, maskInPlace } from './head-mask.js';
import type { HeldRegions } from './held.js';
import { checkIds } from './ids.js';
import type { Arena } from './memory.js';
import { pack, rowMajorA, runGemm, timesTransposed, weightGrad } from './products.js';
import type { KernelRuntime } from './runtime.js';
import type { LayerInput, OutputHead } from './sequence.js';

/** `values` at `at` (a held region) when given, else in new scratch memory; returns the address. */
export function place(a: Arena, at: number, values: ArrayLike<number> | null, floats: number): number {
  if (at === 0) return a.allocFrom(values, floats);
  a.write(at, values, floats);
  return at;
}

/**
 * The head's part of the backward pass, from dLogits [N, V]: dOutputs = dLogits W^T (where the
 * recurrence's backward pass reads its output gradient), dW = outputs^T dLogits, db = its column sums.
 * `wq`: the head's W held in kernel memory, or 0 to copy it in.
 */
export function headGrads(
  rt: KernelRuntime,
  head: OutputHead,
  dLogits: ArrayLike<number>,
  outputs: number,
  N: number,
  B: number,
  H: number,
  wq: number,
) {
  const a = rt.arena;
  const { V } = head;
  const dl = a.allocFrom(dLogits, N * V);
  const dOutputs = timesTransposed(rt, dl, wq || head.W, N, V, H);
  const { mask } = head;
  if (mask) {
    checkHeadMask(mask, N, B, H);
    // The head read outputs ⊙ mask: the outputs' gradient passes the mask, dW reads the masked copy.
    maskInPlace(a, dOutputs, mask, N, H);
  }
  const read = mask ? maskedCopy(a, outputs, mask, N, H) : outputs;
  const dWq = a.alloc(H * V);
  weightGrad(rt, read, H, dl, V, N, H, V, dWq, V);
  const dbq = a.alloc(V);
  rt.run('projectionGrad', { ids: 0, dg: dl, G: V, N, V: 0, dwx: 0, db: dbq }, N * V);
  return { dOutputs, dWq, dbq, V };
}

/**
 * Writes the projected inputs of every step ([N, G], bias included) into new kernel memory, or into
 * the held regions `r` (with a dense input's values and weight, which the backward pass reads again).
 */
export function project(
  rt: KernelRuntime,
  input: LayerInput,
  T: number,
  B: number,
  G: number,
  r: HeldRegions | null,
): number {
  const N = T * B;
  const a = rt.arena;
  if ('xProj' in input) return place(a, r?.x ?? 0, input.xProj, N * G);
  const x = r?.x || a.alloc(N * G);
  const b = a.allocFrom(input.b, G);
  const D = input.inputSize;
  if ('ids' in input) {
    if (input.ids.length !== N) throw new Error(`rnnlm kernels: expected ${N} ids, got ${input.ids.length}`);
    checkIds(input.ids, D);
    const ids = a.allocInts(input.ids);
    const wx = a.allocFrom(input.Wx, D * G);
    rt.run('gatherRows', { ids, wx, b, G, T, B, xg: x }, N * G);
    return x;
  }
  const X = place(a, r?.input ?? 0, input.x, N * D);
  const wxp = pack(rt, place(a, r?.wx ?? 0, input.Wx, D * G), G, D, G, false);
  rt.run('fillRows', { b, G, N, xg: x }, N * G);
  runGemm(
    rt,
    { ...rowMajorA(X, D), bp: wxp, K: D, M: N, N: G, c: x, ldc: G, accumulate: true, splitRows: true },
    N * D * G,
  );
  return x;
}

/** From dG [N, G] at x: the gradient of xProj, or of Wx, b (and a dense input, read from `r` if held). */
export function projectionGrads(
  rt: KernelRuntime,
  input: LayerInput,
  x: number,
  N: number,
  G: number,
  r: HeldRegions | null,
) {
  const a = rt.arena;
  if ('xProj' in input) return { dxProj: a.f32(x, N * G) };
  const D = input.inputSize;
  const dWx = a.alloc(D * G);
  const db = a.alloc(G);
  if ('ids' in input) {
    const ids = a.allocInts(input.ids);
    rt.run('projectionGrad', { ids, dg: x, G, N, V: D, dwx: dWx, db }, N * G);
    return { dWx: a.f32(dWx, D * G), db: a.f32(db, G) };
  }
  rt.run('projectionGrad', { ids: 0, dg: x, G, N, V: D, dwx: 0, db }, N * G);
  const X = r?.input || a.allocFrom(input.x, N * D);
  weightGrad(rt, X, D, x, G, N, D, G, dWx, G);
  const dx = timesTransposed(rt, x, r?.wx || input.Wx, N, G, D);
  return { dWx: a.f32(dWx, D * G), db: a.f32(db, G), dx: a.f32(dx, N * D) };
}
