// The input projection of a layer, for all steps at once, and its gradient: rows of the input weight
// gathered by token id (one-hot(x) W_x is row x of W_x) or a dense input times W_x (a deeper layer),
// plus the bias.

import { nextPiece, pieceLow, rowRange, splitRange } from './threads';

/**
 * xg[n] = W_x[ids[n]] + b for the N = T*B rows (time-major: row t*B + b); ids are checked by the
 * caller. The threads share the batch entries in groups of 4, as the recurrence does, so that each
 * writes the rows it will read next (they stay in its core's cache). A recurrence on gathered inputs
 * does not call this: it gathers each step's rows itself (`gatherStep`), just before it reads them.
 */
export function gatherRows(
  ids: usize,
  wx: usize,
  b: usize,
  G: i32,
  T: i32,
  B: i32,
  xg: usize,
  tid: i32,
  nt: i32,
): void {
  const b0 = rowRange(B, tid, nt, 0);
  const b1 = rowRange(B, tid, nt, 1);
  for (let t = 0; t < T; t++) gatherStep(ids, wx, b, G, B, t, b0, b1, xg);
}

/** Rows [r0, r1) of step t of xg [T, B, G]: W_x[ids[t*B + r]] + b. */
export function gatherStep(
  ids: usize,
  wx: usize,
  b: usize,
  G: i32,
  B: i32,
  t: i32,
  r0: i32,
  r1: i32,
  xg: usize,
): void {
  const rowBytes = <usize>G * 4;
  for (let r = r0; r < r1; r++) {
    const n = t * B + r;
    const src = wx + <usize>load<i32>(ids + ((<usize>n) << 2)) * rowBytes;
    const dst = xg + <usize>n * rowBytes;
    let o: usize = 0;
    for (; o + 16 <= rowBytes; o += 16) v128.store(dst + o, f32x4.add(v128.load(src + o), v128.load(b + o)));
    for (; o < rowBytes; o += 4) store<f32>(dst + o, load<f32>(src + o) + load<f32>(b + o));
  }
}

/** xg[n] = b for rows n of [0, N): the start of a dense projection, which then adds X W_x. */
export function fillRows(b: usize, G: i32, N: i32, xg: usize, tid: i32, nt: i32): void {
  const n0 = splitRange(N, tid, nt, 0);
  const n1 = splitRange(N, tid, nt, 1);
  const rowBytes = <usize>G * 4;
  for (let n = n0; n < n1; n++) memory.copy(xg + <usize>n * rowBytes, b, rowBytes);
}

/**
 * The gradients of the projection's weight and bias from dG [N, G]: with ids (gathered rows),
 * dW_x [V, G] = the rows of dG summed by id; always db [G] = the column sums of dG. ids = 0: dW_x is
 * left alone (a dense input's weight gradient is a matrix product, computed apart). Every sum runs in
 * the same order whatever the number of threads, shared out one of two ways:
 *  - parts = 1: the threads share the columns (blocks of 4), each summing over all rows in order.
 *    For a wide dW_x (a word-level vocabulary), which a copy per part would not fit in cache.
 *  - parts > 1: the rows in `parts` fixed ranges, each summed into an accumulator of its own (part 0
 *    into dwx and db; part p into partials + (p - 1) * (V + 1) * G floats, its V rows of dW_x and then
 *    its db), the parts taken by the threads as `nextPiece` hands them out (sched: a schedule of
 *    `parts` groups); `projectionPartsSum` then adds parts 1.. into part 0, in order. Each thread reads
 *    whole rows one after the other: split by columns, two threads took 0.55 ms of a 256-unit GRU's
 *    training step where one took 0.3 (packages/train/bench/step-profile.mjs --threads 1|2).
 */
export function projectionGrad(
  ids: usize,
  dg: usize,
  G: i32,
  N: i32,
  V: i32,
  dwx: usize,
  db: usize,
  parts: i32,
  partials: usize,
  sched: usize,
  tid: i32,
  nt: i32,
): void {
  if (parts <= 1) {
    // Columns in blocks of 4 (a SIMD lane group), shared out.
    const blocks = (G + 3) >> 2;
    const c0 = splitRange(blocks, tid, nt, 0) << 2;
    const c1 = min(G, splitRange(blocks, tid, nt, 1) << 2);
    if (c0 < c1) sumRowsById(ids, dg, G, 0, N, V, dwx, db, c0, c1);
    return;
  }
  const partFloats = <usize>(V + 1) * <usize>G;
  for (let w = nextPiece(sched, parts, 1, false, tid, nt); w >= 0; w = nextPiece(sched, parts, 1, false, tid, nt)) {
    const p = pieceLow(w);
    const n0 = <i32>((<i64>N * <i64>p) / <i64>parts);
    const n1 = <i32>((<i64>N * <i64>(p + 1)) / <i64>parts);
    if (p == 0) {
      sumRowsById(ids, dg, G, n0, n1, V, dwx, db, 0, G);
    } else {
      const acc = partials + <usize>(p - 1) * partFloats * 4;
      sumRowsById(ids, dg, G, n0, n1, V, ids != 0 ? acc : 0, acc + <usize>V * <usize>G * 4, 0, G);
    }
  }
}

/** Adds parts 1.. of `projectionGrad` (at partials) into part 0 (dwx, or nothing when 0, and db), in order. */
export function projectionPartsSum(
  dwx: usize,
  db: usize,
  G: i32,
  V: i32,
  parts: i32,
  partials: usize,
  tid: i32,
  nt: i32,
): void {
  if (tid != 0) return;
  const partBytes = <usize>(V + 1) * <usize>G * 4;
  const wBytes = <usize>V * <usize>G * 4;
  for (let p = 1; p < parts; p++) {
    const acc = partials + <usize>(p - 1) * partBytes;
    if (dwx != 0) addInto(dwx, acc, wBytes);
    addInto(db, acc + wBytes, <usize>G * 4);
  }
}

/** dst += src over `bytes`. */
function addInto(dst: usize, src: usize, bytes: usize): void {
  let o: usize = 0;
  for (; o + 16 <= bytes; o += 16) v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  for (; o < bytes; o += 4) store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
}

/**
 * Columns [c0, c1) of the sums of rows [n0, n1) of dG: into dwx's row ids[n] (unless ids or dwx is 0;
 * its V rows zeroed first) and into db, both zeroed first.
 */
function sumRowsById(
  ids: usize,
  dg: usize,
  G: i32,
  n0: i32,
  n1: i32,
  V: i32,
  dwx: usize,
  db: usize,
  c0: i32,
  c1: i32,
): void {
  const byId = ids != 0 && dwx != 0;
  const rowBytes = <usize>G * 4;
  const start = <usize>c0 * 4;
  const end = <usize>c1 * 4;
  if (byId) {
    for (let v = 0; v < V; v++) {
      const row = dwx + <usize>v * rowBytes;
      for (let o = start; o < end; o += 4) store<f32>(row + o, 0);
    }
  }
  for (let o = start; o < end; o += 4) store<f32>(db + o, 0);
  for (let n = n0; n < n1; n++) {
    const src = dg + <usize>n * rowBytes;
    let o = start;
    if (byId) {
      const dst = dwx + <usize>load<i32>(ids + ((<usize>n) << 2)) * rowBytes;
      for (; o + 16 <= end; o += 16) {
        const g = v128.load(src + o);
        v128.store(dst + o, f32x4.add(v128.load(dst + o), g));
        v128.store(db + o, f32x4.add(v128.load(db + o), g));
      }
      for (; o < end; o += 4) {
        const g = load<f32>(src + o);
        store<f32>(dst + o, load<f32>(dst + o) + g);
        store<f32>(db + o, load<f32>(db + o) + g);
      }
    } else {
      for (; o + 16 <= end; o += 16) v128.store(db + o, f32x4.add(v128.load(db + o), v128.load(src + o)));
      for (; o < end; o += 4) store<f32>(db + o, load<f32>(db + o) + load<f32>(src + o));
    }
  }
}
