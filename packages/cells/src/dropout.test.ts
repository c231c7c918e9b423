import '@tensorflow/tfjs-backend-wasm';
// The wasm backend lacks the gradient of gather; the apps get it from @rnnlm/backend, as here.
import { registerWasmTrainingKernels } from '@rnnlm/backend';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { validateModelConfig } from './config.js';
import {
  applyDropout,
  DROPOUT_INPUT_SITE,
  DropoutMasks,
  dropoutMasksFor,
  layerOutputSite,
} from './dropout.js';
import type { ForwardMode, LanguageModel, ModelConfig } from './model.js';
import { createScratchModel } from './scratch-model.js';

const TRAIN: ForwardMode = { training: true, maskSeed: 123 };

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** O(1) weights, so that every nonlinearity and every dropped unit matters. */
function randomize(model: LanguageModel, seed: number): void {
  for (const [i, v] of model.variables.entries()) {
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', seed + i)));
  }
}

const config = (overrides: Partial<ModelConfig> = {}): ModelConfig => ({
  impl: 'scratch',
  cell: 'lstm',
  vocabSize: 7,
  hidden: 6,
  layers: 2,
  bidirectional: false,
  dropout: 0.4,
  ...overrides,
});

const IDS = [
  [1, 4, 6, 0, 2],
  [3, 3, 2, 5, 1],
  [6, 0, 1, 2, 4],
];

describe('dropout masks', () => {
  it('hold only 0 and 1/(1-p), drop a fraction p, and keep the expected value (mean 1)', () => {
    for (const rate of [0.1, 0.3, 0.7]) {
      const values = new DropoutMasks(rate, 'standard', 5).values(layerOutputSite(0), 50, 20, 100);
      expect(values.length).toBe(100_000);
      const keep = Math.fround(1 / (1 - rate));
      let dropped = 0;
      let other = 0;
      let sum = 0;
      for (const v of values) {
        if (v === 0) dropped++;
        else if (v !== keep) other++;
        sum += v;
      }
      expect(other).toBe(0);
      // Binomial: the standard deviation of the dropped fraction is sqrt(p(1-p)/n) < 0.0016; allow 4 of them.
      expect(Math.abs(dropped / values.length - rate)).toBeLessThan(0.0064);
      // The mean of the mask is (1-f)/(1-p) for a dropped fraction f: 1 within the same margin, scaled.
      expect(Math.abs(sum / values.length - 1)).toBeLessThan(0.0064 / (1 - rate));
    }
  });

  it('repeat for the same seed and differ for another seed or site', () => {
    const a = new DropoutMasks(0.5, 'standard', 9).values(1, 4, 3, 8);
    expect(new DropoutMasks(0.5, 'standard', 9).values(1, 4, 3, 8)).toEqual(a);
    expect(new DropoutMasks(0.5, 'standard', 10).values(1, 4, 3, 8)).not.toEqual(a);
    expect(new DropoutMasks(0.5, 'standard', 9).values(2, 4, 3, 8)).not.toEqual(a);
  });

  it('variational: every time step of a sequence gets the same mask; standard: a fresh one per step', () => {
    const [steps, batch, width] = [6, 3, 40];
    const ones = tf.ones([steps * batch, width]) as tf.Tensor2D;
    for (const mode of ['variational', 'standard'] as const) {
      const masks = new DropoutMasks(0.5, mode, 77);
      const out = applyDropout(ones, masks, 1, steps, batch);
      const rows = out.arraySync();
      for (let b = 0; b < batch; b++) {
        const first = rows[b]!;
        expect(first.some((v) => v === 0)).toBe(true);
        for (let t = 1; t < steps; t++) {
          if (mode === 'variational') expect(rows[t * batch + b]).toEqual(first);
          else expect(rows[t * batch + b]).not.toEqual(first);
        }
      }
      // Sequences of one minibatch get different masks.
      expect(rows[1]).not.toEqual(rows[0]);
      out.dispose();
    }
    ones.dispose();
  });

  it('are off in evaluation (the default) and need a seed in training', () => {
    expect(dropoutMasksFor({ dropout: 0.5 }, undefined)).toBeNull();
    expect(dropoutMasksFor({ dropout: 0.5 }, { training: false })).toBeNull();
    expect(dropoutMasksFor({}, TRAIN)).toBeNull();
    expect(dropoutMasksFor({ dropout: 0.5 }, TRAIN)?.rate).toBe(0.5);
    expect(() => dropoutMasksFor({ dropout: 0.5 }, { training: true } as never)).toThrow(/maskSeed/);
  });
});

describe('model config dropout', () => {
  it('is absent when 0, kept with its mode when above 0, and refused outside [0, 1)', () => {
    const base = { impl: 'scratch', cell: 'lstm', vocabSize: 5, hidden: 3, layers: 1, bidirectional: false };
    expect(validateModelConfig({ ...base, dropout: 0 })).toEqual(base);
    expect(validateModelConfig(base)).toEqual(base);
    expect(validateModelConfig({ ...base, dropout: 0.3 })).toEqual({
      ...base,
      dropout: 0.3,
      dropoutMode: 'standard',
    });
    expect(validateModelConfig({ ...base, dropout: 0.3, dropoutMode: 'variational' }).dropoutMode).toBe(
      'variational',
    );
    for (const bad of [1, -0.1, 1.5, '0.3', Number.NaN]) {
      expect(() => validateModelConfig({ ...base, dropout: bad })).toThrow(/dropout must be a number from 0/);
    }
    expect(() => validateModelConfig({ ...base, dropout: 0.3, dropoutMode: 'gaussian' })).toThrow(
      /unknown dropoutMode "gaussian"; use one of standard, variational/,
    );
  });
});

describe('a model with dropout', () => {
  it('is the identity in evaluation: the same logits as the model without dropout, bit for bit', () => {
    const plain = createScratchModel(config({ dropout: 0 }), { seed: 3 });
    const dropped = createScratchModel(config({ dropout: 0.5 }), { seed: 3 });
    randomize(plain, 40);
    randomize(dropped, 40);
    const ids = tf.tensor2d(IDS, [3, 5], 'int32');
    const state = plain.beginState(3);
    const a = plain.forward(ids, state);
    const b = dropped.forward(ids, state);
    const c = dropped.forward(ids, state, { training: false });
    // Training without dropout is evaluation too.
    const d = plain.forward(ids, state, TRAIN);
    const e = dropped.forward(ids, state, TRAIN);
    expect(b.logits.dataSync()).toEqual(a.logits.dataSync());
    expect(c.logits.dataSync()).toEqual(a.logits.dataSync());
    expect(d.logits.dataSync()).toEqual(a.logits.dataSync());
    expect(maxAbsDiff(e.logits, a.logits)).toBeGreaterThan(0.1);
    tf.dispose([ids, state, a, b, c, d, e].flatMap((x) => ('logits' in x ? [x.logits, ...x.state] : x)));
    plain.dispose();
    dropped.dispose();
  });

  it('computes the masked stack as written out by hand (2-layer RNN, float64, both modes)', async () => {
    await tf.setBackend('cpu');
    for (const mode of ['standard', 'variational'] as const) {
      const cfg = config({ cell: 'rnn', vocabSize: 5, hidden: 4, dropout: 0.5, dropoutMode: mode });
      const model = createScratchModel(cfg, { seed: 8, recurrence: 'ops' });
      randomize(model, 30);
      const [B, T, H, V] = [3, 5, 4, 5];
      const ids = IDS.map((row) => row.map((id) => id % V));
      const w = model.variables.map((v) => Array.from(v.dataSync()));
      const [Wx0, Wh0, b0, Wx1, Wh1, b1, Wq, bq] = w as number[][];
      const masks = new DropoutMasks(0.5, mode, 123);
      const maskOf = (site: number) => masks.values(site, T, B, H);
      const m = [maskOf(layerOutputSite(0)), maskOf(layerOutputSite(1))];
      const maskAt = (l: number, t: number, b: number, j: number) =>
        mode === 'variational' ? m[l]![b * H + j]! : m[l]![(t * B + b) * H + j]!;
      const expected: number[] = []; // time-major [T*B, V]
      const h = [
        Array.from({ length: B }, () => new Array(H).fill(0)),
        Array.from({ length: B }, () => new Array(H).fill(0)),
      ];
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          // Layer 0: one-hot input times Wx0 is row ids[b][t] of Wx0.
          const h0 = Array.from({ length: H }, (_, j) => {
            let z = Wx0![ids[b]![t]! * H + j]! + b0![j]!;
            for (let k = 0; k < H; k++) z += h[0]![b]![k]! * Wh0![k * H + j]!;
            return Math.tanh(z);
          });
          h[0]![b] = h0;
          const x1 = h0.map((v, j) => v * maskAt(0, t, b, j));
          const h1 = Array.from({ length: H }, (_, j) => {
            let z = b1![j]!;
            for (let k = 0; k < H; k++) z += x1[k]! * Wx1![k * H + j]! + h[1]![b]![k]! * Wh1![k * H + j]!;
            return Math.tanh(z);
          });
          h[1]![b] = h1;
          const top = h1.map((v, j) => v * maskAt(1, t, b, j));
          for (let v = 0; v < V; v++) {
            let z = bq![v]!;
            for (let k = 0; k < H; k++) z += top[k]! * Wq![k * V + v]!;
            expected.push(z);
          }
        }
      }
      const idsTensor = tf.tensor2d(ids, [B, T], 'int32');
      const state = model.beginState(B);
      const out = model.forward(idsTensor, state, TRAIN);
      const got = out.logits.dataSync();
      expect(got.length).toBe(expected.length);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
      expect(worst).toBeLessThan(1e-5);
      tf.dispose([idsTensor, ...state, out.logits, ...out.state]);
      model.dispose();
    }
  });

  it('drops the embedded tokens too, as written out by hand (1-layer RNN with an embedding, float64)', async () => {
    await tf.setBackend('cpu');
    const [B, T, H, V, E] = [3, 5, 4, 7, 3];
    const cfg = config({ cell: 'rnn', layers: 1, hidden: H, embedding: E, dropout: 0.5 });
    const model = createScratchModel(cfg, { seed: 4, recurrence: 'ops' });
    randomize(model, 60);
    expect(model.weightNames).toEqual([
      'embedding/W_e',
      'layer0/forward/W_xh',
      'layer0/forward/W_hh',
      'layer0/forward/b_h',
      'head/W_hq',
      'head/b_q',
    ]);
    const [We, Wx, Wh, b, Wq, bq] = model.variables.map((v) => Array.from(v.dataSync()));
    const masks = new DropoutMasks(0.5, 'standard', 123);
    const m0 = masks.values(DROPOUT_INPUT_SITE, T, B, E);
    const m1 = masks.values(layerOutputSite(0), T, B, H);
    const expected: number[] = [];
    const h = Array.from({ length: B }, () => new Array(H).fill(0));
    for (let t = 0; t < T; t++) {
      for (let b_ = 0; b_ < B; b_++) {
        const row = t * B + b_;
        const e = Array.from({ length: E }, (_, k) => We![IDS[b_]![t]! * E + k]! * m0[row * E + k]!);
        h[b_] = Array.from({ length: H }, (_, j) => {
          let z = b![j]!;
          for (let k = 0; k < E; k++) z += e[k]! * Wx![k * H + j]!;
          for (let k = 0; k < H; k++) z += h[b_]![k]! * Wh![k * H + j]!;
          return Math.tanh(z);
        });
        for (let v = 0; v < V; v++) {
          let z = bq![v]!;
          for (let k = 0; k < H; k++) z += h[b_]![k]! * m1[row * H + k]! * Wq![k * V + v]!;
          expected.push(z);
        }
      }
    }
    const ids = tf.tensor2d(IDS, [B, T], 'int32');
    const state = model.beginState(B);
    const out = model.forward(ids, state, TRAIN);
    const got = out.logits.dataSync();
    expect(got.length).toBe(expected.length);
    expect(Math.max(...expected.map((x, i) => Math.abs(x - got[i]!)))).toBeLessThan(1e-5);
    tf.dispose([ids, ...state, out.logits, ...out.state]);
    model.dispose();
  });

  it('has the gradients of central finite differences under a fixed mask', async () => {
    await tf.setBackend('cpu');
    const model = createScratchModel(config({ cell: 'gru', hidden: 4, dropout: 0.3 }), {
      seed: 2,
      recurrence: 'ops',
    });
    randomize(model, 50);
    const ids = tf.tensor2d(IDS, [3, 5], 'int32');
    const state = model.beginState(3);
    const weights = tf.randomNormal([15, 7], 0, 1, 'float32', 4);
    const loss = () =>
      tf.tidy(() => tf.sum(tf.mul(model.forward(ids, state, TRAIN).logits, weights)) as tf.Scalar);
    const { grads } = tf.variableGrads(loss, model.variables);
    const eps = 1e-2;
    let checked = 0;
    for (const v of model.variables) {
      const analytic = grads[v.name]!.dataSync();
      const values = v.dataSync().slice();
      // A few entries of every weight, in float32: central differences are good to about 1e-3 here.
      for (const i of [0, Math.floor(values.length / 2), values.length - 1]) {
        const at = (delta: number) => {
          const copy = values.slice();
          copy[i]! += delta;
          v.assign(tf.tensor(copy, v.shape));
          const value = loss();
          const result = value.dataSync()[0]!;
          value.dispose();
          return result;
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(values, v.shape));
        expect(Math.abs(numeric - analytic[i]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
        checked++;
      }
    }
    expect(checked).toBe(3 * model.variables.length);
    tf.dispose([ids, ...state, weights, ...Object.values(grads)]);
    model.dispose();
  });
});

registerWasmTrainingKernels();

/** Logits and every gradient of a training forward with `recurrence`, from seeded weights. */
function trainingRun(cfg: ModelConfig, recurrence: 'ops' | 'fused') {
  const model = createScratchModel(cfg, { seed: 11, recurrence });
  randomize(model, 3);
  const ids = tf.tensor2d(IDS, [3, 5], 'int32');
  const state = model.beginState(3);
  let logits: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(ids, state, TRAIN);
    logits = tf.keep(out.logits);
    return tf.sum(tf.mul(out.logits, tf.randomNormal(out.logits.shape, 0, 1, 'float32', 7))) as tf.Scalar;
  }, model.variables);
  const ordered = model.variables.map((v) => grads[v.name]!);
  tf.dispose([value, ids, ...state]);
  return { model, logits: logits!, grads: ordered };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`dropout through the fused kernels equals the op-by-op stack on ${backend}`, () => {
    afterAll(async () => {
      await tf.setBackend('cpu');
    });
    const cases = [
      ['lstm', 2, false, 'standard', 0],
      ['gru', 2, true, 'variational', 0],
      ['rnn', 1, false, 'variational', 0],
      ['lstm', 3, false, 'variational', 0],
      // With an embedding, whose output (the first layer's input) is dropped too.
      ['lstm', 2, false, 'standard', 5],
    ] as const;
    it.each(cases)(
      '%s, %i layer(s), bidirectional %s, %s, embedding %i',
      async (cell, layers, bidirectional, mode, embedding) => {
        expect(await tf.setBackend(backend)).toBe(true);
        const cfg = config({
          cell,
          layers,
          bidirectional,
          dropout: 0.3,
          dropoutMode: mode,
          ...(embedding ? { embedding } : {}),
        });
        const before = tf.memory().numTensors;
        const ops = trainingRun(cfg, 'ops');
        const fused = trainingRun(cfg, 'fused');
        expect(maxAbsDiff(ops.logits, fused.logits)).toBeLessThan(1e-4);
        expect(Math.max(...ops.grads.map((g, i) => maxAbsDiff(g, fused.grads[i]!)))).toBeLessThan(1e-4);
        for (const r of [ops, fused]) {
          tf.dispose([r.logits, ...r.grads]);
          r.model.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
      },
    );
  });
}

describe('masks on the wasm backend', () => {
  it('are the same as on cpu: the same training logits from the same seed', async () => {
    const logitsOn = async (backend: 'cpu' | 'wasm') => {
      expect(await tf.setBackend(backend)).toBe(true);
      const r = trainingRun(config({ dropout: 0.5 }), 'fused');
      const values = Array.from(r.logits.dataSync());
      tf.dispose([r.logits, ...r.grads]);
      r.model.dispose();
      return values;
    };
    const cpu = await logitsOn('cpu');
    const wasm = await logitsOn('wasm');
    await tf.setBackend('cpu');
    expect(Math.max(...cpu.map((v, i) => Math.abs(v - wasm[i]!)))).toBeLessThan(1e-5);
  });

  it('keeps the tensor count flat over many training steps', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    const model = createScratchModel(config({ dropout: 0.3, dropoutMode: 'variational' }), { seed: 1 });
    const ids = tf.tensor2d(IDS, [3, 5], 'int32');
    const step = (s: number) => {
      const state = model.beginState(3);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(model.forward(ids, state, { training: true, maskSeed: s }).logits) as tf.Scalar,
        model.variables,
      );
      tf.dispose([value, ...Object.values(grads), ...state]);
    };
    step(0);
    const before = tf.memory().numTensors;
    for (let s = 1; s <= 30; s++) step(s);
    expect(tf.memory().numTensors).toBe(before);
    ids.dispose();
    model.dispose();
    await tf.setBackend('cpu');
  });
});
