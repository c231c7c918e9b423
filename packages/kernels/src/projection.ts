/**
 * The parts of a layer's pass around its recurrence (sequence.ts): the input projection of every step
 * and the output head, forward and backward, on kernel memory; the buffers the backward pass reads
 * again are taken from held regions (held.ts) when the forward pass held them.
 */
import { checkHeadMask, maskedCopy, maskInPlace } from './head-mask.js';
import type { HeldRegions } from './held.js';
import { checkIds } from './ids.js';
import type { Arena } from './memory.js';
import { pack, rowMajorA, runGemm, schedule, timesTransposed, weightGrad } from './products.js';
import type { KernelRuntime } from './runtime.js';
import type { LayerInput, OutputHead } from './sequence.js';

/** Parts of rows `sumRows` sums apart (assembly/project.ts): enough for two threads to take turns. */
const ROW_PARTS = 4;

/**
 * The rows of dG [N, G] (at dg) summed by id into dW_x [V, G] (at dwx; ids: the ids' address, or 0 for
 * no dW_x) and by column into db [G], by assembly/project.ts's `projectionGrad`: in ROW_PARTS fixed parts
 * of rows, one accumulator each, where the parts' copies are small beside dG (at most a quarter of its
 * size: a character vocabulary), else by columns (a word-level one). The choice depends on the sizes
 * only, so the sums do not depend on the number of threads.
 */
export function sumRows(
  rt: KernelRuntime,
  ids: number,
  dg: number,
  N: number,
  G: number,
  V: number,
  dwx: number,
  db: number,
): void {
  const rows = ids === 0 ? 0 : V;
  const parts = (ROW_PARTS - 1) * (rows + 1) * 4 <= N ? ROW_PARTS : 1;
  const partials = parts > 1 ? rt.arena.alloc((parts - 1) * (rows + 1) * G) : 0;
  const sched = schedule(rt, parts);
  rt.run('projectionGrad', { ids, dg, G, N, V: rows, dwx, db, parts, partials, sched }, N * G);
  if (parts > 1) rt.run('projectionPartsSum', { dwx, db, G, V: rows, parts, partials }, 0);
}

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
  sumRows(rt, 0, dl, N, V, 0, 0, dbq);
  return { dOutputs, dWq, dbq, V };
}

/**
 * Where a layer's projected inputs [N, G] (bias included) are: at x; or, for token ids, what the
 * recurrence gathers them from, step by step, into x (the kernels' `ids`, `wx`, `bias`; ids 0 else).
 */
export interface ProjectedInputs {
  x: number;
  ids: number;
  wx: number;
  bias: number;
}

/**
 * Writes the projected inputs of every step ([N, G], bias included) into new kernel memory, or into
 * the held regions `r` (with a dense input's values and weight, which the backward pass reads again);
 * for token ids, leaves the gathering of rows of W_x to the recurrence (see assembly/lstm.ts).
 */
export function project(
  rt: KernelRuntime,
  input: LayerInput,
  T: number,
  B: number,
  G: number,
  r: HeldRegions | null,
): ProjectedInputs {
  const N = T * B;
  const a = rt.arena;
  const none = { ids: 0, wx: 0, bias: 0 };
  if ('xProj' in input) return { x: place(a, r?.x ?? 0, input.xProj, N * G), ...none };
  const x = r?.x || a.alloc(N * G);
  const b = a.allocFrom(input.b, G);
  const D = input.inputSize;
  if ('ids' in input) {
    if (input.ids.length !== N) throw new Error(`rnnlm kernels: expected ${N} ids, got ${input.ids.length}`);
    checkIds(input.ids, D);
    return { x, ids: a.allocInts(input.ids), wx: a.allocFrom(input.Wx, D * G), bias: b };
  }
  const X = place(a, r?.input ?? 0, input.x, N * D);
  const wxp = pack(rt, place(a, r?.wx ?? 0, input.Wx, D * G), G, D, G, false);
  rt.run('fillRows', { b, G, N, xg: x }, N * G);
  runGemm(
    rt,
    { ...rowMajorA(X, D), bp: wxp, K: D, M: N, N: G, c: x, ldc: G, accumulate: true, splitRows: true },
    N * D * G,
  );
  return { x, ...none };
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
    sumRows(rt, ids, x, N, G, D, dWx, db);
    return { dWx: a.f32(dWx, D * G), db: a.f32(db, G) };
  }
  sumRows(rt, 0, x, N, G, 0, 0, db);
  const X = r?.input || a.allocFrom(input.x, N * D);
  weightGrad(rt, X, D, x, G, N, D, G, dWx, G);
  const dx = timesTransposed(rt, x, r?.wx || input.Wx, N, G, D);
  return { dWx: a.f32(dWx, D * G), db: a.f32(db, G), dx: a.f32(dx, N * D) };
}
