// The products of the token step, c += x B, B packed by packB (panels of NR = 8 columns, [K, 8]
// each). At batch 1 the step is a vector times a matrix, where each value of B is used once: one row
// has a kernel of its own (eight accumulators over four panels); batches go four rows at a time, so
// that each value of B read serves four sequences (a [256, 1024] matrix is the size of a core's L2
// cache: read once per row, the batch streams it from L3).
//
// Why x is read four values at a time and broadcast by shuffles: `v128.load32_splat` once per k
// (as gemm's tiles do) measured at ~18 GFLOP/s for a [256 x 1024] product in V8, the shuffles at
// ~40 (a [256, 1024] LSTM recurrent product: 29 µs → 13 µs a token), close to one f32x4 mul and add
// per cycle each.

import { NR } from './gemm';
import { madd } from './math';

/**
 * c[r0..r1) += a[r0..r1) B (a's rows lda floats apart, c's ldc): groups of four rows together, so that
 * each value of B read serves four sequences, then the rows left over one at a time.
 */
export function rowsTimesPacked(
  a: usize, lda: i32, bp: usize, K: i32, N: i32, c: usize, ldc: i32, r0: i32, r1: i32,
): void {
  const aRow = <usize>lda * 4;
  const cRow = <usize>ldc * 4;
  const full = N / NR;
  const pb = <usize>K * 32;
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    const ar = a + <usize>r * aRow;
    const cr = c + <usize>r * cRow;
    fourRowsTimesPacked(ar, aRow, bp, K, full, cr, cRow);
    if (full * NR < N) {
      for (let i: usize = 0; i < 4; i++) {
        rowTimesPacked(ar + i * aRow, bp + <usize>full * pb, K, N - full * NR, cr + i * cRow + <usize>full * 32);
      }
    }
  }
  for (; r < r1; r++) rowTimesPacked(a + <usize>r * aRow, bp, K, N, c + <usize>r * cRow);
}

/** Four rows of c (cRow bytes apart) += four rows of x (aRow apart) times the first `panels` panels of B. */
function fourRowsTimesPacked(x: usize, aRow: usize, bp: usize, K: i32, panels: i32, c: usize, cRow: usize): void {
  const pb = <usize>K * 32;
  const K4 = K & ~3;
  for (let p = 0; p < panels; p++) {
    // Started from c, as in rowTimesPacked.
    const o = c + <usize>(p * NR) * 4;
    let a0 = v128.load(o), a1 = v128.load(o, 16);
    let a2 = v128.load(o + cRow), a3 = v128.load(o + cRow, 16);
    let a4 = v128.load(o + 2 * cRow), a5 = v128.load(o + 2 * cRow, 16);
    let a6 = v128.load(o + 3 * cRow), a7 = v128.load(o + 3 * cRow, 16);
    let b = bp + <usize>p * pb;
    for (let k = 0; k < K4; k += 4) {
      const xo = x + (<usize>k << 2);
      const x0 = v128.load(xo), x1 = v128.load(xo + aRow);
      const x2 = v128.load(xo + 2 * aRow), x3 = v128.load(xo + 3 * aRow);
      let lo = v128.load(b), hi = v128.load(b, 16);
      let v = i32x4.shuffle(x0, x0, 0, 0, 0, 0); a0 = madd(a0, v, lo); a1 = madd(a1, v, hi);
      v = i32x4.shuffle(x1, x1, 0, 0, 0, 0); a2 = madd(a2, v, lo); a3 = madd(a3, v, hi);
      v = i32x4.shuffle(x2, x2, 0, 0, 0, 0); a4 = madd(a4, v, lo); a5 = madd(a5, v, hi);
      v = i32x4.shuffle(x3, x3, 0, 0, 0, 0); a6 = madd(a6, v, lo); a7 = madd(a7, v, hi);
      lo = v128.load(b, 32); hi = v128.load(b, 48);
      v = i32x4.shuffle(x0, x0, 1, 1, 1, 1); a0 = madd(a0, v, lo); a1 = madd(a1, v, hi);
      v = i32x4.shuffle(x1, x1, 1, 1, 1, 1); a2 = madd(a2, v, lo); a3 = madd(a3, v, hi);
      v = i32x4.shuffle(x2, x2, 1, 1, 1, 1); a4 = madd(a4, v, lo); a5 = madd(a5, v, hi);
      v = i32x4.shuffle(x3, x3, 1, 1, 1, 1); a6 = madd(a6, v, lo); a7 = madd(a7, v, hi);
      lo = v128.load(b, 64); hi = v128.load(b, 80);
      v = i32x4.shuffle(x0, x0, 2, 2, 2, 2); a0 = madd(a0, v, lo); a1 = madd(a1, v, hi);
      v = i32x4.shuffle(x1, x1, 2, 2, 2, 2); a2 = madd(a2, v, lo); a3 = madd(a3, v, hi);
      v = i32x4.shuffle(x2, x2, 2, 2, 2, 2); a4 = madd(a4, v, lo); a5 = madd(a5, v, hi);
      v = i32x4.shuffle(x3, x3, 2, 2, 2, 2); a6 = madd(a6, v, lo); a7 = madd(a7, v, hi);
      lo = v128.load(b, 96); hi = v128.load(b, 112);
      v = i32x4.shuffle(x0, x0, 3, 3, 3, 3); a0 = madd(a0, v, lo); a1 = madd(a1, v, hi);
      v = i32x4.shuffle(x1, x1, 3, 3, 3, 3); a2 = madd(a2, v, lo); a3 = madd(a3, v, hi);
      v = i32x4.shuffle(x2, x2, 3, 3, 3, 3); a4 = madd(a4, v, lo); a5 = madd(a5, v, hi);
      v = i32x4.shuffle(x3, x3, 3, 3, 3, 3); a6 = madd(a6, v, lo); a7 = madd(a7, v, hi);
      b += 128;
    }
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o + cRow, a2);
    v128.store(o + cRow, a3, 16);
    v128.store(o + 2 * cRow, a4);
    v128.store(o + 2 * cRow, a5, 16);
    v128.store(o + 3 * cRow, a6);
    v128.store(o + 3 * cRow, a7, 16);
    if (K4 < K) kTail(x, aRow, 4, bp + <usize>p * pb, pb, K4, K, o, cRow, NR);
  }
}

/** c[0..N) += x[0..K) B: four panels at a time (8 accumulators), then the rest one panel at a time. */
function rowTimesPacked(x: usize, bp: usize, K: i32, N: i32, c: usize): void {
  const panels = (N + NR - 1) / NR;
  const pb = <usize>K * 32;
  const K4 = K & ~3;
  let p = 0;
  for (; p + 4 <= panels && (p + 4) * NR <= N; p += 4) {
    // The accumulators start from c and are stored back as they are (c added after the loop measured
    // 1.6x slower in V8; the sum is only rounded differently).
    const o = c + <usize>(p * NR) * 4;
    let a0 = v128.load(o), a1 = v128.load(o, 16), a2 = v128.load(o, 32), a3 = v128.load(o, 48);
    let a4 = v128.load(o, 64), a5 = v128.load(o, 80), a6 = v128.load(o, 96), a7 = v128.load(o, 112);
    let b = bp + <usize>p * pb;
    for (let k = 0; k < K4; k += 4) {
      const xv = v128.load(x + (<usize>k << 2));
      let v = i32x4.shuffle(xv, xv, 0, 0, 0, 0);
      a0 = madd(a0, v, v128.load(b)); a1 = madd(a1, v, v128.load(b, 16));
      a2 = madd(a2, v, v128.load(b + pb)); a3 = madd(a3, v, v128.load(b + pb, 16));
      a4 = madd(a4, v, v128.load(b + 2 * pb)); a5 = madd(a5, v, v128.load(b + 2 * pb, 16));
      a6 = madd(a6, v, v128.load(b + 3 * pb)); a7 = madd(a7, v, v128.load(b + 3 * pb, 16));
      v = i32x4.shuffle(xv, xv, 1, 1, 1, 1);
      a0 = madd(a0, v, v128.load(b, 32)); a1 = madd(a1, v, v128.load(b, 48));
      a2 = madd(a2, v, v128.load(b + pb, 32)); a3 = madd(a3, v, v128.load(b + pb, 48));
      a4 = madd(a4, v, v128.load(b + 2 * pb, 32)); a5 = madd(a5, v, v128.load(b + 2 * pb, 48));
      a6 = madd(a6, v, v128.load(b + 3 * pb, 32)); a7 = madd(a7, v, v128.load(b + 3 * pb, 48));
      v = i32x4.shuffle(xv, xv, 2, 2, 2, 2);
      a0 = madd(a0, v, v128.load(b, 64)); a1 = madd(a1, v, v128.load(b, 80));
      a2 = madd(a2, v, v128.load(b + pb, 64)); a3 = madd(a3, v, v128.load(b + pb, 80));
      a4 = madd(a4, v, v128.load(b + 2 * pb, 64)); a5 = madd(a5, v, v128.load(b + 2 * pb, 80));
      a6 = madd(a6, v, v128.load(b + 3 * pb, 64)); a7 = madd(a7, v, v128.load(b + 3 * pb, 80));
      v = i32x4.shuffle(xv, xv, 3, 3, 3, 3);
      a0 = madd(a0, v, v128.load(b, 96)); a1 = madd(a1, v, v128.load(b, 112));
      a2 = madd(a2, v, v128.load(b + pb, 96)); a3 = madd(a3, v, v128.load(b + pb, 112));
      a4 = madd(a4, v, v128.load(b + 2 * pb, 96)); a5 = madd(a5, v, v128.load(b + 2 * pb, 112));
      a6 = madd(a6, v, v128.load(b + 3 * pb, 96)); a7 = madd(a7, v, v128.load(b + 3 * pb, 112));
      b += 128;
    }
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
    v128.store(o, a4, 64);
    v128.store(o, a5, 80);
    v128.store(o, a6, 96);
    v128.store(o, a7, 112);
    if (K4 < K) kTail(x, 0, 1, bp + <usize>p * pb, pb, K4, K, o, 0, 4 * NR);
  }
  for (; p < panels; p++) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b = bp + <usize>p * pb;
    for (let k = 0; k < K4; k += 4) {
      const xv = v128.load(x + (<usize>k << 2));
      let v = i32x4.shuffle(xv, xv, 0, 0, 0, 0);
      a0 = madd(a0, v, v128.load(b)); a1 = madd(a1, v, v128.load(b, 16));
      v = i32x4.shuffle(xv, xv, 1, 1, 1, 1);
      a2 = madd(a2, v, v128.load(b, 32)); a3 = madd(a3, v, v128.load(b, 48));
      v = i32x4.shuffle(xv, xv, 2, 2, 2, 2);
      a0 = madd(a0, v, v128.load(b, 64)); a1 = madd(a1, v, v128.load(b, 80));
      v = i32x4.shuffle(xv, xv, 3, 3, 3, 3);
      a2 = madd(a2, v, v128.load(b, 96)); a3 = madd(a3, v, v128.load(b, 112));
      b += 128;
    }
    a0 = f32x4.add(a0, a2);
    a1 = f32x4.add(a1, a3);
    const n0 = p * NR;
    const cols = min(NR, N - n0);
    const o = c + <usize>n0 * 4;
    for (let j = 0; j < cols; j++) {
      store<f32>(o + (<usize>j << 2), load<f32>(o + (<usize>j << 2)) + lane(a0, a1, j));
    }
    if (K4 < K) kTail(x, 0, 1, bp + <usize>p * pb, pb, K4, K, o, 0, cols);
  }
}

/**
 * c[r][0..cols) += x[r][K4..K) B[K4..K) for `rows` rows, B's columns from the panel at `b` on (pb bytes
 * a panel): the last K mod 4 terms, in a function of their own. (A remainder loop in the same
 * function as the main one, even one that never runs, made V8 compile the main loop 1.6x slower.)
 */
function kTail(
  x: usize, xRow: usize, rows: i32, b: usize, pb: usize, K4: i32, K: i32, c: usize, cRow: usize, cols: i32,
): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * xRow;
    const cr = c + <usize>r * cRow;
    for (let j = 0; j < cols; j++) {
      const col = b + <usize>(j / NR) * pb + (<usize>(j % NR) << 2);
      let sum = load<f32>(cr + (<usize>j << 2));
      for (let k = K4; k < K; k++) sum += load<f32>(xr + (<usize>k << 2)) * load<f32>(col + (<usize>k << 5));
      store<f32>(cr + (<usize>j << 2), sum);
    }
  }
}

/** Lane j (0..7) of the pair (v0, v1) (extract_lane takes only a constant lane). */
function lane(v0: v128, v1: v128, j: i32): f32 {
  switch (j) {
    case 0: return f32x4.extract_lane(v0, 0);
    case 1: return f32x4.extract_lane(v0, 1);
    case 2: return f32x4.extract_lane(v0, 2);
    case 3: return f32x4.extract_lane(v0, 3);
    case 4: return f32x4.extract_lane(v1, 0);
    case 5: return f32x4.extract_lane(v1, 1);
    case 6: return f32x4.extract_lane(v1, 2);
    default: return f32x4.extract_lane(v1, 3);
  }
}
