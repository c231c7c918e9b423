// Matrix products on packed panels, the building block of every kernel here.
//
// B is packed once into panels of 8 columns (`packB`): panel p holds, for each k, the 8 values
// B[k, 8p..8p+7] side by side (zero past the last column), so the inner loop reads B contiguously
// whatever B's layout was (row-major, transposed, a column range of a wider matrix). A is read through
// byte strides, A(i, k) at a + (i/4)*groupStride + (i%4)*rowStride + k*kStride, so a row-major A
// (groupStride = 4*lda*4, rowStride = lda*4, kStride = 4) needs no copy, nor does a transposed one
// (16, 4, lda*4), but a wide transposed A (a weight gradient's X^T for 512 units or more) is packed
// first by `packA` into groups of 4 rows side by side ([K][4] a group: K*16, 4, 16): read in place,
// a page every k or two at a stride of a power of two, its lines crowd L1's sets and the TLB (the
// product alone, one thread, caches warm: [512 x 1120] x [1120 x 2048] at 31 GFLOP/s in place, 46
// packed; in a training step on two threads, packages/train/bench/step-profile.mjs, the 512-unit
// LSTM's weight-gradient product went from 30.8 to 27.9 ms, packing adding 0.5; src/products.ts says
// where it pays in a whole run). The microkernel computes a 4 x 8 tile of C in 8 SIMD accumulators
// (V8 keeps 16 xmm registers; wider tiles spilled and ran slower; 3 x 12 and 2 x 16 tiles ran as fast
// as 4 x 8 alone, about 48 GFLOP/s on one thread).
//
// Tiles at the edges (fewer than 4 rows or 8 columns) run the same loop: rows past the edge read row 0
// again and their results are dropped; columns past the edge multiply the panel's zero padding.

import { madd, tanhs, tanhv } from './math';
import { nextPiece, pieceLow, pieceStep, pieceTop, splitRange } from './threads';

// @ts-expect-error: decorator
@inline export const NR: i32 = 8;
// @ts-expect-error: decorator
@inline const MR: i32 = 4;
/** Depth of one pass over K: a [256 x 256] block of A stays in L2, a panel of B in L1. */
// @ts-expect-error: decorator
@inline const KC: i32 = 256;

/** Bytes of the packed form of a [K x N] matrix. */
export function packedBytes(K: i32, N: i32): usize {
  return <usize>((N + NR - 1) / NR) * <usize>K * <usize>(NR * 4);
}

/** Rows of B a block of `packB` reads before moving on to the next (see packB). */
// @ts-expect-error: decorator
@inline const PACK_ROWS: i32 = 16;
/** Rows of a row-major B in one piece of `packB`'s work (see packB). */
// @ts-expect-error: decorator
@inline const PACK_PIECE_ROWS: i32 = 64;

/**
 * Packs B (B(k, n) at src + k*rowStride + n*colStride, bytes) into panels of 8 columns at dst.
 *
 * A row-major B is read in blocks of 16 rows, all panels from each block: panel by panel over all K,
 * a wide B (a weight gradient's gate gradients, [T*B, 4H], rows 4 KiB apart) was read 32 bytes a row
 * at a 4 KiB stride, each cache line twice and a page a read; a block of rows stays in cache while its
 * panels' pieces are copied out, each 16 rows x 32 bytes of one panel, contiguous. Packing
 * [1120 x 1024] took 0.9 ms on one thread before, 0.6 after (bench/phases.mjs, A/B in turn). The
 * threads share it in pieces of 64 rows (whole rows, read contiguously), as `nextPiece` hands them
 * out, so that one slowed by a busy neighbour does not hold up the other: split up front, the threads'
 * waits at the end of packB were 0.2 ms of a GRU's batch and 1 ms of a 2-layer LSTM's on a busy
 * machine (packages/train/bench/step-profile.mjs, `waits`). Any other B goes panel by panel, a piece
 * each. sched: a schedule of max(ceil(K / 64), ceil(N / 8)) groups or more (src/products.ts).
 */
export function packB(
  src: usize, rowStride: usize, colStride: usize, K: i32, N: i32, dst: usize, sched: usize, tid: i32, nt: i32,
): void {
  const panels = (N + NR - 1) / NR;
  const panelBytes = <usize>K * 32;
  if (colStride == 4) {
    // Full panels of a row-major B, by blocks of rows; a last panel of fewer columns below.
    const full = N / NR;
    const pieces = (K + PACK_PIECE_ROWS - 1) / PACK_PIECE_ROWS;
    for (let w = nextPiece(sched, pieces, 1, false, tid, nt); w >= 0; w = nextPiece(sched, pieces, 1, false, tid, nt)) {
      const r0 = pieceLow(w) * PACK_PIECE_ROWS;
      const r1 = min(K, r0 + PACK_PIECE_ROWS);
      for (let k0 = r0; k0 < r1; k0 += PACK_ROWS) {
        const k1 = min(r1, k0 + PACK_ROWS);
        for (let p = 0; p < full; p++) {
          let s = src + <usize>k0 * rowStride + <usize>(p * NR) * 4;
          let d = dst + <usize>p * panelBytes + (<usize>k0 << 5);
          for (let k = k0; k < k1; k++) {
            v128.store(d, v128.load(s));
            v128.store(d, v128.load(s, 16), 16);
            s += rowStride;
            d += 32;
          }
        }
        if (full < panels) packPanelRows(src, rowStride, colStride, N, full, k0, k1, dst + <usize>full * panelBytes);
      }
    }
    return;
  }
  for (let w = nextPiece(sched, panels, 1, false, tid, nt); w >= 0; w = nextPiece(sched, panels, 1, false, tid, nt)) {
    const p = pieceLow(w);
    packPanelRows(src, rowStride, colStride, N, p, 0, K, dst + <usize>p * panelBytes);
  }
}

/**
 * Rows [k0, k1) of panel p of B (any strides; zero past the last column), the panel at d, one value at
 * a time.
 */
function packPanelRows(
  src: usize, rowStride: usize, colStride: usize, N: i32, p: i32, k0: i32, k1: i32, d: usize,
): void {
  const n0 = p * NR;
  const cols = min(NR, N - n0);
  let s = src + <usize>k0 * rowStride + <usize>n0 * colStride;
  d += <usize>k0 << 5;
  for (let k = k0; k < k1; k++) {
    let e = s;
    for (let j = 0; j < NR; j++) {
      store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(e) : 0);
      e += colStride;
    }
    s += rowStride;
    d += 32;
  }
}

/**
 * Packs a transposed A for `gemm`: A(i, k) = src[k * ld + i] (src row-major [K, ld], as the
 * activations of a layer whose weight gradient is X^T D) into groups of 4 rows, group g at
 * dst + g*K*16 holding A(4g..4g+3, k) side by side for each k, zero past row M. The groups are shared
 * out between the threads; each reads its columns of src in blocks of 16 rows, as packB does.
 */
export function packA(src: usize, ld: i32, K: i32, M: i32, dst: usize, tid: i32, nt: i32): void {
  const groups = (M + 3) >> 2;
  const g0 = splitRange(groups, tid, nt, 0);
  const g1 = splitRange(groups, tid, nt, 1);
  const full = min(g1, M >> 2);
  const rowStride = <usize>ld * 4;
  const groupBytes = <usize>K * 16;
  for (let k0 = 0; k0 < K; k0 += PACK_ROWS) {
    const k1 = min(K, k0 + PACK_ROWS);
    for (let g = g0; g < full; g++) {
      let s = src + <usize>k0 * rowStride + (<usize>g << 4);
      let d = dst + <usize>g * groupBytes + (<usize>k0 << 4);
      for (let k = k0; k < k1; k++) {
        v128.store(d, v128.load(s));
        s += rowStride;
        d += 16;
      }
    }
  }
  // The last group of fewer than 4 rows.
  if (full < g1) {
    const rows = M - (full << 2);
    let s = src + (<usize>full << 4);
    let d = dst + <usize>full * groupBytes;
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < 4; j++) store<f32>(d + (<usize>j << 2), j < rows ? load<f32>(s + (<usize>j << 2)) : 0);
      s += rowStride;
      d += 16;
    }
  }
}

/** What a tile does with its products (`acc`), tile by tile. */
// @ts-ignore: decorator
@inline export const STORE: i32 = 0; // c = acc
// @ts-ignore: decorator
@inline export const ADD: i32 = 1; // c += acc
// @ts-ignore: decorator
@inline export const TANH: i32 = 2; // e1 = tanh(c + acc): an RNN step's pre-activation and state
// @ts-ignore: decorator
@inline export const TANH_GRAD: i32 = 3; // e2 = (c + acc) * (1 - e1 * e1): an RNN step's gradient

/**
 * A tile of A x B over K, rows [0, rows) of 4 and columns [0, cols) of 8, finished as `mode` says.
 * c, e1 and e2 point at the tile's first element in matrices of the same row stride (cStride bytes);
 * scratch is 128 bytes of the calling thread's own, for the edge tiles of the TANH modes.
 */
function tile(
  a: usize, aRow: usize, aK: usize, bp: usize, K: i32, c: usize, cStride: usize,
  rows: i32, cols: i32, mode: i32, e1: usize = 0, e2: usize = 0, scratch: usize = 0,
): void {
  // Rows past the edge read row 0 again. Chosen here, outside the product: a select in the loop's
  // address arithmetic would be sunk into the loop and cost more than the multiply-adds.
  const a1 = rows > 1 ? a + aRow : a;
  const a2 = rows > 2 ? a + 2 * aRow : a;
  const a3 = rows > 3 ? a + 3 * aRow : a;
  if (mode <= ADD || (rows == MR && cols == NR)) {
    product(a, a1, a2, a3, aK, bp, K, c, cStride, rows, cols, mode, e1, e2);
    return;
  }
  // An edge tile of a TANH mode: the products into scratch, then the finish one value at a time.
  product(a, a1, a2, a3, aK, bp, K, scratch, 32, rows, cols, STORE, 0, 0);
  for (let r = 0; r < rows; r++) {
    const row = <usize>r * cStride;
    for (let j = 0; j < cols; j++) {
      const o = row + (<usize>j << 2);
      const v = load<f32>(scratch + (<usize>(r * NR + j) << 2)) + load<f32>(c + o);
      if (mode == TANH) store<f32>(e1 + o, tanhs(v));
      else {
        const h = load<f32>(e1 + o);
        store<f32>(e2 + o, v * (1 - h * h));
      }
    }
  }
}

// The loop below is what V8's optimising compiler turns into 31 instructions a step of k on x64
// (4 vbroadcastss, 2 loads, 8 vmulps, 8 vaddps, the row addresses, the counters and its interrupt
// check), about 75% of the f32x4 multiply-add peak that `simdPeak` measures. Tried and measured slower
// or no better (read from `node --print-wasm-code`): unrolling over k (V8 hoists every load of the
// unrolled steps to the top and spills accumulators to the stack), and one base address with
// immediate offsets for the four rows (V8 computes each offset address with its own lea anyway), and
// step-product.ts's broadcast (four values of A in one v128.load, each k's value spread by
// i32x4.shuffle, k in steps of 4, the K mod 4 rest in a function of its own): 8-12% slower (e.g.
// [1120x256]x[256x1024] 38 -> 35 GFLOP/s of CPU time on one thread, against a peak of 42-44), as V8
// hoists the B loads of the four steps and spills accumulators, as when unrolling; for a transposed A,
// the tile's four rows in one load and a shuffle each: 6-9% slower with no spills (on an AMD EPYC the
// shuffles cost more than broadcasting loads). In CPU time this loop ran at 36-39 GFLOP/s, near the plain
// peak.
// The multiply-adds are math.ts's `madd`: in the relaxed-SIMD build 8 vfmadd231ps instead of 8 vmulps
// and 8 vaddps; [1120x256]x[256x1024] 40 -> 46 GFLOP/s of CPU time on one thread (bench/kernels.mjs,
// the builds alternating). Taller tiles, which the fused form's free registers seemed to allow (6 x 8:
// 12 accumulators, 2 of B and the broadcast, 15 of V8's 15 allocatable xmm registers; 5 x 8: 13), ran
// slower in both builds: V8 spilled accumulators to the stack around the loop.
// Also tried for the recurrences' step products (A/B of a whole layer, CPU time, 2 threads): each
// thread's rows of A copied first, 4 rows side by side ([k][4]), the broadcasts at one address plus
// 0, 4, 8, 12: V8 (Node 20) still computes each offset's address with a lea for a broadcasting load
// (it folds the offset only into a plain v128.load), so the loop kept its 25 instructions; and each value
// copied over 4 lanes ([k][row][lane], 64 bytes a k) so that plain loads at fixed offsets replace the
// broadcasts: 21 instructions a step of k, yet the forward pass no faster (the loop is not bound by
// issuing instructions) and the backward one slower (copying 4H values a row each step), the LSTM layer
// 15% and the GRU's 7% slower.
// @ts-ignore: decorator
@noinline function product(
  a0: usize, a1: usize, a2: usize, a3: usize, aK: usize, bp: usize, K: i32, c: usize, cStride: usize,
  rows: i32, cols: i32, mode: i32, e1: usize, e2: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let b = bp;
  let ko: usize = 0;
  const kEnd = <usize>K * aK;
  while (ko < kEnd) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load32_splat(a0 + ko);
    c00 = madd(c00, x, b0);
    c01 = madd(c01, x, b1);
    x = v128.load32_splat(a1 + ko);
    c10 = madd(c10, x, b0);
    c11 = madd(c11, x, b1);
    x = v128.load32_splat(a2 + ko);
    c20 = madd(c20, x, b0);
    c21 = madd(c21, x, b1);
    x = v128.load32_splat(a3 + ko);
    c30 = madd(c30, x, b0);
    c31 = madd(c31, x, b1);
    b += 32;
    ko += aK;
  }
  if (rows == MR && cols == NR) {
    if (mode != STORE) {
      c00 = f32x4.add(c00, v128.load(c));
      c01 = f32x4.add(c01, v128.load(c, 16));
      c10 = f32x4.add(c10, v128.load(c + cStride));
      c11 = f32x4.add(c11, v128.load(c + cStride, 16));
      c20 = f32x4.add(c20, v128.load(c + 2 * cStride));
      c21 = f32x4.add(c21, v128.load(c + 2 * cStride, 16));
      c30 = f32x4.add(c30, v128.load(c + 3 * cStride));
      c31 = f32x4.add(c31, v128.load(c + 3 * cStride, 16));
    }
    if (mode <= ADD) {
      v128.store(c, c00);
      v128.store(c, c01, 16);
      v128.store(c + cStride, c10);
      v128.store(c + cStride, c11, 16);
      v128.store(c + 2 * cStride, c20);
      v128.store(c + 2 * cStride, c21, 16);
      v128.store(c + 3 * cStride, c30);
      v128.store(c + 3 * cStride, c31, 16);
    } else if (mode == TANH) {
      v128.store(e1, tanhv(c00));
      v128.store(e1, tanhv(c01), 16);
      v128.store(e1 + cStride, tanhv(c10));
      v128.store(e1 + cStride, tanhv(c11), 16);
      v128.store(e1 + 2 * cStride, tanhv(c20));
      v128.store(e1 + 2 * cStride, tanhv(c21), 16);
      v128.store(e1 + 3 * cStride, tanhv(c30));
      v128.store(e1 + 3 * cStride, tanhv(c31), 16);
    } else {
      finishGrad(e1, e2, c00, c01);
      finishGrad(e1 + cStride, e2 + cStride, c10, c11);
      finishGrad(e1 + 2 * cStride, e2 + 2 * cStride, c20, c21);
      finishGrad(e1 + 3 * cStride, e2 + 3 * cStride, c30, c31);
    }
    return;
  }
  const accumulate = mode == ADD;
  storeRow(c, c00, c01, cols, accumulate);
  if (rows > 1) storeRow(c + cStride, c10, c11, cols, accumulate);
  if (rows > 2) storeRow(c + 2 * cStride, c20, c21, cols, accumulate);
  if (rows > 3) storeRow(c + 3 * cStride, c30, c31, cols, accumulate);
}

/** e2 row = d * (1 - h^2) for one tile row (8 values), h read from e1. */
// @ts-ignore: decorator
@inline function finishGrad(e1: usize, e2: usize, d0: v128, d1: v128): void {
  const one = f32x4.splat(1);
  const h0 = v128.load(e1);
  const h1 = v128.load(e1, 16);
  v128.store(e2, f32x4.mul(d0, f32x4.sub(one, f32x4.mul(h0, h0))));
  v128.store(e2, f32x4.mul(d1, f32x4.sub(one, f32x4.mul(h1, h1))), 16);
}

function storeRow(c: usize, v0: v128, v1: v128, cols: i32, accumulate: bool): void {
  storePart(c, v0, cols, accumulate);
  storePart(c + 16, v1, cols - 4, accumulate);
}

// @ts-expect-error: decorator
@inline function storePart(c: usize, v: v128, n: i32, accumulate: bool): void {
  if (n >= 4) {
    v128.store(c, accumulate ? f32x4.add(v, v128.load(c)) : v);
    return;
  }
  if (n <= 0) return;
  store<f32>(c, accumulate ? f32x4.extract_lane(v, 0) + load<f32>(c) : f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(c, accumulate ? f32x4.extract_lane(v, 1) + load<f32>(c, 4) : f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(c, accumulate ? f32x4.extract_lane(v, 2) + load<f32>(c, 8) : f32x4.extract_lane(v, 2), 8);
}

/**
 * C[r0..r1) (+)= A[r0..r1) x B for a row-major A ([M x K], lda floats) and B packed by `packB`.
 * Used for the recurrent products of one time step, where A (a batch of hidden states) is small.
 */
export function gemmRows(
  a: usize, lda: i32, bp: usize, K: i32, N: i32, c: usize, ldc: i32, r0: i32, r1: i32, accumulate: bool,
): void {
  gemmRowsThen(a, lda, bp, K, N, c, ldc, r0, r1, accumulate ? ADD : STORE, 0, 0, 0);
}

/**
 * As gemmRows, each tile finished as `mode` says (see tile), with e1 and e2 matrices of C's layout:
 * the product and the step's nonlinearity in one pass over C.
 */
export function gemmRowsThen(
  a: usize, lda: i32, bp: usize, K: i32, N: i32, c: usize, ldc: i32, r0: i32, r1: i32,
  mode: i32, e1: usize, e2: usize, scratch: usize,
): void {
  const panels = (N + NR - 1) / NR;
  const aRow = <usize>lda * 4;
  const cStride = <usize>ldc * 4;
  const panelBytes = <usize>K * 32;
  for (let p = 0; p < panels; p++) {
    const cols = min(NR, N - p * NR);
    const bp_ = bp + <usize>p * panelBytes;
    const o = <usize>(p * NR) * 4;
    for (let i = r0; i < r1; i += MR) {
      const t = o + <usize>i * cStride;
      tile(a + <usize>i * aRow, aRow, 4, bp_, K, c + t, cStride, min(MR, r1 - i), cols, mode, e1 + t, e2 + t, scratch);
    }
  }
}

/** Rows of C a piece of `gemm` takes when the threads share rows: 4 tiles, so that a piece is worth its claim. */
// @ts-expect-error: decorator
@inline const PIECE_ROWS: i32 = 16;

/**
 * The pieces `gemm` shares out: groups of PIECE_ROWS rows of C (splitRows), else its column panels (the
 * JavaScript side's runGemm sizes the schedule the same way).
 */
// @ts-ignore: decorator
@inline function gemmUnits(M: i32, N: i32, splitRows: bool): i32 {
  return splitRows ? (M + PIECE_ROWS - 1) / PIECE_ROWS : (N + NR - 1) / NR;
}

/**
 * C (+)= A x B, A(i, k) at a + (i/4)*aGroup + (i%4)*aRow + k*aK (bytes): a row-major A (aGroup =
 * 4*lda*4, aRow = lda*4, aK = 4) or one packed by `packA` (K*16, 4, 16); B packed by `packB`, C
 * row-major [M x N] with ldc floats, in passes of KC over K (a block of A stays in L2, a panel of B in
 * L1). splitRows: the threads share the rows of C (16 a piece: 4 tiles), else its column panels (one a
 * piece), each pass a piece at a time (threads.ts's nextPiece: a thread done with its own pieces takes
 * another's last ones). sched: the schedule of `gemmUnits` pieces.
 */
export function gemm(
  a: usize, aGroup: usize, aRow: usize, aK: usize, bp: usize, K: i32, M: i32, N: i32, c: usize, ldc: i32,
  accumulate: bool, splitRows: bool, sched: usize, tid: i32, nt: i32,
): void {
  const panels = (N + NR - 1) / NR;
  const passes = (K + KC - 1) / KC;
  const cStride = <usize>ldc * 4;
  const units = gemmUnits(M, N, splitRows);
  for (let w = nextPiece(sched, units, passes, false, tid, nt); w >= 0; w = nextPiece(sched, units, passes, false, tid, nt)) {
    const k0 = pieceStep(w) * KC;
    const kc = min(KC, K - k0);
    const mode = accumulate || k0 > 0 ? ADD : STORE;
    const u0 = pieceLow(w), u1 = pieceTop(w);
    const p0 = splitRows ? 0 : u0, p1 = splitRows ? panels : u1;
    const i0 = splitRows ? u0 * PIECE_ROWS : 0, i1 = splitRows ? min(M, u1 * PIECE_ROWS) : M;
    for (let p = p0; p < p1; p++) {
      const cols = min(NR, N - p * NR);
      const bp_ = bp + (<usize>p * <usize>K + <usize>k0) * 32;
      const cp = c + <usize>(p * NR) * 4;
      for (let i = i0; i < i1; i += MR) {
        tile(a + <usize>k0 * aK + <usize>(i >> 2) * aGroup, aRow, aK, bp_, kc, cp + <usize>i * cStride, cStride, min(MR, i1 - i), cols, mode);
      }
    }
  }
}
