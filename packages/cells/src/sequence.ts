/**
 * The recurrence of one layer over all time steps, one function per cell: the inputs of every step
 * arrive already projected (`xProj`, [T, B, gates*H], input bias included), the hidden states of every
 * step come out ([T, B, H]). This is the seam where a fused sequence kernel (forward and backward
 * through time in one op) can replace the many small ops below without the models noticing.
 *
 * Equations as in "Dive into Deep Learning" ch. 9; fused gate order in `xProj` and `W_h` columns:
 * GRU (z, r, h~), LSTM (i, f, o, c~), as d2l's `get_params`.
 *
 * Each function splits `xProj` into its steps once (one `unstack`, not a slice per step) and, with
 * `reverse`, walks the steps from last to first: the backward direction of a bidirectional layer
 * without reversing any tensor. Outputs stay aligned with the inputs either way: `outputs[t]` is the
 * hidden state right after step t was read.
 */

import type { LstmGateOrder } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { type FusedMode, fusedSequence, recurrenceOption, useFused } from './fused/index.js';

/** Options of `rnnSequence`, `gruSequence` and `lstmSequence`. */
export interface SequenceOptions {
  /** Run from the last step to the first (a bidirectional layer's backward direction). Default false. */
  reverse?: boolean;
  /**
   * `auto` (default): on the wasm and cpu backends the whole recurrence, and its gradient, runs as one
   * fused WebAssembly SIMD kernel (@rnnlm/kernels), and on webgpu as its WGSL version once
   * @rnnlm/backend registered it; elsewhere op by op. `fused` insists on the kernel,
   * `ops` on the op-by-op form written out below (the reference the kernel is tested against).
   */
  recurrence?: FusedMode;
}

/** Options of `lstmSequence`: those of every cell and the LSTM's gate order. */
export interface LstmSequenceOptions extends SequenceOptions {
  /** Gate blocks of W_h's columns (and xProj's): d2l's (i, f, o, c~), the default, or tfjs-layers' (i, f, c~, o). */
  gateOrder?: LstmGateOrder;
}

/** What a recurrence returns: every step's hidden state and the last one. */
export interface SequenceResult {
  /** Hidden state after each step, [T, B, H], in input order (also when `reverse` is set). */
  outputs: tf.Tensor3D;
  /** Hidden state after the last step processed (step 0 when `reverse` is set), [B, H]. */
  h: tf.Tensor2D;
}

/** What `lstmSequence` returns: a `SequenceResult` and the last memory cell. */
export interface LstmSequenceResult extends SequenceResult {
  /** Memory cell after the last step processed, [B, H]. */
  c: tf.Tensor2D;
}

/** H_t = tanh(X_t W_xh + b_h + H_{t-1} W_hh). */
export function rnnSequence(
  xProj: tf.Tensor3D,
  h0: tf.Tensor2D,
  W_hh: tf.Tensor2D,
  options: SequenceOptions = {},
): SequenceResult {
  checkShapes('rnnSequence', xProj, [h0], W_hh, 1);
  if (useFused(recurrenceOption('rnnSequence', options))) {
    return fusedSequence(xProj, { cell: 'rnn', h0, W: W_hh, reverse: options.reverse ?? false });
  }
  return tf.tidy(() => {
    let h = h0;
    const outputs = eachStep(tf.unstack(xProj) as tf.Tensor2D[], options, (x) => {
      h = tf.tanh(tf.add(x, tf.matMul(h, W_hh))) as tf.Tensor2D;
      return h;
    });
    return { outputs: tf.stack(outputs) as tf.Tensor3D, h };
  });
}

/**
 * Z = σ(X W_xz + H W_hz + b_z), R = σ(X W_xr + H W_hr + b_r),
 * H~ = tanh(X W_xh + (R ⊙ H) W_hh + b_h), H = Z ⊙ H + (1 − Z) ⊙ H~.
 * The candidate needs R ⊙ H before its matmul, so each step does two matmuls on the recurrent path:
 * one for (z, r) together, one for the candidate.
 */
export function gruSequence(
  xProj: tf.Tensor3D,
  h0: tf.Tensor2D,
  W_h: tf.Tensor2D,
  options: SequenceOptions = {},
): SequenceResult {
  checkShapes('gruSequence', xProj, [h0], W_h, 3);
  if (useFused(recurrenceOption('gruSequence', options))) {
    return fusedSequence(xProj, { cell: 'gru', h0, W: W_h, reverse: options.reverse ?? false });
  }
  return tf.tidy(() => {
    const hidden = h0.shape[1];
    const [W_hzr, W_hh] = tf.split(W_h, [2 * hidden, hidden], 1) as [tf.Tensor2D, tf.Tensor2D];
    // Split the input projection into (z, r) and candidate parts once for all steps, not per step.
    const [xzrAll, xhAll] = tf.split(xProj, [2 * hidden, hidden], 2) as [tf.Tensor3D, tf.Tensor3D];
    const xh = tf.unstack(xhAll) as tf.Tensor2D[];
    let h = h0;
    const outputs = eachStep(tf.unstack(xzrAll) as tf.Tensor2D[], options, (xzr, t) => {
      const zr = tf.sigmoid(tf.add(xzr, tf.matMul(h, W_hzr)));
      const [z, r] = tf.split(zr, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const candidate = tf.tanh(tf.add(xh[t]!, tf.matMul(tf.mul(r, h), W_hh)));
      // Z ⊙ H + (1 − Z) ⊙ H~, written as H~ + Z ⊙ (H − H~): one op fewer, same value.
      h = tf.add(candidate, tf.mul(z, tf.sub(h, candidate))) as tf.Tensor2D;
      return h;
    });
    return { outputs: tf.stack(outputs) as tf.Tensor3D, h };
  });
}

/**
 * I, F, O = σ(·), C~ = tanh(·) of X W_x + H W_h + b (one fused matmul per step),
 * C = F ⊙ C + I ⊙ C~, H = O ⊙ tanh(C).
 */
export function lstmSequence(
  xProj: tf.Tensor3D,
  h0: tf.Tensor2D,
  c0: tf.Tensor2D,
  W_h: tf.Tensor2D,
  options: LstmSequenceOptions = {},
): LstmSequenceResult {
  checkShapes('lstmSequence', xProj, [h0, c0], W_h, 4);
  const gateOrder = options.gateOrder ?? 'ifoc';
  if (gateOrder !== 'ifoc' && gateOrder !== 'ifco') {
    throw new Error(`lstmSequence: gateOrder must be 'ifoc' or 'ifco', got ${JSON.stringify(gateOrder)}`);
  }
  if (useFused(recurrenceOption('lstmSequence', options))) {
    const r = fusedSequence(xProj, {
      cell: 'lstm',
      h0,
      c0,
      W: W_h,
      reverse: options.reverse ?? false,
      gateOrder,
    });
    return { outputs: r.outputs, h: r.h, c: r.c! };
  }
  return tf.tidy(() => {
    const hidden = h0.shape[1];
    let h = h0;
    let c = c0;
    const outputs = eachStep(tf.unstack(xProj) as tf.Tensor2D[], options, (x) => {
      const gates = tf.add(x, tf.matMul(h, W_h));
      let i: tf.Tensor2D, f: tf.Tensor2D, o: tf.Tensor2D, g: tf.Tensor2D;
      if (gateOrder === 'ifoc') {
        // One split into the sigmoid gates and the candidate, one sigmoid over all three gates.
        const [ifo, cand] = tf.split(gates, [3 * hidden, hidden], 1) as [tf.Tensor2D, tf.Tensor2D];
        [i, f, o] = tf.split(tf.sigmoid(ifo), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        g = cand;
      } else {
        const [ifg, oPre] = tf.split(gates, [3 * hidden, hidden], 1) as [tf.Tensor2D, tf.Tensor2D];
        const [ip, fp, cand] = tf.split(ifg, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        [i, f, o, g] = [tf.sigmoid(ip), tf.sigmoid(fp), tf.sigmoid(oPre), cand];
      }
      c = tf.add(tf.mul(f, c), tf.mul(i, tf.tanh(g))) as tf.Tensor2D;
      h = tf.mul(o, tf.tanh(c)) as tf.Tensor2D;
      return h;
    });
    return { outputs: tf.stack(outputs) as tf.Tensor3D, h, c };
  });
}

/** Runs `step` over the steps in order (or reversed) and returns its results in input order. */
function eachStep(
  steps: tf.Tensor2D[],
  { reverse = false }: SequenceOptions,
  step: (x: tf.Tensor2D, t: number) => tf.Tensor2D,
): tf.Tensor2D[] {
  const outputs = new Array<tf.Tensor2D>(steps.length);
  for (let k = 0; k < steps.length; k++) {
    const t = reverse ? steps.length - 1 - k : k;
    outputs[t] = step(steps[t]!, t);
  }
  return outputs;
}

/** Shape errors here say which argument is wrong, instead of a matmul failing mid-sequence. */
function checkShapes(fn: string, xProj: tf.Tensor, states: tf.Tensor[], W_h: tf.Tensor, gates: number): void {
  const batch = states[0]!.shape[0]!;
  const hidden = states[0]!.shape[1]!;
  const shape = (t: tf.Tensor) => `[${t.shape.join(', ')}]`;
  const width = gates === 1 ? 'H' : `${gates}H`;
  for (const s of states) {
    if (s.rank !== 2 || s.shape[0] !== batch || s.shape[1] !== hidden) {
      throw new Error(
        `${fn}: initial states must be [B, H] and alike, got ${states.map(shape).join(' and ')}`,
      );
    }
  }
  if (
    xProj.rank !== 3 ||
    xProj.shape[0] === 0 ||
    xProj.shape[1] !== batch ||
    xProj.shape[2] !== gates * hidden
  ) {
    throw new Error(
      `${fn}: xProj must be [T >= 1, B = ${batch}, ${width} = ${gates * hidden}] (inputs of all steps, projected), got ${shape(xProj)}`,
    );
  }
  if (W_h.rank !== 2 || W_h.shape[0] !== hidden || W_h.shape[1] !== gates * hidden) {
    throw new Error(
      `${fn}: the recurrent weight must be [H = ${hidden}, ${width} = ${gates * hidden}], got ${shape(W_h)}`,
    );
  }
}
