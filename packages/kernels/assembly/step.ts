// One token step of a whole recurrent stack and its output head, for generation: no sequence, no
// gradient, nothing kept for a backward pass. The weights stay in memory between steps (the JavaScript
// side copies them in once), so a token costs the matrix products and nothing else.
//
// A plan (i32 words at `plan`) says where everything is:
//   0 cell (0 rnn, 1 gru, 2 lstm)   1 layers L   2 hidden H   3 vocabulary V
//   4..7 LSTM gate blocks gi, gf, go, gc~ (their block numbers within 4H; 0..3 otherwise)
//   8 table [rows, G]: layer 0's input, one row per token id (one-hot times W_x, that is W_x itself,
//     or an embedding times W_x), bias not included
//   9 head weight, packed [H, V]   10 head bias [V]   11 logits [B, V] (written)
//   12 gates [B, G] (scratch)       13 R ⊙ H [B, H] (GRU scratch)
//   16 + 8l, layer l: input weight packed [H, G] (layer 0: unused), recurrent weight packed (LSTM and
//     RNN: W_h [H, G]; GRU: its z and r columns [H, 2H]), GRU candidate's W_hh packed [H, H], bias [G],
//     h [B, H], c [B, H] (LSTM)
// where G = gates * H. h and c hold the state: read as the state before the step, overwritten with the
// state after it.
//
// Two ways to share a step between threads. `stackStep`: by rows of the batch, in groups of 4 (each
// row's step depends only on that row), for a batch of more than 4. `stackStepColumns`: by columns,
// for a batch of 4 or fewer, which has a single group of rows: each layer in phases (its gate inputs
// and products by chunks of columns, then the cell's update by chunks of hidden units, and the GRU's
// reset and candidate product between them), every thread waiting at the end of a phase for all of
// its chunks. Chunks are claimed from a counter, so a thread that never starts (the pool's caller
// then runs its share too, after its own) leaves none undone, and nobody waits on it. Chunk edges
// fall where the whole product's own groupings do (32 columns, 4 units), so either way, on any
// number of threads, every value is computed by the same operations: the results are identical.

import { sigmoids, sigmoidv, tanhs, tanhv } from './math';
import { rowsTimesPacked as product } from './step-product';
import { rowRange } from './threads';

// @ts-expect-error: decorator
@inline function word(plan: usize, i: i32): i32 {
  return load<i32>(plan + (<usize>i << 2));
}

// @ts-expect-error: decorator
@inline function ptr(plan: usize, i: i32): usize {
  return <usize>load<u32>(plan + (<usize>i << 2));
}

/** ids [B] i32: each sequence's input token. Writes the logits and the new state of rows [r0, r1). */
export function stackStep(plan: usize, ids: usize, B: i32, tid: i32, nt: i32): void {
  const r0 = rowRange(B, tid, nt, 0);
  const r1 = rowRange(B, tid, nt, 1);
  if (r0 >= r1) return;
  const cell = word(plan, 0);
  const L = word(plan, 1);
  const H = word(plan, 2);
  const G = gatesOf(cell, H);
  for (let l = 0; l < L; l++) {
    gateInputs(plan, ids, l, r0, r1, 0, G);
    if (cell == 1) {
      gruReset(plan, l, r0, r1, 0, H);
      gruCandidate(plan, l, r0, r1, 0, H);
      gruUpdate(plan, l, r0, r1, 0, H);
    } else cellUpdate(plan, l, r0, r1, 0, H);
  }
  headLogits(plan, r0, r1, 0, word(plan, 3));
}

/** What a phase of `stackStepColumns` does, chunk by chunk. */
// @ts-expect-error: decorator
@inline const GATES: i32 = 0; // gate inputs and products: chunks of G columns
// @ts-expect-error: decorator
@inline const UPDATE: i32 = 1; // LSTM and RNN cell update: chunks of H units
// @ts-expect-error: decorator
@inline const GRU_RESET: i32 = 2; // chunks of H units
// @ts-expect-error: decorator
@inline const GRU_CANDIDATE: i32 = 3; // chunks of H columns
// @ts-expect-error: decorator
@inline const GRU_UPDATE: i32 = 4; // chunks of H units
// @ts-expect-error: decorator
@inline const HEAD: i32 = 5; // chunks of V columns

/**
 * As `stackStep` for all B rows (B <= 4 is where it pays), the threads sharing each phase's columns.
 * sync: two i32 a phase (chunks claimed, chunks done), 2 * (4 L + 1) in all, zeroed by the caller before
 * each call.
 */
export function stackStepColumns(plan: usize, ids: usize, B: i32, sync: usize, tid: i32, nt: i32): void {
  const cell = word(plan, 0);
  const L = word(plan, 1);
  let phase = 0;
  for (let l = 0; l < L; l++) {
    runPhase(plan, ids, B, sync, phase++, GATES, l, nt);
    if (cell == 1) {
      runPhase(plan, ids, B, sync, phase++, GRU_RESET, l, nt);
      runPhase(plan, ids, B, sync, phase++, GRU_CANDIDATE, l, nt);
      runPhase(plan, ids, B, sync, phase++, GRU_UPDATE, l, nt);
    } else runPhase(plan, ids, B, sync, phase++, UPDATE, l, nt);
  }
  runPhase(plan, ids, B, sync, phase, HEAD, 0, nt);
}

/**
 * One phase: chunks claimed one at a time until none is left, then a wait until all are done (what
 * the next phase reads is then written). A chunk a thread: claims and counts cost a cache line's trip
 * between cores each, and two chunks a thread measured slower (the 2-layer LSTM's step 38 µs -> 49).
 */
function runPhase(plan: usize, ids: usize, B: i32, sync: usize, phase: i32, kind: i32, l: i32, nt: i32): void {
  const cell = word(plan, 0);
  const H = word(plan, 2);
  const byUnits = kind == UPDATE || kind == GRU_RESET || kind == GRU_UPDATE;
  const n = kind == GATES ? gatesOf(cell, H) : kind == HEAD ? word(plan, 3) : H;
  // Units go 4 at a time (the element-wise loops' vectors), columns 32 (the products' four panels).
  const width = byUnits ? 4 : 32;
  const groups = (n + width - 1) / width;
  const chunks = min(groups, nt);
  const claimed = sync + (<usize>phase << 3);
  const done = claimed + 4;
  for (;;) {
    const u = claim(claimed);
    if (u >= chunks) break;
    const x0 = (u * groups) / chunks * width;
    const x1 = min(n, ((u + 1) * groups) / chunks * width);
    if (kind == GATES) gateInputs(plan, ids, l, 0, B, x0, x1);
    else if (kind == UPDATE) cellUpdate(plan, l, 0, B, x0, x1);
    else if (kind == GRU_RESET) gruReset(plan, l, 0, B, x0, x1);
    else if (kind == GRU_CANDIDATE) gruCandidate(plan, l, 0, B, x0, x1);
    else if (kind == GRU_UPDATE) gruUpdate(plan, l, 0, B, x0, x1);
    else headLogits(plan, 0, B, x0, x1);
    count(done);
  }
  waitFor(done, chunks);
}

/** Takes the next chunk of a phase: the counter's value before. */
function claim(counter: usize): i32 {
  if (ASC_FEATURE_THREADS) return atomic.add<i32>(counter, 1);
  const u = load<i32>(counter);
  store<i32>(counter, u + 1);
  return u;
}

/** Counts a chunk done (after its writes: a thread that sees the count sees them). */
function count(counter: usize): void {
  if (ASC_FEATURE_THREADS) atomic.add<i32>(counter, 1);
  else store<i32>(counter, load<i32>(counter) + 1);
}

function waitFor(counter: usize, n: i32): void {
  if (ASC_FEATURE_THREADS) while (atomic.load<i32>(counter) < n) {}
}

function gatesOf(cell: i32, H: i32): i32 {
  return (cell == 2 ? 4 : cell == 1 ? 3 : 1) * H;
}

/** The address of layer l's plan word i (16 + 8 l + i). */
// @ts-expect-error: decorator
@inline function layerPtr(plan: usize, l: i32, i: i32): usize {
  return ptr(plan, 16 + 8 * l + i);
}

/**
 * C[r0..r1)[c0, c1) += A B for columns c0 (a multiple of 32) to c1 of a B packed [K, N]: the columns
 * of the whole product's four-panel groups (rowsTimesPacked), computed as the whole product does.
 */
function productColumns(
  a: usize, lda: i32, bp: usize, K: i32, c: usize, ldc: i32, r0: i32, r1: i32, c0: i32, c1: i32,
): void {
  if (c0 >= c1) return;
  product(a, lda, bp + <usize>(c0 >> 3) * <usize>K * 32, K, c1 - c0, c + (<usize>c0 << 2), ldc, r0, r1);
}

/**
 * Gate inputs [c0, c1) of layer l for rows [r0, r1): the bias, layer 0's table row or the layer
 * below's h times W_x, and h times W_h (a GRU's z and r columns only; its candidate's waits for R).
 */
function gateInputs(plan: usize, ids: usize, l: i32, r0: i32, r1: i32, c0: i32, c1: i32): void {
  const cell = word(plan, 0);
  const H = word(plan, 2);
  const G = gatesOf(cell, H);
  const gates = ptr(plan, 12);
  const bias = layerPtr(plan, l, 3) + (<usize>c0 << 2);
  const rowG = <usize>G * 4;
  const table = ptr(plan, 8) + (<usize>c0 << 2);
  for (let b = r0; b < r1; b++) {
    const g = gates + <usize>b * rowG + (<usize>c0 << 2);
    if (l == 0) addVectors(g, table + <usize>load<i32>(ids + (<usize>b << 2)) * rowG, bias, c1 - c0);
    else copyVector(g, bias, c1 - c0);
  }
  if (l > 0) productColumns(layerPtr(plan, l - 1, 4), H, layerPtr(plan, l, 0), H, gates, G, r0, r1, c0, c1);
  const h = layerPtr(plan, l, 4);
  const recurrent = cell == 1 ? 2 * H : G;
  productColumns(h, H, layerPtr(plan, l, 1), H, gates, G, r0, r1, c0, min(c1, recurrent));
}

/** LSTM: c and h of units [j0, j1); RNN: h = tanh of the gates. */
function cellUpdate(plan: usize, l: i32, r0: i32, r1: i32, j0: i32, j1: i32): void {
  const h = layerPtr(plan, l, 4);
  if (word(plan, 0) == 2) lstmUpdate(plan, ptr(plan, 12), h, layerPtr(plan, l, 5), word(plan, 2), r0, r1, j0, j1);
  else {
    const H = word(plan, 2);
    for (let b = r0; b < r1; b++) tanhInto(h + <usize>(b * H) * 4, ptr(plan, 12) + <usize>(b * H) * 4, j0, j1);
  }
}

/** The GRU candidate's product: R ⊙ H times its W_hh, columns [c0, c1) of H. */
function gruCandidate(plan: usize, l: i32, r0: i32, r1: i32, c0: i32, c1: i32): void {
  const H = word(plan, 2);
  const gates = ptr(plan, 12) + <usize>(2 * H) * 4;
  productColumns(ptr(plan, 13), H, layerPtr(plan, l, 2), H, gates, 3 * H, r0, r1, c0, c1);
}

/** Logits [c0, c1) of rows [r0, r1): the head's bias plus the top layer's h times its W. */
function headLogits(plan: usize, r0: i32, r1: i32, c0: i32, c1: i32): void {
  const H = word(plan, 2);
  const V = word(plan, 3);
  const top = layerPtr(plan, word(plan, 1) - 1, 4);
  const logits = ptr(plan, 11);
  const bias = ptr(plan, 10) + (<usize>c0 << 2);
  for (let b = r0; b < r1; b++) copyVector(logits + <usize>(b * V + c0) * 4, bias, c1 - c0);
  productColumns(top, H, ptr(plan, 9), H, logits, V, r0, r1, c0, c1);
}

function addVectors(dst: usize, a: usize, b: usize, n: i32): void {
  const end = <usize>n * 4;
  let o: usize = 0;
  for (; o + 16 <= end; o += 16) v128.store(dst + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  for (; o < end; o += 4) store<f32>(dst + o, load<f32>(a + o) + load<f32>(b + o));
}

function copyVector(dst: usize, src: usize, n: i32): void {
  memory.copy(dst, src, <usize>n * 4);
}

/** h = tanh(g) for one row's units [j0, j1). */
function tanhInto(h: usize, g: usize, j0: i32, j1: i32): void {
  let j = j0;
  for (; j + 4 <= j1; j += 4) {
    const o = <usize>j << 2;
    v128.store(h + o, tanhv(v128.load(g + o)));
  }
  for (; j < j1; j++) {
    const o = <usize>j << 2;
    store<f32>(h + o, tanhs(load<f32>(g + o)));
  }
}

/** c = f ⊙ c + i ⊙ c~, h = o ⊙ tanh(c) for units [j0, j1), as lstmForward computes them. */
function lstmUpdate(
  plan: usize, gates: usize, hbuf: usize, cbuf: usize, H: i32, r0: i32, r1: i32, j0: i32, j1: i32,
): void {
  const G = 4 * H;
  const iO = <usize>(word(plan, 4) * H) * 4, fO = <usize>(word(plan, 5) * H) * 4;
  const oO = <usize>(word(plan, 6) * H) * 4, gO = <usize>(word(plan, 7) * H) * 4;
  for (let b = r0; b < r1; b++) {
    const g = gates + <usize>(b * G) * 4;
    const h = hbuf + <usize>(b * H) * 4;
    const c = cbuf + <usize>(b * H) * 4;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const o4 = <usize>j << 2;
      const iv = sigmoidv(v128.load(g + iO + o4));
      const fv = sigmoidv(v128.load(g + fO + o4));
      const ov = sigmoidv(v128.load(g + oO + o4));
      const gv = tanhv(v128.load(g + gO + o4));
      const cv = f32x4.add(f32x4.mul(fv, v128.load(c + o4)), f32x4.mul(iv, gv));
      v128.store(c + o4, cv);
      v128.store(h + o4, f32x4.mul(ov, tanhv(cv)));
    }
    for (; j < j1; j++) {
      const o4 = <usize>j << 2;
      const iv = sigmoids(load<f32>(g + iO + o4));
      const fv = sigmoids(load<f32>(g + fO + o4));
      const ov = sigmoids(load<f32>(g + oO + o4));
      const gv = tanhs(load<f32>(g + gO + o4));
      const cv = fv * load<f32>(c + o4) + iv * gv;
      store<f32>(c + o4, cv);
      store<f32>(h + o4, ov * tanhs(cv));
    }
  }
}

/** Z and R of units [j0, j1) through the sigmoid (in place), and R ⊙ H into the plan's rh. */
function gruReset(plan: usize, l: i32, r0: i32, r1: i32, j0: i32, j1: i32): void {
  const H = word(plan, 2);
  const G = 3 * H;
  const rO = <usize>H * 4;
  for (let b = r0; b < r1; b++) {
    const g = ptr(plan, 12) + <usize>(b * G) * 4;
    const h = layerPtr(plan, l, 4) + <usize>(b * H) * 4;
    const rh = ptr(plan, 13) + <usize>(b * H) * 4;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const o4 = <usize>j << 2;
      v128.store(g + o4, sigmoidv(v128.load(g + o4)));
      const rv = sigmoidv(v128.load(g + rO + o4));
      v128.store(rh + o4, f32x4.mul(rv, v128.load(h + o4)));
    }
    for (; j < j1; j++) {
      const o4 = <usize>j << 2;
      store<f32>(g + o4, sigmoids(load<f32>(g + o4)));
      store<f32>(rh + o4, sigmoids(load<f32>(g + rO + o4)) * load<f32>(h + o4));
    }
  }
}

/** H~ = tanh(candidate), H = H~ + Z ⊙ (H − H~) for units [j0, j1), as gruForward computes it. */
function gruUpdate(plan: usize, l: i32, r0: i32, r1: i32, j0: i32, j1: i32): void {
  const H = word(plan, 2);
  const G = 3 * H;
  const hO = <usize>(2 * H) * 4;
  for (let b = r0; b < r1; b++) {
    const g = ptr(plan, 12) + <usize>(b * G) * 4;
    const h = layerPtr(plan, l, 4) + <usize>(b * H) * 4;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const o4 = <usize>j << 2;
      const cv = tanhv(v128.load(g + hO + o4));
      const zv = v128.load(g + o4);
      v128.store(h + o4, f32x4.add(cv, f32x4.mul(zv, f32x4.sub(v128.load(h + o4), cv))));
    }
    for (; j < j1; j++) {
      const o4 = <usize>j << 2;
      const cv = tanhs(load<f32>(g + hO + o4));
      const zv = load<f32>(g + o4);
      store<f32>(h + o4, cv + zv * (load<f32>(h + o4) - cv));
    }
  }
}
