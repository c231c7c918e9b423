// A token embedding apart from the hidden size, and the output head tied to it (Press and Wolf 2017).
import type { CellKind } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { validateModelConfig } from './config.js';
import type { LanguageModel, ModelConfig, State } from './model.js';
import { createScratchModel } from './scratch-model.js';

const RECURRENCES = ['ops', 'fused'] as const;

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
      [4, 1, 0],
    ],
    [2, 3],
    'int32',
  );
const labels = () => tf.tensor1d([1, 4, 2, 5, 3, 0], 'int32'); // time-major

function loss(model: LanguageModel, state: State): tf.Scalar {
  const { logits } = model.forward(ids(), state);
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels(), model.config.vocabSize), logits) as tf.Scalar;
}

function weight(model: LanguageModel, name: string): tf.Variable {
  const i = model.weightNames.indexOf(name);
  expect(i, `${name} in ${model.weightNames.join(', ')}`).toBeGreaterThanOrEqual(0);
  return model.variables[i]!;
}

/** Weights of O(1), so that every term matters, and a random initial state that the caller frees. */
function randomize(model: LanguageModel, seed: number, batch = 2): State {
  for (const [i, v] of model.variables.entries()) {
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.4, 'float32', seed + i)));
  }
  return tf.tidy(() =>
    model
      .beginState(batch)
      .map((s, i) => tf.keep(tf.randomNormal(s.shape, 0, 0.3, 'float32', seed + 50 + i)) as tf.Tensor2D),
  );
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('model config: embedding and tieWeights', () => {
  it('are added only when set, so a config without them is what it always was', () => {
    const plain = config('lstm');
    expect(validateModelConfig(plain)).toStrictEqual(plain);
    expect(validateModelConfig({ ...plain, tieWeights: false })).toStrictEqual(plain);
    expect(validateModelConfig({ ...plain, embedding: 3 })).toStrictEqual({ ...plain, embedding: 3 });
    expect(validateModelConfig({ ...plain, embedding: 4, tieWeights: true })).toStrictEqual({
      ...plain,
      embedding: 4,
      tieWeights: true,
    });
  });

  it('refuse bad values and sizes that cannot tie, naming both numbers and what to change', () => {
    expect(() => validateModelConfig({ ...config('gru'), embedding: 0 })).toThrow(
      /embedding must be a positive integer \(the size of the token embedding\), got 0/,
    );
    expect(() => validateModelConfig({ ...config('gru'), embedding: 2.5 })).toThrow(/got 2.5/);
    expect(() => validateModelConfig({ ...config('gru'), tieWeights: 'yes' })).toThrow(
      /tieWeights must be true or false, got "yes"/,
    );
    expect(() => validateModelConfig({ ...config('gru'), tieWeights: true })).toThrow(
      /tieWeights needs an embedding .* set embedding to hidden = 4 \(--embedding 4\)/,
    );
    expect(() => validateModelConfig({ ...config('gru'), embedding: 8, tieWeights: true })).toThrow(
      /tieWeights needs embedding equal to the top layer's output size, hidden = 4, but embedding is 8; set embedding to 4 \(--embedding 4\), change hidden, or turn tieWeights off \(--tie-weights\)/,
    );
    expect(() =>
      validateModelConfig({ ...config('gru'), bidirectional: true, embedding: 4, tieWeights: true }),
    ).toThrow(/2 x hidden = 8 \(bidirectional\), but embedding is 4; set embedding to 8/);
    expect(() => createScratchModel({ ...config('rnn'), embedding: 5, tieWeights: true })).toThrow(
      /but embedding is 5/,
    );
  });
});

describe('scratch models with an embedding', () => {
  it('name and shape their weights as documented; a tied model has one shared matrix, no head weight', () => {
    const plain = createScratchModel(config('gru'), { seed: 1 });
    const embedded = createScratchModel(config('gru', { embedding: 3 }), { seed: 1 });
    const tied = createScratchModel(config('gru', { embedding: 4, tieWeights: true }), { seed: 1 });
    expect(plain.weightNames).toEqual([
      'layer0/forward/W_x',
      'layer0/forward/W_h',
      'layer0/forward/b',
      'head/W_hq',
      'head/b_q',
    ]);
    expect(embedded.weightNames).toEqual(['embedding/W_e', ...plain.weightNames]);
    expect(embedded.variables.map((v) => v.shape)).toEqual([[6, 3], [3, 12], [4, 12], [12], [4, 6], [6]]);
    expect(tied.weightNames).toEqual([
      'embedding/W_e',
      ...plain.weightNames.filter((n) => n !== 'head/W_hq'),
    ]);
    expect(tied.variables.map((v) => v.shape)).toEqual([[6, 4], [4, 12], [4, 12], [12], [6]]);
    for (const m of [plain, embedded, tied]) m.dispose();
  });

  for (const recurrence of RECURRENCES) {
    it.each([
      ['rnn', 1, false, false],
      ['lstm', 2, false, false],
      ['gru', 1, true, false],
      ['lstm', 1, false, true],
      ['gru', 2, true, true],
    ] as Array<[CellKind, number, boolean, boolean]>)(
      `equals the one-hot model whose first input weight is W_e W_x, and whose head is W_e^T when tied: %s, %i layer(s), bidirectional %s, tied %s (recurrence ${recurrence})`,
      (cell, layers, bidirectional, tied) => {
        // An embedding is a factored first input weight: one-hot(x) W_e W_x = row x of (W_e W_x).
        const embedding = tied ? 4 * (bidirectional ? 2 : 1) : 3;
        const shape = { layers, bidirectional, embedding, ...(tied ? { tieWeights: true } : {}) };
        const model = createScratchModel(config(cell, shape), { seed: 2, recurrence });
        const oneHot = createScratchModel(config(cell, { layers, bidirectional }), { seed: 3, recurrence });
        const state = randomize(model, 5);
        const We = weight(model, 'embedding/W_e');
        for (const [i, name] of oneHot.weightNames.entries()) {
          tf.tidy(() => {
            const value = name.startsWith('layer0/')
              ? name.endsWith('/W_x') || name.endsWith('/W_xh')
                ? tf.matMul(We, weight(model, name))
                : weight(model, name)
              : name === 'head/W_hq' && tied
                ? tf.transpose(We)
                : weight(model, name);
            oneHot.variables[i]!.assign(value);
          });
        }
        tf.tidy(() => {
          const a = model.forward(ids(), state);
          const b = oneHot.forward(ids(), state);
          expect(tf.moments(a.logits).variance.dataSync()[0]).toBeGreaterThan(1e-2);
          expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-5);
          for (const [i, s] of a.state.entries()) expect(maxAbsDiff(s, b.state[i]!)).toBeLessThan(1e-5);
        });
        tf.dispose(state);
        model.dispose();
        oneHot.dispose();
      },
    );

    it.each([
      ['rnn', 1, false, false],
      ['gru', 1, false, true],
      ['lstm', 2, false, true],
      ['lstm', 1, true, true],
      ['gru', 2, true, false],
    ] as Array<[CellKind, number, boolean, boolean]>)(
      `gradients through the embedding match central finite differences: %s, %i layer(s), bidirectional %s, tied %s (recurrence ${recurrence})`,
      (cell, layers, bidirectional, tied) => {
        const embedding = tied ? 4 * (bidirectional ? 2 : 1) : 3;
        const shape = { layers, bidirectional, embedding, ...(tied ? { tieWeights: true } : {}) };
        const model = createScratchModel(config(cell, shape), { seed: 3, recurrence });
        const state = randomize(model, 10);
        const { value, grads } = tf.variableGrads(() => loss(model, state), model.variables);
        value.dispose();
        // As in scratch-model.test.ts: eps 1e-2 in float32 on a loss near ln 6.
        const eps = 1e-2;
        for (const [i, v] of model.variables.entries()) {
          const grad = grads[v.name]!.dataSync();
          const values = v.dataSync().slice();
          let largest = 0;
          for (let k = 1; k < grad.length; k++)
            if (Math.abs(grad[k]!) > Math.abs(grad[largest]!)) largest = k;
          expect(Math.abs(grad[largest]!), `${model.weightNames[i]} has some gradient`).toBeGreaterThan(1e-3);
          // Rows 0..4 of the embedding are looked up, row 5 never: its gradient is exactly zero
          // (unless tied, where the head reads it).
          const unused = i === 0 ? [5 * v.shape[1]!] : [];
          for (const k of new Set([
            0,
            Math.floor(values.length / 2),
            values.length - 1,
            largest,
            ...unused,
          ])) {
            const at = (delta: number) => {
              const copy = values.slice();
              copy[k] = values[k]! + delta;
              tf.tidy(() => v.assign(tf.tensor(copy, v.shape)));
              return tf.tidy(() => loss(model, state).dataSync()[0]!);
            };
            const numeric = (at(eps) - at(-eps)) / (2 * eps);
            tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
            expect(
              Math.abs(numeric - grad[k]!),
              `${model.weightNames[i]}[${k}]: numeric ${numeric}, autodiff ${grad[k]}`,
            ).toBeLessThan(1e-4 + 1e-2 * Math.abs(numeric));
          }
          if (i === 0 && !tied) expect(grad[5 * v.shape[1]!]).toBe(0);
        }
        tf.dispose([...Object.values(grads), ...state]);
        model.dispose();
      },
    );

    it(`a tied model's one matrix gets the sum of the embedding's and the head's gradients (recurrence ${recurrence})`, () => {
      // The same function untied, with W_hq set to W_e^T: its two gradients, added (the head's
      // transposed), are what the tied model's single variable must get.
      const tied = createScratchModel(config('lstm', { layers: 2, embedding: 4, tieWeights: true }), {
        seed: 4,
        recurrence,
      });
      const untied = createScratchModel(config('lstm', { layers: 2, embedding: 4 }), { seed: 5, recurrence });
      const state = randomize(tied, 20);
      for (const [i, name] of untied.weightNames.entries()) {
        tf.tidy(() =>
          untied.variables[i]!.assign(
            name === 'head/W_hq' ? tf.transpose(weight(tied, 'embedding/W_e')) : weight(tied, name),
          ),
        );
      }
      expect(tied.variables).toHaveLength(untied.variables.length - 1);
      const t = tf.variableGrads(() => loss(tied, state), tied.variables);
      const u = tf.variableGrads(() => loss(untied, state), untied.variables);
      expect(Math.abs(t.value.dataSync()[0]! - u.value.dataSync()[0]!)).toBeLessThan(1e-6);
      const fromEmbedding = u.grads[weight(untied, 'embedding/W_e').name]!;
      const fromHead = tf.transpose(u.grads[weight(untied, 'head/W_hq').name]!);
      const shared = t.grads[weight(tied, 'embedding/W_e').name]!;
      const sum = tf.add(fromEmbedding, fromHead);
      expect(maxAbsDiff(shared, sum)).toBeLessThan(1e-6);
      // Both uses matter: the shared gradient is neither use's alone.
      expect(maxAbsDiff(shared, fromEmbedding)).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(shared, fromHead)).toBeGreaterThan(1e-3);
      // The other weights' gradients are the untied model's.
      for (const [i, name] of tied.weightNames.entries()) {
        if (name === 'embedding/W_e') continue;
        expect(
          maxAbsDiff(t.grads[tied.variables[i]!.name]!, u.grads[weight(untied, name).name]!),
        ).toBeLessThan(1e-6);
      }
      tf.dispose([t.value, u.value, ...Object.values(t.grads), ...Object.values(u.grads), fromHead, sum]);
      tf.dispose(state);
      tied.dispose();
      untied.dispose();
    });

    it(`keeps the tensor count flat over 50 training steps of a tied, embedded, stacked model (recurrence ${recurrence})`, () => {
      const atStart = tf.memory().numTensors;
      const model = createScratchModel(config('gru', { layers: 2, embedding: 4, tieWeights: true }), {
        seed: 6,
        recurrence,
      });
      const optimizer = tf.train.adam(0.01);
      let state = model.beginState(2);
      const losses: number[] = [];
      const step = () => {
        const next = tf.tidy(() => {
          let out: State = [];
          const value = optimizer.minimize(
            () => {
              const result = model.forward(ids(), state);
              out = result.state.map((t) => tf.keep(t));
              return tf.losses.softmaxCrossEntropy(tf.oneHot(labels(), 6), result.logits) as tf.Scalar;
            },
            true,
            model.variables,
          )!;
          losses.push(value.dataSync()[0]!);
          return out;
        });
        tf.dispose(state);
        state = model.beginState(2);
        tf.dispose(next);
      };
      step(); // Adam makes its slots on the first step
      const before = tf.memory().numTensors;
      for (let i = 0; i < 50; i++) step();
      expect(tf.memory().numTensors).toBe(before);
      // And it learns: from ln 6 (about 1.79) well down.
      expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.3);
      tf.dispose(state);
      optimizer.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(atStart);
    });
  }
});
