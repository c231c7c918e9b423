/**
 * The efficient scratch form against the notebooks' literal form, written here independently: one-hot
 * inputs, one matmul per gate and per step, a Python-style loop over steps.
 */

import type { CellKind } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { LanguageModel, ModelConfig } from './model.js';
import { createScratchModel } from './scratch-model.js';

function weights(model: LanguageModel): Map<string, tf.Tensor> {
  return new Map(model.weightNames.map((name, i) => [name, model.variables[i]!]));
}

/** Splits a fused [in, gates*H] weight (or [gates*H] bias) into its gates, in column order. */
function gates(w: tf.Tensor, count: number): tf.Tensor[] {
  return tf.split(w, count, w.rank - 1);
}

interface LiteralDirection {
  run(xs: tf.Tensor2D[], state: tf.Tensor2D[]): { outputs: tf.Tensor2D[]; state: tf.Tensor2D[] };
}

function literalDirection(cell: CellKind, w: Map<string, tf.Tensor>, prefix: string): LiteralDirection {
  if (cell === 'rnn') {
    const [W_xh, W_hh, b_h] = ['W_xh', 'W_hh', 'b_h'].map((n) => w.get(`${prefix}/${n}`)!);
    return {
      run(xs, [H0]) {
        let H = H0!;
        const outputs = xs.map((X) => {
          H = tf.tanh(tf.add(tf.add(tf.matMul(X, W_xh!), tf.matMul(H, W_hh!)), b_h!)) as tf.Tensor2D;
          return H;
        });
        return { outputs, state: [H] };
      },
    };
  }
  if (cell === 'gru') {
    const [W_xz, W_xr, W_xh] = gates(w.get(`${prefix}/W_x`)!, 3);
    const [W_hz, W_hr, W_hh] = gates(w.get(`${prefix}/W_h`)!, 3);
    const [b_z, b_r, b_h] = gates(w.get(`${prefix}/b`)!, 3);
    return {
      run(xs, [H0]) {
        let H = H0!;
        const outputs = xs.map((X) => {
          const Z = tf.sigmoid(tf.add(tf.add(tf.matMul(X, W_xz!), tf.matMul(H, W_hz!)), b_z!));
          const R = tf.sigmoid(tf.add(tf.add(tf.matMul(X, W_xr!), tf.matMul(H, W_hr!)), b_r!));
          const H_tilda = tf.tanh(tf.add(tf.add(tf.matMul(X, W_xh!), tf.matMul(tf.mul(R, H), W_hh!)), b_h!));
          H = tf.add(tf.mul(Z, H), tf.mul(tf.sub(1, Z), H_tilda)) as tf.Tensor2D;
          return H;
        });
        return { outputs, state: [H] };
      },
    };
  }
  const [W_xi, W_xf, W_xo, W_xc] = gates(w.get(`${prefix}/W_x`)!, 4);
  const [W_hi, W_hf, W_ho, W_hc] = gates(w.get(`${prefix}/W_h`)!, 4);
  const [b_i, b_f, b_o, b_c] = gates(w.get(`${prefix}/b`)!, 4);
  return {
    run(xs, [H0, C0]) {
      let H = H0!;
      let C = C0!;
      const outputs = xs.map((X) => {
        const I = tf.sigmoid(tf.add(tf.add(tf.matMul(X, W_xi!), tf.matMul(H, W_hi!)), b_i!));
        const F = tf.sigmoid(tf.add(tf.add(tf.matMul(X, W_xf!), tf.matMul(H, W_hf!)), b_f!));
        const O = tf.sigmoid(tf.add(tf.add(tf.matMul(X, W_xo!), tf.matMul(H, W_ho!)), b_o!));
        const C_tilda = tf.tanh(tf.add(tf.add(tf.matMul(X, W_xc!), tf.matMul(H, W_hc!)), b_c!));
        C = tf.add(tf.mul(F, C), tf.mul(I, C_tilda)) as tf.Tensor2D;
        H = tf.mul(O, tf.tanh(C)) as tf.Tensor2D;
        return H;
      });
      return { outputs, state: [H, C] };
    },
  };
}

/** The literal model: inputs one-hot, per-step list of [B, V] as in the notebooks (`X.T` then one_hot). */
function literalForward(model: LanguageModel, ids: number[][], state: tf.Tensor2D[]) {
  const { cell, vocabSize, layers, bidirectional } = model.config;
  const w = weights(model);
  const steps = ids[0]!.length;
  let xs: tf.Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    xs.push(
      tf.cast(
        tf.oneHot(
          tf.tensor1d(
            ids.map((row) => row[t]!),
            'int32',
          ),
          vocabSize,
        ),
        'float32',
      ) as tf.Tensor2D,
    );
  }
  const per = cell === 'lstm' ? 2 : 1;
  const finalState: tf.Tensor2D[] = [];
  let s = 0;
  for (let l = 0; l < layers; l++) {
    const fwd = literalDirection(cell, w, `layer${l}/forward`).run(xs, state.slice(s, s + per));
    s += per;
    finalState.push(...fwd.state);
    if (!bidirectional) {
      xs = fwd.outputs;
      continue;
    }
    const bwd = literalDirection(cell, w, `layer${l}/backward`).run(
      [...xs].reverse(),
      state.slice(s, s + per),
    );
    s += per;
    finalState.push(...bwd.state);
    const bwdOutputs = [...bwd.outputs].reverse();
    xs = fwd.outputs.map((h, t) => tf.concat([h, bwdOutputs[t]!], 1));
  }
  const W_hq = w.get('head/W_hq')!;
  const b_q = w.get('head/b_q')!;
  const logits = tf.concat(
    xs.map((H) => tf.add(tf.matMul(H, W_hq), b_q)),
    0,
  );
  return { logits, state: finalState };
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
}

// Both forms of the efficient model: the fused kernel (what runs on wasm and cpu) and the op-by-op one.
const cases: Array<[CellKind, number, boolean, 'ops' | 'fused']> = [];
for (const recurrence of ['ops', 'fused'] as const)
  for (const cell of ['rnn', 'gru', 'lstm'] as const)
    for (const layers of [1, 2])
      for (const bidirectional of [false, true]) cases.push([cell, layers, bidirectional, recurrence]);

describe('scratch models equal the literal notebook form', () => {
  it.each(cases)(
    '%s, %i layer(s), bidirectional %s, recurrence %s',
    (cell, layers, bidirectional, recurrence) => {
      const config: ModelConfig = { impl: 'scratch', cell, vocabSize: 7, hidden: 5, layers, bidirectional };
      const model = createScratchModel(config, { seed: 11, recurrence });
      // Larger weights than the 0.01 init, so that every gate and nonlinearity really matters.
      for (const [i, v] of model.variables.entries()) {
        tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 3 + i)));
      }
      const ids = [
        [1, 4, 6, 0],
        [3, 3, 2, 5],
        [6, 0, 1, 2],
      ];
      tf.tidy(() => {
        const per = cell === 'lstm' ? 2 : 1;
        const count = layers * (bidirectional ? 2 : 1) * per;
        const state = Array.from(
          { length: count },
          (_, i) => tf.randomNormal([3, 5], 0, 0.5, 'float32', 100 + i) as tf.Tensor2D,
        );
        const fast = model.forward(tf.tensor2d(ids, [3, 4], 'int32'), state);
        const slow = literalForward(model, ids, state);
        const logitDiff = maxAbsDiff(fast.logits, slow.logits);
        const stateDiff = Math.max(...fast.state.map((t, i) => maxAbsDiff(t, slow.state[i]!)));
        console.log(
          `literal vs efficient (${recurrence}) ${cell} layers=${layers} bidir=${bidirectional}: logits ${logitDiff.toExponential(2)}, state ${stateDiff.toExponential(2)}`,
        );
        expect(logitDiff).toBeLessThan(1e-5);
        expect(stateDiff).toBeLessThan(1e-5);
        // A sanity check that the comparison is not vacuous: the logits do depend on the inputs.
        expect(tf.max(tf.abs(fast.logits)).dataSync()[0]).toBeGreaterThan(1e-2);
      });
      model.dispose();
    },
  );
});
