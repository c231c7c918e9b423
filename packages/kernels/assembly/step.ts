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
// state after it. Rows of the batch are independent, so threads share them in groups of 4.

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
  const V = word(plan, 3);
  const G = (cell == 2 ? 4 : cell == 1 ? 3 : 1) * H;
  const table = ptr(plan, 8);
  const gates = ptr(plan, 12);
  const rowG = <usize>G * 4;
  for (let l = 0; l < L; l++) {
    const at = 16 + 8 * l;
    const bias = ptr(plan, at + 3);
    const h = ptr(plan, at + 4);
    // The gates' inputs: bias plus the input's contribution.
    for (let b = r0; b < r1; b++) {
      const g = gates + <usize>b * rowG;
      if (l == 0) addVectors(g, table + <usize>load<i32>(ids + (<usize>b << 2)) * rowG, bias, G);
      else copyVector(g, bias, G);
    }
    if (l > 0) product(ptr(plan, 16 + 8 * (l - 1) + 4), H, ptr(plan, at), H, G, gates, G, r0, r1);
    if (cell == 2) {
      product(h, H, ptr(plan, at + 1), H, G, gates, G, r0, r1);
      lstmUpdate(plan, gates, h, ptr(plan, at + 5), H, r0, r1);
    } else if (cell == 1) {
      product(h, H, ptr(plan, at + 1), H, 2 * H, gates, G, r0, r1);
      const rh = ptr(plan, 13);
      gruReset(gates, h, rh, H, r0, r1);
      product(rh, H, ptr(plan, at + 2), H, H, gates + <usize>(2 * H) * 4, G, r0, r1);
      gruUpdate(gates, h, H, r0, r1);
    } else {
      product(h, H, ptr(plan, at + 1), H, G, gates, G, r0, r1);
      for (let b = r0; b < r1; b++) tanhInto(h + <usize>(b * H) * 4, gates + <usize>b * rowG, H);
    }
  }
  const top = ptr(plan, 16 + 8 * (L - 1) + 4);
  const logits = ptr(plan, 11);
  for (let b = r0; b < r1; b++) copyVector(logits + <usize>(b * V) * 4, ptr(plan, 10), V);
  product(top, H, ptr(plan, 9), H, V, logits, V, r0, r1);
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

/** h = tanh(g) for one row. */
function tanhInto(h: usize, g: usize, H: i32): void {
  let j = 0;
  for (; j + 4 <= H; j += 4) {
    const o = <usize>j << 2;
    v128.store(h + o, tanhv(v128.load(g + o)));
  }
  for (; j < H; j++) {
    const o = <usize>j << 2;
    store<f32>(h + o, tanhs(load<f32>(g + o)));
  }
}

/** c = f ⊙ c + i ⊙ c~, h = o ⊙ tanh(c), as lstmForward computes them. */
function lstmUpdate(plan: usize, gates: usize, hbuf: usize, cbuf: usize, H: i32, r0: i32, r1: i32): void {
  const G = 4 * H;
  const iO = <usize>(word(plan, 4) * H) * 4, fO = <usize>(word(plan, 5) * H) * 4;
  const oO = <usize>(word(plan, 6) * H) * 4, gO = <usize>(word(plan, 7) * H) * 4;
  for (let b = r0; b < r1; b++) {
    const g = gates + <usize>(b * G) * 4;
    const h = hbuf + <usize>(b * H) * 4;
    const c = cbuf + <usize>(b * H) * 4;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o4 = <usize>j << 2;
      const iv = sigmoidv(v128.load(g + iO + o4));
      const fv = sigmoidv(v128.load(g + fO + o4));
      const ov = sigmoidv(v128.load(g + oO + o4));
      const gv = tanhv(v128.load(g + gO + o4));
      const cv = f32x4.add(f32x4.mul(fv, v128.load(c + o4)), f32x4.mul(iv, gv));
      v128.store(c + o4, cv);
      v128.store(h + o4, f32x4.mul(ov, tanhv(cv)));
    }
    for (; j < H; j++) {
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

/** Z and R through the sigmoid (in place), and R ⊙ H into rh. */
function gruReset(gates: usize, hbuf: usize, rhbuf: usize, H: i32, r0: i32, r1: i32): void {
  const G = 3 * H;
  for (let b = r0; b < r1; b++) {
    const g = gates + <usize>(b * G) * 4;
    const h = hbuf + <usize>(b * H) * 4;
    const rh = rhbuf + <usize>(b * H) * 4;
    const rO = <usize>H * 4;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o4 = <usize>j << 2;
      v128.store(g + o4, sigmoidv(v128.load(g + o4)));
      const rv = sigmoidv(v128.load(g + rO + o4));
      v128.store(rh + o4, f32x4.mul(rv, v128.load(h + o4)));
    }
    for (; j < H; j++) {
      const o4 = <usize>j << 2;
      store<f32>(g + o4, sigmoids(load<f32>(g + o4)));
      store<f32>(rh + o4, sigmoids(load<f32>(g + rO + o4)) * load<f32>(h + o4));
    }
  }
}

/** H~ = tanh(candidate), H = H~ + Z ⊙ (H − H~), as gruForward computes it. */
function gruUpdate(gates: usize, hbuf: usize, H: i32, r0: i32, r1: i32): void {
  const G = 3 * H;
  for (let b = r0; b < r1; b++) {
    const g = gates + <usize>(b * G) * 4;
    const h = hbuf + <usize>(b * H) * 4;
    const hO = <usize>(2 * H) * 4;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const o4 = <usize>j << 2;
      const cv = tanhv(v128.load(g + hO + o4));
      const zv = v128.load(g + o4);
      v128.store(h + o4, f32x4.add(cv, f32x4.mul(zv, f32x4.sub(v128.load(h + o4), cv))));
    }
    for (; j < H; j++) {
      const o4 = <usize>j << 2;
      const cv = tanhs(load<f32>(g + hO + o4));
      const zv = load<f32>(g + o4);
      store<f32>(h + o4, cv + zv * (load<f32>(h + o4) - cv));
    }
  }
}
