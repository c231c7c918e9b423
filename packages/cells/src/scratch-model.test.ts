import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { validateModelConfig } from './config.js';
import { assertIdsInRange } from './ids.js';
import type { CellKind, LanguageModel, ModelConfig, State } from './model.js';
import { createScratchModel } from './scratch-model.js';

const config = (cell: CellKind, extra: Partial<ModelConfig> = {}): ModelConfig => ({
  impl: 'scratch',
  cell,
  vocabSize: 6,
  hidden: 4,
  layers: 1,
  bidirectional: false,
  ...extra,
});

const ids = () =>
  tf.tensor2d(
    [
      [1, 2, 3],
      [4, 5, 0],
    ],
    [2, 3],
    'int32',
  );
const labels = () => tf.tensor1d([1, 4, 2, 5, 3, 0], 'int32'); // time-major, like Y.T.reshape(-1)

/** Mean cross-entropy of the model's time-major logits, from the state given. */
function loss(model: LanguageModel, state: State): tf.Scalar {
  const { logits } = model.forward(ids(), state);
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels(), model.config.vocabSize), logits) as tf.Scalar;
}

describe('createScratchModel', () => {
  it('gives logits [T*B, V] and a state of the documented layout', () => {
    const model = createScratchModel(config('lstm', { layers: 2, bidirectional: true }), { seed: 1 });
    tf.tidy(() => {
      const out = model.forward(ids(), model.beginState(2));
      expect(out.logits.shape).toEqual([6, 6]);
      expect(out.state).toHaveLength(2 * 2 * 2);
      for (const t of out.state) expect(t.shape).toEqual([2, 4]);
    });
    expect(model.weightNames).toEqual([
      'layer0/forward/W_x',
      'layer0/forward/W_h',
      'layer0/forward/b',
      'layer0/backward/W_x',
      'layer0/backward/W_h',
      'layer0/backward/b',
      'layer1/forward/W_x',
      'layer1/forward/W_h',
      'layer1/forward/b',
      'layer1/backward/W_x',
      'layer1/backward/W_h',
      'layer1/backward/b',
      'head/W_hq',
      'head/b_q',
    ]);
    expect(model.variables.map((v) => v.shape)).toEqual([
      [6, 16],
      [4, 16],
      [16],
      [6, 16],
      [4, 16],
      [16],
      [8, 16],
      [4, 16],
      [16],
      [8, 16],
      [4, 16],
      [16],
      [8, 6],
      [6],
    ]);
    model.dispose();
  });

  it('initialises like the notebooks (normal x 0.01, zero biases) and repeats for a seed', () => {
    const a = createScratchModel(config('gru'), { seed: 5 });
    const b = createScratchModel(config('gru'), { seed: 5 });
    const c = createScratchModel(config('gru'), { seed: 6 });
    a.variables.forEach((v, i) => {
      expect(Array.from(v.dataSync())).toEqual(Array.from(b.variables[i]!.dataSync()));
      const values = Array.from(v.dataSync());
      if (a.weightNames[i]!.includes('/b')) expect(values.every((x) => x === 0)).toBe(true);
      else {
        const std = Math.sqrt(values.reduce((s, x) => s + x * x, 0) / values.length);
        expect(std).toBeGreaterThan(0.004);
        expect(std).toBeLessThan(0.02);
      }
    });
    expect(Array.from(c.variables[0]!.dataSync())).not.toEqual(Array.from(a.variables[0]!.dataSync()));
    for (const m of [a, b, c]) m.dispose();
  });

  it('carries state: two halves of a sequence give what the whole gives', () => {
    const model = createScratchModel(config('lstm', { layers: 2 }), { seed: 2 });
    for (const [i, v] of model.variables.entries()) {
      tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', i + 1)));
    }
    tf.tidy(() => {
      const whole = model.forward(tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32'), model.beginState(1));
      const first = model.forward(tf.tensor2d([[1, 2]], [1, 2], 'int32'), model.beginState(1));
      const second = model.forward(tf.tensor2d([[3, 4]], [1, 2], 'int32'), first.state);
      const tail = tf.slice(whole.logits, [2, 0], [2, 6]);
      expect(tf.max(tf.abs(tf.sub(tail, second.logits))).dataSync()[0]).toBeLessThan(1e-6);
    });
    model.dispose();
  });

  it.each([
    ['rnn', 1, false],
    ['gru', 1, false],
    ['lstm', 1, false],
    ['lstm', 2, false],
    ['gru', 1, true],
    ['rnn', 2, true],
  ] as const)(
    'gradients of %s (%i layers, bidirectional %s) match central finite differences',
    (cell, layers, bidirectional) => {
      const model = createScratchModel(config(cell, { layers, bidirectional }), { seed: 3 });
      for (const [i, v] of model.variables.entries()) {
        tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.4, 'float32', 10 + i)));
      }
      const state = tf.tidy(() =>
        model
          .beginState(2)
          .map((s, i) =>
            tf.keep(tf.add(s, tf.randomNormal(s.shape, 0, 0.3, 'float32', 50 + i)) as tf.Tensor2D),
          ),
      );
      const { grads } = tf.variableGrads(() => loss(model, state), model.variables);
      const eps = 1e-2;
      let checked = 0;
      for (const [i, v] of model.variables.entries()) {
        const grad = grads[v.name]!.dataSync();
        const values = v.dataSync().slice();
        // A few entries of every weight, spread over the tensor.
        for (const k of [0, Math.floor(values.length / 2), values.length - 1]) {
          const at = (delta: number) => {
            const copy = values.slice();
            copy[k] = values[k]! + delta;
            v.assign(tf.tensor(copy, v.shape));
            return tf.tidy(() => loss(model, state).dataSync()[0]!);
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          v.assign(tf.tensor(values, v.shape));
          expect(Math.abs(numeric - grad[k]!), `${model.weightNames[i]}[${k}]`).toBeLessThan(
            2e-3 + 2e-2 * Math.abs(numeric),
          );
          checked++;
        }
      }
      expect(checked).toBe(model.variables.length * 3);
      tf.dispose([...Object.values(grads), ...state]);
      model.dispose();
    },
  );

  it('keeps the tensor count flat over 50 forward/backward steps, and dispose frees everything', () => {
    const atStart = tf.memory().numTensors;
    const model = createScratchModel(config('lstm', { layers: 2, bidirectional: true }), { seed: 4 });
    const optimizer = tf.train.sgd(0.1);
    let state = model.beginState(2);
    const step = () => {
      const next = tf.tidy(() => {
        let out: State = [];
        optimizer.minimize(
          () => {
            const result = model.forward(ids(), state);
            out = result.state.map((t) => tf.keep(t));
            return tf.losses.softmaxCrossEntropy(tf.oneHot(labels(), 6), result.logits) as tf.Scalar;
          },
          false,
          model.variables,
        );
        return out;
      });
      tf.dispose(state);
      state = next;
    };
    step(); // the optimizer creates nothing for SGD, but the first step may set up backend state
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(state);
    optimizer.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(atStart);
  });

  it('rejects bad configurations with clear messages', () => {
    expect(() => validateModelConfig({ ...config('lstm'), hidden: 0 })).toThrow(
      /hidden must be a positive integer/,
    );
    expect(() => validateModelConfig({ ...config('lstm'), layers: -1 })).toThrow(
      /layers must be a positive integer/,
    );
    expect(() => validateModelConfig({ ...config('lstm'), cell: 'transformer' })).toThrow(
      /unknown cell "transformer"; use one of rnn, gru, lstm/,
    );
    expect(() => validateModelConfig({ ...config('lstm'), vocabSize: 0 })).toThrow(
      /vocabSize must be a positive integer/,
    );
    expect(() => validateModelConfig({ ...config('lstm'), bidirectional: 'yes' })).toThrow(
      /bidirectional must be true or false/,
    );
    expect(() => validateModelConfig(null)).toThrow(/must be an object/);
    expect(() => createScratchModel({ ...config('lstm'), impl: 'layers' })).toThrow(/createLayersModel/);
  });

  it('rejects bad ids and state with clear messages', () => {
    const model = createScratchModel(config('rnn'), { seed: 1 });
    const state = model.beginState(2);
    expect(() => model.forward(tf.tensor2d([[1, 2]], [1, 2], 'float32') as tf.Tensor2D, state)).toThrow(
      /dtype int32/,
    );
    expect(() => model.forward(tf.tensor1d([1, 2], 'int32') as unknown as tf.Tensor2D, state)).toThrow(
      /\[batch, steps\]/,
    );
    expect(() => model.forward(tf.tensor2d([[1, 2]], [1, 2], 'int32'), state)).toThrow(
      /batch size of ids and state must match/,
    );
    expect(() => model.forward(ids(), [])).toThrow(/state must hold 1 tensors/);
    expect(() => model.beginState(0)).toThrow(/positive integer/);
    expect(() => assertIdsInRange([0, 5, 6], 6)).toThrow(
      /token id 6 at position 2 is out of range for a vocabulary of 6/,
    );
    expect(() => assertIdsInRange([0, -1], 6)).toThrow(/token id -1/);
    expect(() => assertIdsInRange([0, 5], 6)).not.toThrow();
    tf.dispose(state);
    model.dispose();
    expect(() => model.beginState(1)).toThrow(/disposed/);
  });
});
