import type { CellKind } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { validateModelConfig } from './config.js';
import { assertIdsInRange } from './ids.js';
import type { LanguageModel, ModelConfig, State } from './model.js';
import { createScratchModel, type ScratchModelOptions } from './scratch-model.js';

const config = (cell: CellKind, extra: Partial<ModelConfig> = {}): ModelConfig => ({
  impl: 'scratch',
  cell,
  vocabSize: 6,
  hidden: 4,
  layers: 1,
  bidirectional: false,
  ...extra,
});

/** The fused kernel (what runs on wasm and cpu by default) and the op-by-op form. */
const KERNELS = ['ops', 'fused'] as const;

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
  it('refuses an unknown recurrence, and the option by its old name kernels, saying what to pass', () => {
    const bad = { recurrence: 'fast' } as unknown as ScratchModelOptions;
    expect(() => createScratchModel(config('gru'), bad)).toThrow(
      /createScratchModel: recurrence must be one of auto, fused, ops, got "fast"/,
    );
    const old = { kernels: 'ops' } as unknown as ScratchModelOptions;
    expect(() => createScratchModel(config('gru'), old)).toThrow(
      /the option kernels is now called recurrence; pass \{ recurrence: "ops" \}/,
    );
  });

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

  it.each(
    (
      [
        ['rnn', 1, false],
        ['gru', 1, false],
        ['lstm', 1, false],
        ['rnn', 2, false],
        ['gru', 2, false],
        ['lstm', 2, false],
        ['rnn', 1, true],
        ['gru', 1, true],
        ['lstm', 1, true],
        ['lstm', 2, true],
      ] as Array<[CellKind, number, boolean]>
    ).flatMap((c) => KERNELS.map((k) => [...c, k] as const)),
  )(
    'gradients of %s (%i layers, bidirectional %s, recurrence %s) match central finite differences',
    (cell, layers, bidirectional, recurrence) => {
      const model = createScratchModel(config(cell, { layers, bidirectional }), { seed: 3, recurrence });
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
      const { value, grads } = tf.variableGrads(() => loss(model, state), model.variables);
      value.dispose();
      // Central differences in float32 on a loss near ln 6: eps 1e-2 keeps the rounding error of the
      // difference near 1e-5 and the truncation error (eps^2 terms) below that; measured errors are at
      // most 3e-5, so the tolerance below has a 10x margin and still catches a wrong term.
      const eps = 1e-2;
      let maxError = 0;
      for (const [i, v] of model.variables.entries()) {
        const grad = grads[v.name]!.dataSync();
        const values = v.dataSync().slice();
        // Entries spread over the tensor, and the one with the largest gradient, so that every weight
        // is checked where its gradient is far from zero.
        let largest = 0;
        for (let k = 1; k < grad.length; k++) if (Math.abs(grad[k]!) > Math.abs(grad[largest]!)) largest = k;
        expect(Math.abs(grad[largest]!), `${model.weightNames[i]} has some gradient`).toBeGreaterThan(1e-3);
        for (const k of new Set([0, Math.floor(values.length / 2), values.length - 1, largest])) {
          const at = (delta: number) => {
            const copy = values.slice();
            copy[k] = values[k]! + delta;
            tf.tidy(() => v.assign(tf.tensor(copy, v.shape)));
            return tf.tidy(() => loss(model, state).dataSync()[0]!);
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
          const error = Math.abs(numeric - grad[k]!);
          maxError = Math.max(maxError, error);
          expect(
            error,
            `${model.weightNames[i]}[${k}]: numeric ${numeric}, autodiff ${grad[k]}`,
          ).toBeLessThan(1e-4 + 1e-2 * Math.abs(numeric));
        }
      }
      console.log(
        `finite differences (${recurrence}) ${cell} layers=${layers} bidir=${bidirectional}: max |numeric - autodiff| ${maxError.toExponential(2)}`,
      );
      tf.dispose([...Object.values(grads), ...state]);
      model.dispose();
    },
  );

  it.each((['rnn', 'gru', 'lstm'] as const).flatMap((c) => KERNELS.map((k) => [c, k] as const)))(
    'keeps the tensor count flat over 50 forward/backward steps of a stacked bidirectional %s (recurrence %s), and dispose frees everything',
    (cell, recurrence) => {
      const atStart = tf.memory().numTensors;
      const model = createScratchModel(config(cell, { layers: 2, bidirectional: true }), {
        seed: 4,
        recurrence,
      });
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
    },
  );

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
    expect(() => validateModelConfig({ ...config('lstm'), hidden: 2.5 })).toThrow(
      /hidden must be a positive integer .*got 2.5/,
    );
    expect(() => validateModelConfig({ ...config('lstm'), vocabSize: undefined })).toThrow(
      /vocabSize must be a positive integer/,
    );
    expect(() => validateModelConfig({ ...config('lstm'), impl: 'torch' })).toThrow(
      /unknown impl "torch"; use one of scratch, layers/,
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
    expect(() => model.forward(ids(), [tf.zeros([2, 3]) as tf.Tensor2D])).toThrow(/hidden 4/);
    expect(() => model.forward([[1, 2]] as unknown as tf.Tensor2D, state)).toThrow(
      /int32 tensor of token ids, got an array/,
    );
    // Out-of-range ids are refused before any op runs: a clear message, and nothing leaks.
    const before = tf.memory().numTensors;
    const bad = tf.tensor2d(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [2, 3],
      'int32',
    );
    expect(() => model.forward(bad, state)).toThrow(
      /token id 6 at sequence 1, step 2 is out of range for a vocabulary of 6 tokens/,
    );
    const negative = tf.tidy(() => tf.neg(ids()) as tf.Tensor2D);
    expect(() => model.forward(negative, state)).toThrow(/token id -1 at sequence 0, step 0/);
    tf.dispose([bad, negative]);
    expect(tf.memory().numTensors).toBe(before);
    // With checkIds off the model does not read the ids; the cpu backend's gather still refuses them.
    const unchecked = createScratchModel(config('rnn'), { seed: 1, checkIds: false });
    let uncheckedError: unknown;
    try {
      tf.tidy(() => {
        unchecked.forward(tf.fill([2, 3], 6, 'int32') as tf.Tensor2D, state);
      });
    } catch (error) {
      uncheckedError = error;
    }
    expect(uncheckedError).toBeInstanceOf(Error);
    expect((uncheckedError as Error).message).not.toMatch(/out of range for a vocabulary/);
    unchecked.dispose();
    expect(() => model.beginState(0)).toThrow(/positive integer/);
    expect(() => assertIdsInRange([0, 5, 6], 6)).toThrow(
      /token id 6 at position 2 is out of range for a vocabulary of 6/,
    );
    expect(() => assertIdsInRange([0, -1], 6)).toThrow(/token id -1/);
    expect(() => assertIdsInRange([0, 5], 6)).not.toThrow();
    expect(() => assertIdsInRange([0, 1.5], 6)).toThrow(/token id 1.5 at position 1/);
    expect(() => assertIdsInRange([0, 1, 2, 9], 6, 2)).toThrow(/token id 9 at sequence 1, step 1/);
    expect(() => assertIdsInRange([0], 0)).toThrow(/vocabSize must be a positive integer/);
    tf.dispose(state);
    model.dispose();
    expect(() => model.beginState(1)).toThrow(/disposed/);
  });
});
