/**
 * The recurrence of one layer over all time steps, one function per cell: the inputs of every step
 * arrive already projected (`xProj`, [T, B, gates*H], input bias included), the hidden states of every
 * step come out ([T, B, H]). This is the seam where a fused sequence kernel (forward and backward
 * through time in one op) can replace the many small ops below without the models noticing.
 *
 * Equations as in "Dive into Deep Learning" ch. 9; fused gate order in `xProj` and `W_h` columns:
 * GRU (z, r, h~), LSTM (i, f, o, c~), as d2l's `get_params`.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface SequenceResult {
  /** Hidden state of every step, [T, B, H]. */
  outputs: tf.Tensor3D;
  /** Hidden state after the last step, [B, H]. */
  h: tf.Tensor2D;
}

export interface LstmSequenceResult extends SequenceResult {
  /** Memory cell after the last step, [B, H]. */
  c: tf.Tensor2D;
}

/** H_t = tanh(X_t W_xh + b_h + H_{t-1} W_hh). */
export function rnnSequence(xProj: tf.Tensor3D, h0: tf.Tensor2D, W_hh: tf.Tensor2D): SequenceResult {
  return tf.tidy(() => {
    const steps = tf.unstack(xProj) as tf.Tensor2D[];
    let h = h0;
    const outputs: tf.Tensor2D[] = [];
    for (const x of steps) {
      h = tf.tanh(tf.add(x, tf.matMul(h, W_hh))) as tf.Tensor2D;
      outputs.push(h);
    }
    return { outputs: tf.stack(outputs) as tf.Tensor3D, h };
  });
}

/**
 * Z = σ(X W_xz + H W_hz + b_z), R = σ(X W_xr + H W_hr + b_r),
 * H~ = tanh(X W_xh + (R ⊙ H) W_hh + b_h), H = Z ⊙ H + (1 − Z) ⊙ H~.
 * The candidate needs R ⊙ H before its matmul, so each step does two matmuls on the recurrent path:
 * one for (z, r) together, one for the candidate.
 */
export function gruSequence(xProj: tf.Tensor3D, h0: tf.Tensor2D, W_h: tf.Tensor2D): SequenceResult {
  return tf.tidy(() => {
    const hidden = h0.shape[1];
    const [W_hzr, W_hh] = tf.split(W_h, [2 * hidden, hidden], 1) as [tf.Tensor2D, tf.Tensor2D];
    const steps = tf.unstack(xProj) as tf.Tensor2D[];
    let h = h0;
    const outputs: tf.Tensor2D[] = [];
    for (const x of steps) {
      const [xzr, xh] = tf.split(x, [2 * hidden, hidden], 1) as [tf.Tensor2D, tf.Tensor2D];
      const zr = tf.sigmoid(tf.add(xzr, tf.matMul(h, W_hzr)));
      const [z, r] = tf.split(zr, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const candidate = tf.tanh(tf.add(xh, tf.matMul(tf.mul(r, h), W_hh)));
      // Z ⊙ H + (1 − Z) ⊙ H~, written as H~ + Z ⊙ (H − H~): one op fewer, same value.
      h = tf.add(candidate, tf.mul(z, tf.sub(h, candidate))) as tf.Tensor2D;
      outputs.push(h);
    }
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
): LstmSequenceResult {
  return tf.tidy(() => {
    const hidden = h0.shape[1];
    const steps = tf.unstack(xProj) as tf.Tensor2D[];
    let h = h0;
    let c = c0;
    const outputs: tf.Tensor2D[] = [];
    for (const x of steps) {
      const gates = tf.add(x, tf.matMul(h, W_h));
      const [ifo, g] = tf.split(gates, [3 * hidden, hidden], 1) as [tf.Tensor2D, tf.Tensor2D];
      const [i, f, o] = tf.split(tf.sigmoid(ifo), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      c = tf.add(tf.mul(f, c), tf.mul(i, tf.tanh(g))) as tf.Tensor2D;
      h = tf.mul(o, tf.tanh(c)) as tf.Tensor2D;
      outputs.push(h);
    }
    return { outputs: tf.stack(outputs) as tf.Tensor3D, h, c };
  });
}
