// The input projection of a layer, for all steps at once, and its gradient: rows of the input weight
// gathered by token id (one-hot(x) W_x is row x of W_x) or a dense input times W_x (a deeper layer),
// plus the bias.

import { rowRange, splitRange } from './threads';

/**
 * xg[n] = W_x[ids[n]] + b for the N = T*B rows (time-major: row t*B + b); ids are checked by the
 * caller. The threads share the batch entries in groups of 4, as the recurrence does, so that each
 * writes the rows it will read next (they stay in its core's cache).
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
  const rowBytes = <usize>G * 4;
  for (let t = 0; t < T; t++) {
    for (let r = b0; r < b1; r++) {
      const n = t * B + r;
      const src = wx + <usize>load<i32>(ids + ((<usize>n) << 2)) * rowBytes;
      const dst = xg + <usize>n * rowBytes;
      let o: usize = 0;
      for (; o + 16 <= rowBytes; o += 16)
        v128.store(dst + o, f32x4.add(v128.load(src + o), v128.load(b + o)));
      for (; o < rowBytes; o += 4) store<f32>(dst + o, load<f32>(src + o) + load<f32>(b + o));
    }
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
 * dW_x [V, G] = the rows of dG summed by id; always db [G] = the column sums of dG. The threads share
 * the columns, so every sum runs in the same order whatever their number. ids = 0: dW_x is left alone
 * (a dense input's weight gradient is a matrix product, computed apart).
 */
export function projectionGrad(
  ids: usize,
  dg: usize,
  G: i32,
  N: i32,
  V: i32,
  dwx: usize,
  db: usize,
  tid: i32,
  nt: i32,
): void {
  // Columns in blocks of 4 (a SIMD lane group), shared out.
  const blocks = (G + 3) >> 2;
  const c0 = splitRange(blocks, tid, nt, 0) << 2;
  const c1 = min(G, splitRange(blocks, tid, nt, 1) << 2);
  if (c0 >= c1) return;
  const rowBytes = <usize>G * 4;
  const start = <usize>c0 * 4;
  const end = <usize>c1 * 4;
  if (ids != 0) {
    for (let v = 0; v < V; v++) {
      const row = dwx + <usize>v * rowBytes;
      for (let o = start; o < end; o += 4) store<f32>(row + o, 0);
    }
  }
  for (let o = start; o < end; o += 4) store<f32>(db + o, 0);
  for (let n = 0; n < N; n++) {
    const src = dg + <usize>n * rowBytes;
    let o = start;
    if (ids != 0) {
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
