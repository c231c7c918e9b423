// The layers models' fused path on tfjs's webgpu backend (the WGSL kernels @rnnlm/backend registers
// there), in Node on this machine's adapter (SwiftShader's, on the CPU, where there is no GPU): logits,
// final states and every gradient equal the same model's fused path on cpu (the host kernels), for
// every cell, stacked and bidirectional, with an embedding and with dropout. Outside CI a machine with
// no adapter skips, saying why; in CI that fails. Shapes are tiny: SwiftShader is slow.
import { keptStepBuffers } from '@rnnlm/backend';
import { needAdapter, startWebgpu } from '@rnnlm/backend/testing';
import type { CellKind, ForwardMode, ModelConfig } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLayersModel } from './layers-model.js';
import { randomizeWeights } from './test-utils/helpers.js';

let unavailable: string | null = null;
beforeAll(async () => {
  unavailable = await startWebgpu();
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

const ids = [
  [1, 4, 6, 0],
  [3, 3, 2, 5],
];

/** Logits, final state and every weight's gradient, as arrays, of the fused model on the active backend. */
async function fusedRun(config: ModelConfig, mode: ForwardMode): Promise<Float32Array[]> {
  const model = createLayersModel(config, { seed: 5, recurrence: 'fused' });
  randomizeWeights(model, 40);
  const state = tf.tidy(() =>
    model
      .beginState(2)
      .map((s, i) => tf.keep(tf.randomNormal(s.shape, 0, 0.5, 'float32', 60 + i)) as tf.Tensor2D),
  );
  const kept: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(tf.tensor2d(ids, [2, 4], 'int32'), state, mode);
    kept.push(tf.keep(out.logits), ...out.state.map((s) => tf.keep(s)));
    const stateTerms = out.state.map((s, i) =>
      tf.sum(tf.mul(s, tf.randomNormal(s.shape, 0, 1, 'float32', 20 + i))),
    );
    const weights = tf.randomNormal(out.logits.shape, 0, 1, 'float32', 7);
    return tf.addN([tf.sum(tf.mul(out.logits, weights)), ...stateTerms]) as tf.Scalar;
  }, model.variables);
  const results = [...kept, ...model.variables.map((v) => grads[v.name]!)];
  const arrays = await Promise.all(results.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([value, ...results, ...state]);
  model.dispose();
  return arrays;
}

const cases: Array<[CellKind, number, boolean, Partial<ModelConfig>, ForwardMode]> = [];
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  cases.push([cell, 1, false, {}, { training: false }], [cell, 2, true, {}, { training: false }]);
}
cases.push(
  ['lstm', 2, false, { embedding: 3 }, { training: false }],
  ['gru', 2, false, { dropout: 0.3 }, { training: true, maskSeed: 9 }],
);

describe('the layers models fused on webgpu', () => {
  it.for(cases)(
    '%s, %i layer(s), bidirectional %s, %o, %o: logits, states and every gradient equal the host kernels on cpu',
    async ([cell, layers, bidirectional, extra, mode], context) => {
      needAdapter(context, unavailable);
      const config: ModelConfig = {
        impl: 'layers',
        cell,
        vocabSize: 7,
        hidden: 4,
        layers,
        bidirectional,
        ...extra,
      };
      expect(await tf.setBackend('cpu')).toBe(true);
      const expected = await fusedRun(config, mode);
      expect(await tf.setBackend('webgpu')).toBe(true);
      const before = tf.memory().numTensors;
      const actual = await fusedRun(config, mode);
      let diff = 0;
      expect(actual.length).toBe(expected.length);
      for (const [i, a] of actual.entries()) {
        expect(a.length).toBe(expected[i]!.length);
        for (const [j, v] of a.entries()) diff = Math.max(diff, Math.abs(v - expected[i]![j]!));
      }
      console.log(
        `layers, webgpu vs cpu, fused, ${cell} layers=${layers} bidir=${bidirectional}: ${diff.toExponential(2)}`,
      );
      expect(diff).toBeLessThan(1e-4);
      // Not vacuous: the gradients are far from zero.
      expect(Math.max(...expected.slice(-3).flatMap((g) => Array.from(g, Math.abs)))).toBeGreaterThan(0.1);
      expect(tf.memory().numTensors).toBe(before);
      expect(keptStepBuffers()).toBe(0);
    },
  );
});
