/**
 * The per-step WGSL shaders of the fused recurrences, forward and backward through time, with the same
 * math as the WebAssembly kernels of @rnnlm/kernels (assembly/rnn.ts, gru.ts, lstm.ts): gates fused in
 * the weight's columns (LSTM blocks i, f, o, c~ at the positions of its gate order; GRU z, r, h~), the
 * inputs of every step projected beforehand (bias included), the backward direction walking the steps
 * from last to first. One invocation per (batch row b, hidden unit j).
 *
 * Forward, one buffer `work` [T, B, S] holds per step and row what the backward pass reads again:
 *   rnn  S = H:  h
 *   gru  S = 5H: z, r, h~ (activated), R ⊙ H_{t-1}, h
 *   lstm S = 6H: the four gates (activated, in the weight's column order), c, h
 * Each step's dispatch reads the previous step's h (or h0) from the same buffer: one dispatch a step
 * (two for a GRU, whose candidate needs R ⊙ H_{t-1} of every unit).
 *
 * Backward, one buffer [T*B*G + 2*B*H]: the gradients of the gates' inputs of every step (= the
 * gradient of the projected inputs), then a carry [B, H] (LSTM: dc; GRU: the direct terms of dh_{t-1})
 * and dh0 [B, H]. A step's dispatch adds the recurrent term dZ_{next} W^T of the step processed before
 * it; a last dispatch (step -1) writes dh0.
 */
import type { CellKind, LstmGateOrder } from '@rnnlm/kernels';
import { ACTIVATIONS, type Shader } from './program.js';

/** Values per step and batch row in the forward buffer, and where h sits among them, in units of H. */
export const SLOTS: Record<CellKind, { size: number; h: number; c?: number }> = {
  rnn: { size: 1, h: 0 },
  gru: { size: 5, h: 4 },
  lstm: { size: 6, h: 5, c: 4 },
};

/** Block numbers of i, f, o and c~ within an LSTM weight's 4H columns. */
function lstmBlocks(order: LstmGateOrder) {
  return order === 'ifco' ? { i: 0, f: 1, o: 3, g: 2 } : { i: 0, f: 1, o: 2, g: 3 };
}

const FORWARD_UNIFORMS = ['batch', 'hidden', 'step', 'prevStep'] as const;

/** Shared head of a forward step: b, j and the previous state's reader. */
function forwardPrelude(cell: CellKind): string {
  const { size, h } = SLOTS[cell];
  return `${ACTIVATIONS}
fn prevH(b: i32, m: i32) -> f32 {
  if (uniforms.prevStep < 0) { return h0[b * uniforms.hidden + m]; }
  return result[(uniforms.prevStep * uniforms.batch + b) * ${size} * uniforms.hidden + ${h} * uniforms.hidden + m];
}`;
}

export function rnnForwardStep(): Shader {
  return {
    key: 'rnn_fwd',
    inputs: ['xProj', 'h0', 'W'],
    uniforms: FORWARD_UNIFORMS,
    code: `${forwardPrelude('rnn')}
fn main(index: i32) {
  let H = uniforms.hidden;
  if (index >= uniforms.batch * H) { return; }
  let b = index / H;
  let j = index - b * H;
  let row = uniforms.step * uniforms.batch + b;
  var z = xProj[row * H + j];
  for (var m = 0; m < H; m++) { z += prevH(b, m) * W[m * H + j]; }
  result[row * H + j] = tanhf(z);
}`,
  };
}

export function lstmForwardStep(order: LstmGateOrder): Shader {
  const g = lstmBlocks(order);
  return {
    key: `lstm_fwd_${order}`,
    inputs: ['xProj', 'h0', 'c0', 'W'],
    uniforms: FORWARD_UNIFORMS,
    code: `${forwardPrelude('lstm')}
fn main(index: i32) {
  let H = uniforms.hidden;
  if (index >= uniforms.batch * H) { return; }
  let b = index / H;
  let j = index - b * H;
  let G = 4 * H;
  let row = uniforms.step * uniforms.batch + b;
  var zi = xProj[row * G + ${g.i} * H + j];
  var zf = xProj[row * G + ${g.f} * H + j];
  var zo = xProj[row * G + ${g.o} * H + j];
  var zg = xProj[row * G + ${g.g} * H + j];
  for (var m = 0; m < H; m++) {
    let hp = prevH(b, m);
    let w = m * G + j;
    zi += hp * W[w + ${g.i} * H];
    zf += hp * W[w + ${g.f} * H];
    zo += hp * W[w + ${g.o} * H];
    zg += hp * W[w + ${g.g} * H];
  }
  let i = sigmoidf(zi);
  let f = sigmoidf(zf);
  let o = sigmoidf(zo);
  let gc = tanhf(zg);
  var cp: f32;
  if (uniforms.prevStep < 0) { cp = c0[index]; } else { cp = result[(uniforms.prevStep * uniforms.batch + b) * 6 * H + 4 * H + j]; }
  let c = f * cp + i * gc;
  let base = row * 6 * H;
  result[base + ${g.i} * H + j] = i;
  result[base + ${g.f} * H + j] = f;
  result[base + ${g.o} * H + j] = o;
  result[base + ${g.g} * H + j] = gc;
  result[base + 4 * H + j] = c;
  result[base + 5 * H + j] = o * tanhf(c);
}`,
  };
}

/** GRU step, first half: the update and reset gates, and R ⊙ H_{t-1}. */
export function gruForwardGates(): Shader {
  return {
    key: 'gru_fwd_gates',
    inputs: ['xProj', 'h0', 'W'],
    uniforms: FORWARD_UNIFORMS,
    code: `${forwardPrelude('gru')}
fn main(index: i32) {
  let H = uniforms.hidden;
  if (index >= uniforms.batch * H) { return; }
  let b = index / H;
  let j = index - b * H;
  let G = 3 * H;
  let row = uniforms.step * uniforms.batch + b;
  var zz = xProj[row * G + j];
  var zr = xProj[row * G + H + j];
  for (var m = 0; m < H; m++) {
    let hp = prevH(b, m);
    zz += hp * W[m * G + j];
    zr += hp * W[m * G + H + j];
  }
  let r = sigmoidf(zr);
  let base = row * 5 * H;
  result[base + j] = sigmoidf(zz);
  result[base + H + j] = r;
  result[base + 3 * H + j] = r * prevH(b, j);
}`,
  };
}

/** GRU step, second half: the candidate from R ⊙ H_{t-1} of every unit, then h. */
export function gruForwardState(): Shader {
  return {
    key: 'gru_fwd_state',
    inputs: ['xProj', 'h0', 'W'],
    uniforms: FORWARD_UNIFORMS,
    code: `${forwardPrelude('gru')}
fn main(index: i32) {
  let H = uniforms.hidden;
  if (index >= uniforms.batch * H) { return; }
  let b = index / H;
  let j = index - b * H;
  let G = 3 * H;
  let row = uniforms.step * uniforms.batch + b;
  let base = row * 5 * H;
  var zc = xProj[row * G + 2 * H + j];
  for (var m = 0; m < H; m++) { zc += result[base + 3 * H + m] * W[m * G + 2 * H + j]; }
  let hc = tanhf(zc);
  let z = result[base + j];
  result[base + 2 * H + j] = hc;
  // Z ⊙ H + (1 − Z) ⊙ H~ as H~ + Z ⊙ (H − H~), as the other forms write it.
  result[base + 4 * H + j] = hc + z * (prevH(b, j) - hc);
}`,
  };
}

const BACKWARD_UNIFORMS = ['steps', 'batch', 'hidden', 'step', 'prevStep', 'nextStep'] as const;

/**
 * Shared head of a backward step: `recurrent(b, j, k0, k1)` = sum over k in [k0, k1) of
 * dZ_{next}[b, k] W[j, k], the gradient reaching h_t through the step that read it.
 */
function backwardPrelude(gates: number): string {
  return `${ACTIVATIONS}
fn recurrent(b: i32, j: i32, k0: i32, k1: i32) -> f32 {
  let G = ${gates} * uniforms.hidden;
  let row = (uniforms.nextStep * uniforms.batch + b) * G;
  var s = 0.0;
  for (var k = k0; k < k1; k++) { s += result[row + k] * WT[k * uniforms.hidden + j]; }
  return s;
}
fn tail() -> i32 { return uniforms.steps * uniforms.batch * ${gates} * uniforms.hidden; }`;
}

export function rnnBackwardStep(): Shader {
  return {
    key: 'rnn_bwd',
    inputs: ['work', 'WT', 'dOut', 'dhT'],
    uniforms: BACKWARD_UNIFORMS,
    code: `${backwardPrelude(1)}
fn main(index: i32) {
  let H = uniforms.hidden;
  if (index >= uniforms.batch * H) { return; }
  let b = index / H;
  let j = index - b * H;
  if (uniforms.step < 0) { result[tail() + uniforms.batch * H + index] = recurrent(b, j, 0, H); return; }
  let row = uniforms.step * uniforms.batch + b;
  var dh = dOut[row * H + j];
  if (uniforms.nextStep < 0) { dh += dhT[index]; } else { dh += recurrent(b, j, 0, H); }
  let h = work[row * H + j];
  result[row * H + j] = dh * (1.0 - h * h);
}`,
  };
}

export function lstmBackwardStep(order: LstmGateOrder): Shader {
  const g = lstmBlocks(order);
  return {
    key: `lstm_bwd_${order}`,
    inputs: ['work', 'WT', 'dOut', 'dhT', 'dcT', 'c0'],
    uniforms: BACKWARD_UNIFORMS,
    code: `${backwardPrelude(4)}
fn main(index: i32) {
  let H = uniforms.hidden;
  if (index >= uniforms.batch * H) { return; }
  let b = index / H;
  let j = index - b * H;
  let G = 4 * H;
  if (uniforms.step < 0) { result[tail() + uniforms.batch * H + index] = recurrent(b, j, 0, G); return; }
  let row = uniforms.step * uniforms.batch + b;
  var dh = dOut[row * H + j];
  var dcIn: f32;
  if (uniforms.nextStep < 0) { dh += dhT[index]; dcIn = dcT[index]; }
  else { dh += recurrent(b, j, 0, G); dcIn = result[tail() + index]; }
  let base = row * 6 * H;
  let i = work[base + ${g.i} * H + j];
  let f = work[base + ${g.f} * H + j];
  let o = work[base + ${g.o} * H + j];
  let gc = work[base + ${g.g} * H + j];
  let tc = tanhf(work[base + 4 * H + j]);
  var cp: f32;
  if (uniforms.prevStep < 0) { cp = c0[index]; } else { cp = work[(uniforms.prevStep * uniforms.batch + b) * 6 * H + 4 * H + j]; }
  let dc = dcIn + dh * o * (1.0 - tc * tc);
  let d = row * G;
  result[d + ${g.o} * H + j] = dh * tc * (o * (1.0 - o));
  result[d + ${g.i} * H + j] = dc * gc * (i * (1.0 - i));
  result[d + ${g.f} * H + j] = dc * cp * (f * (1.0 - f));
  result[d + ${g.g} * H + j] = dc * i * (1.0 - gc * gc);
  result[tail() + index] = dc * f;
}`,
  };
}

/**
 * GRU backward step, first half: dh_t (output gradient, plus the carry and [dZ_z, dZ_r]_{next} W_zr^T),
 * then the gradients of the update gate's and the candidate's inputs; the carry becomes dh_t ⊙ Z.
 */
export function gruBackwardGates(): Shader {
  return {
    key: 'gru_bwd_gates',
    inputs: ['work', 'WT', 'dOut', 'dhT', 'h0'],
    uniforms: BACKWARD_UNIFORMS,
    code: `${backwardPrelude(3)}
fn prevH(b: i32, j: i32) -> f32 {
  if (uniforms.prevStep < 0) { return h0[b * uniforms.hidden + j]; }
  return work[(uniforms.prevStep * uniforms.batch + b) * 5 * uniforms.hidden + 4 * uniforms.hidden + j];
}
fn main(index: i32) {
  let H = uniforms.hidden;
  if (index >= uniforms.batch * H) { return; }
  let b = index / H;
  let j = index - b * H;
  if (uniforms.step < 0) {
    result[tail() + uniforms.batch * H + index] = result[tail() + index] + recurrent(b, j, 0, 2 * H);
    return;
  }
  let row = uniforms.step * uniforms.batch + b;
  var dh = dOut[row * H + j];
  if (uniforms.nextStep < 0) { dh += dhT[index]; } else { dh += result[tail() + index] + recurrent(b, j, 0, 2 * H); }
  let base = row * 5 * H;
  let z = work[base + j];
  let hc = work[base + 2 * H + j];
  let d = row * 3 * H;
  result[d + 2 * H + j] = dh * (1.0 - z) * (1.0 - hc * hc);
  result[d + j] = dh * (prevH(b, j) - hc) * (z * (1.0 - z));
  result[tail() + index] = dh * z;
}`,
  };
}

/**
 * GRU backward step, second half: d(R ⊙ H_{t-1}) = dZ_h~ W_hh^T, then the reset gate's input gradient
 * and its term of dh_{t-1} (into the carry).
 */
export function gruBackwardReset(): Shader {
  return {
    key: 'gru_bwd_reset',
    inputs: ['work', 'WT', 'h0'],
    uniforms: BACKWARD_UNIFORMS,
    code: `${ACTIVATIONS}
fn main(index: i32) {
  let H = uniforms.hidden;
  if (index >= uniforms.batch * H) { return; }
  let b = index / H;
  let j = index - b * H;
  let G = 3 * H;
  let row = uniforms.step * uniforms.batch + b;
  let d = row * G;
  var drh = 0.0;
  for (var k = 0; k < H; k++) { drh += result[d + 2 * H + k] * WT[(2 * H + k) * H + j]; }
  var hp: f32;
  if (uniforms.prevStep < 0) { hp = h0[index]; } else { hp = work[(uniforms.prevStep * uniforms.batch + b) * 5 * H + 4 * H + j]; }
  let r = work[row * 5 * H + H + j];
  result[d + H + j] = drh * hp * (r * (1.0 - r));
  let t = uniforms.steps * uniforms.batch * G;
  result[t + index] = result[t + index] + drh * r;
}`,
  };
}

/**
 * The state each step read, per step and row: h_{t-1} (h0 for the first step processed), and for a GRU
 * also R ⊙ H_{t-1} beside it ([T*B, 2H]): the A operand of the recurrent weight's gradient, A^T dZ,
 * which tfjs's tiled matmul then computes.
 */
export function previousStates(cell: CellKind): Shader {
  const { size, h } = SLOTS[cell];
  const width = cell === 'gru' ? 2 : 1;
  return {
    key: `previous_states_${cell}`,
    inputs: ['work', 'h0'],
    uniforms: ['steps', 'batch', 'hidden', 'reverse'],
    code: `
fn main(index: i32) {
  let H = uniforms.hidden;
  let B = uniforms.batch;
  let T = uniforms.steps;
  let A = ${width} * H;
  if (index >= T * B * A) { return; }
  let row = index / A;
  let m = index - row * A;
  let t = row / B;
  let b = row - t * B;
  var p = t - 1;
  if (uniforms.reverse != 0) { p = t + 1; }
  if (m >= H) { result[index] = work[row * ${size} * H + 3 * H + m - H]; }
  else if (p < 0 || p >= T) { result[index] = h0[b * H + m]; }
  else { result[index] = work[(p * B + b) * ${size} * H + ${h} * H + m]; }
}`,
  };
}

/**
 * A GRU's dW [H, 3H] out of M = [H_{t-1} | R ⊙ H_{t-1}]^T dZ [2H, 3H]: the gates' columns from M's top
 * half, the candidate's from its bottom half.
 */
export const GRU_WEIGHT_GRAD: Shader = {
  key: 'gru_weight_grad',
  inputs: ['M'],
  uniforms: ['hidden'],
  code: `
fn main(index: i32) {
  let H = uniforms.hidden;
  if (index >= 3 * H * H) { return; }
  let m = index / (3 * H);
  let k = index - m * 3 * H;
  if (k < 2 * H) { result[index] = M[index]; } else { result[index] = M[(H + m) * 3 * H + k]; }
}`,
};

/** xProj [T*B, G] = rows of Wx picked by token id, plus b: a layer's input from one-hot tokens. */
export const GATHER_BIAS: Shader = {
  key: 'gather_bias',
  inputs: ['Wx', 'ids', 'bias'],
  uniforms: ['rows', 'cols'],
  code: `
fn main(index: i32) {
  if (index >= uniforms.rows * uniforms.cols) { return; }
  let r = index / uniforms.cols;
  let k = index - r * uniforms.cols;
  result[index] = Wx[ids[r] * uniforms.cols + k] + bias[k];
}`,
};
