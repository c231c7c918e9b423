import type { ModelConfig } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayersModel } from './layers-model.js';
import {
  CELLS,
  lossOf,
  maxAbsDiff,
  randomIds,
  randomizeWeights,
  randomState,
  tinyConfig,
} from './test-utils/helpers.js';
import { namedWeights } from './weights.js';

let tensorsAtStart = 0;
beforeEach(() => {
  tensorsAtStart = tf.memory().numTensors;
});
afterEach(() => {
  // Every test disposes what it made, models included.
  expect(tf.memory().numTensors).toBe(tensorsAtStart);
});

describe('createLayersModel: shapes, names, state layout', () => {
  for (const cell of CELLS) {
    for (const bidirectional of [false, true]) {
      it(`${cell}, 2 layers, ${bidirectional ? 'bidirectional' : 'unidirectional'}`, () => {
        const config = tinyConfig('layers', { cell, layers: 2, bidirectional });
        const model = createLayersModel(config, { seed: 1 });
        const dirs = bidirectional ? ['forward', 'backward'] : ['forward'];
        const expectedNames = [0, 1].flatMap((l) =>
          dirs.flatMap((d) => ['kernel', 'recurrent_kernel', 'bias'].map((w) => `layer${l}/${d}/${w}`)),
        );
        expect(model.weightNames).toEqual([...expectedNames, 'head/kernel', 'head/bias']);
        expect(model.variables.every((v) => v instanceof tf.Variable)).toBe(true);
        const gates = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
        const H = config.hidden;
        const shapes = namedWeights(model);
        expect(shapes['layer0/forward/kernel']?.shape).toEqual([config.vocabSize, gates * H]);
        expect(shapes['layer1/forward/kernel']?.shape).toEqual([H * dirs.length, gates * H]);
        expect(shapes['layer1/forward/recurrent_kernel']?.shape).toEqual([H, gates * H]);
        expect(shapes['layer1/forward/bias']?.shape).toEqual([gates * H]);
        expect(shapes['head/kernel']?.shape).toEqual([H * dirs.length, config.vocabSize]);

        const state = model.beginState(3);
        expect(state).toHaveLength(2 * dirs.length * (cell === 'lstm' ? 2 : 1));
        for (const s of state) expect(s.shape).toEqual([3, H]);
        const ids = randomIds(3, 5, config.vocabSize, 2);
        const out = model.forward(ids, state);
        expect(out.logits.shape).toEqual([5 * 3, config.vocabSize]);
        expect(out.state.map((s) => s.shape)).toEqual(state.map((s) => s.shape));
        expect(Array.from(out.logits.dataSync()).every(Number.isFinite)).toBe(true);
        tf.dispose([ids, state, out.logits, out.state]);
        model.dispose();
      });
    }
  }

  it('a seed reproduces the weights exactly; different seeds differ', () => {
    const config = tinyConfig('layers', { cell: 'gru', bidirectional: true });
    const a = createLayersModel(config, { seed: 7 });
    const b = createLayersModel(config, { seed: 7 });
    const c = createLayersModel(config, { seed: 8 });
    a.variables.forEach((v, i) => {
      expect(maxAbsDiff(v, b.variables[i] as tf.Variable)).toBe(0);
    });
    expect(maxAbsDiff(a.variables[0] as tf.Variable, c.variables[0] as tf.Variable)).toBeGreaterThan(0);
    // Each direction and each matrix gets its own draw (no two kernels alike).
    const named = namedWeights(a);
    expect(maxAbsDiff(named['layer0/forward/kernel']!, named['layer0/backward/kernel']!)).toBeGreaterThan(0);
    // The notebooks' initialisation: normal x 0.01, zero biases.
    const std = tf.tidy(
      () => tf.sqrt(tf.moments(named['layer0/forward/kernel']!).variance).dataSync()[0] as number,
    );
    expect(std).toBeGreaterThan(0.005);
    expect(std).toBeLessThan(0.02);
    expect(tf.tidy(() => tf.max(tf.abs(named['layer0/forward/bias']!)).dataSync()[0])).toBe(0);
    // No seed means seed 0, as for scratch models: still repeatable.
    const d = createLayersModel(config);
    const e = createLayersModel(config, { seed: 0 });
    expect(maxAbsDiff(d.variables[0] as tf.Variable, e.variables[0] as tf.Variable)).toBe(0);
    for (const m of [a, b, c, d, e]) m.dispose();
  });

  it('outputs follow the one-hot RNN equations (a literal per-step computation)', () => {
    // An independent check of the layers model on its own, the notebooks' rnn() written out.
    const config = tinyConfig('layers', { cell: 'rnn' });
    const model = createLayersModel(config, { seed: 3 });
    randomizeWeights(model, 11);
    const w = namedWeights(model);
    const ids = randomIds(2, 4, config.vocabSize, 5);
    const state = randomState(model, 2, 9);
    const out = model.forward(ids, state);
    const expected = tf.tidy(() => {
      const inputs = tf.unstack(tf.oneHot(tf.transpose(ids), config.vocabSize, 1, 0, 'float32'));
      let h: tf.Tensor = state[0] as tf.Tensor2D;
      const outputs: tf.Tensor[] = [];
      for (const x of inputs) {
        h = tf.tanh(
          tf.add(
            tf.add(
              tf.matMul(x, w['layer0/forward/kernel']!),
              tf.matMul(h, w['layer0/forward/recurrent_kernel']!),
            ),
            w['layer0/forward/bias']!,
          ),
        );
        outputs.push(tf.add(tf.matMul(h, w['head/kernel']!), w['head/bias']!));
      }
      return { logits: tf.concat(outputs, 0), h };
    });
    expect(maxAbsDiff(out.logits, expected.logits)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.state[0]!, expected.h)).toBeLessThan(1e-5);
    tf.dispose([ids, state, out.logits, out.state, expected.logits, expected.h]);
    model.dispose();
  });
});

describe('bidirectional by hand equals tf.layers.bidirectional (stacked, with initial states)', () => {
  for (const recurrence of ['ops', 'fused'] as const)
    for (const cell of CELLS) {
      it(`${cell}, 2 layers, recurrence ${recurrence}`, () => {
        const config = tinyConfig('layers', { cell, layers: 2, bidirectional: true });
        const model = createLayersModel(config, { seed: 4, recurrence });
        randomizeWeights(model, 21);
        const ids = randomIds(3, 5, config.vocabSize, 6);
        const state = randomState(model, 3, 13);
        const ours = model.forward(ids, state);

        // The same stack built from tfjs-layers' Bidirectional wrapper, weights copied in.
        const perDirection = 3; // kernel, recurrent_kernel, bias
        const wrappers: tfl.layers.Layer[] = [];
        const reference = tf.tidy(() => {
          let x: tf.Tensor = tf.oneHot(ids, config.vocabSize, 1, 0, 'float32');
          const finalStates: tf.Tensor[] = [];
          const statesPerDir = cell === 'lstm' ? 2 : 1;
          for (let layer = 0; layer < 2; layer++) {
            const args = {
              units: config.hidden,
              returnSequences: true,
              returnState: true,
              kernelInitializer: 'zeros' as const,
              recurrentInitializer: 'zeros' as const,
            };
            const inner =
              cell === 'rnn'
                ? tfl.layers.simpleRNN(args)
                : cell === 'gru'
                  ? tfl.layers.gru({ ...args, recurrentActivation: 'sigmoid' })
                  : tfl.layers.lstm({ ...args, recurrentActivation: 'sigmoid' });
            const wrapper = tfl.layers.bidirectional({ layer: inner as tfl.RNN, mergeMode: 'concat' });
            wrappers.push(wrapper);
            const init = state.slice(layer * 2 * statesPerDir, (layer + 1) * 2 * statesPerDir);
            wrapper.apply(x, { initialState: init }); // builds
            const first = layer * 2 * perDirection;
            wrapper.setWeights(model.variables.slice(first, first + 2 * perDirection));
            const [seq, ...states] = wrapper.apply(x, { initialState: init }) as tf.Tensor[];
            x = seq as tf.Tensor;
            finalStates.push(...states);
          }
          const rows = tf.reshape(tf.transpose(x, [1, 0, 2]), [-1, 2 * config.hidden]);
          const w = namedWeights(model);
          const logits = tf.add(tf.matMul(rows, w['head/kernel']!), w['head/bias']!);
          return { logits, finalStates };
        });
        const logitsDiff = maxAbsDiff(ours.logits, reference.logits);
        expect(logitsDiff).toBeLessThan(1e-5);
        expect(reference.finalStates).toHaveLength(ours.state.length);
        ours.state.forEach((s, i) => {
          expect(maxAbsDiff(s, reference.finalStates[i]!)).toBeLessThan(1e-5);
        });
        tf.dispose([ids, state, ours.logits, ours.state, reference.logits, reference.finalStates]);
        for (const w of wrappers) w.dispose();
        model.dispose();
      });
    }
});

describe('state carrying and batch-1 generation', () => {
  for (const cell of CELLS) {
    it(`${cell}: weights trained at batch 4 step at batch 1; stepping equals the whole sequence`, () => {
      const config = tinyConfig('layers', { cell, layers: 2 });
      const model = createLayersModel(config, { seed: 5 });
      // A few SGD steps at batch 4, so the weights are "trained" at another batch size.
      const X = randomIds(4, 6, config.vocabSize, 1);
      const Y = randomIds(4, 6, config.vocabSize, 2);
      for (let step = 0; step < 3; step++) {
        tf.tidy(() => {
          const { grads } = tf.variableGrads(() => {
            const s = model.beginState(4);
            return lossOf(model.forward(X, s).logits, Y, config.vocabSize);
          }, model.variables);
          for (const v of model.variables) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 1.0)));
        });
      }

      // Greedy generation from a prefix at batch 1, one token per call, state carried.
      const prefix = [1, 4, 2];
      const generated = [...prefix];
      const stepLogits: tf.Tensor2D[] = [];
      let state = model.beginState(1);
      for (let t = 0; t < 8; t++) {
        const id = tf.tensor2d([[generated[t]!]], [1, 1], 'int32');
        const out = model.forward(id, state);
        tf.dispose([id, state]);
        state = out.state;
        stepLogits.push(out.logits);
        if (t + 1 >= generated.length)
          generated.push(tf.tidy(() => tf.argMax(out.logits, 1).dataSync()[0] as number));
      }
      // The same 8 tokens in one call.
      const whole = tf.tensor2d([generated.slice(0, 8)], [1, 8], 'int32');
      const begin = model.beginState(1);
      const once = model.forward(whole, begin);
      const stepped = tf.concat(stepLogits, 0);
      expect(maxAbsDiff(stepped, once.logits)).toBeLessThan(1e-5);
      state.forEach((s, i) => {
        expect(maxAbsDiff(s, once.state[i]!)).toBeLessThan(1e-5);
      });

      // And the same sequence as row 2 of a batch of 4: rows t*4+2 of the time-major logits.
      const batchIds = tf.tidy(() =>
        tf.concat([randomIds(2, 8, config.vocabSize, 3), whole, randomIds(1, 8, config.vocabSize, 4)], 0),
      ) as tf.Tensor2D;
      const batchState = model.beginState(4);
      const batched = model.forward(batchIds, batchState);
      const row2 = tf.tidy(() =>
        tf.gather(batched.logits, tf.tensor1d([2, 6, 10, 14, 18, 22, 26, 30], 'int32')),
      );
      expect(maxAbsDiff(row2, once.logits)).toBeLessThan(1e-5);

      tf.dispose([X, Y, state, stepLogits, whole, begin, once.logits, once.state, stepped]);
      tf.dispose([batchIds, batchState, batched.logits, batched.state, row2]);
      model.dispose();
    });
  }
});

describe('memory', () => {
  it.each(['ops', 'fused'] as const)(
    'tensor count is flat over 50 forward/backward steps with state carried (and dispose frees all), recurrence %s',
    (recurrence) => {
      const before = tf.memory().numTensors;
      const config = tinyConfig('layers', { cell: 'lstm', layers: 2, bidirectional: false });
      const model = createLayersModel(config, { seed: 9, recurrence });
      const X = randomIds(3, 5, config.vocabSize, 1);
      const Y = randomIds(3, 5, config.vocabSize, 2);
      let state = model.beginState(3);
      const afterSetup = tf.memory().numTensors;
      for (let step = 0; step < 50; step++) {
        const next = tf.tidy(() => {
          let carried: tf.Tensor2D[] = [];
          const { grads } = tf.variableGrads(() => {
            const out = model.forward(X, state);
            // Keep the new state (detached from the tape, as training between sequential batches).
            carried = out.state.map((s) => tf.keep(tf.clone(s)));
            return lossOf(out.logits, Y, config.vocabSize);
          }, model.variables);
          for (const v of model.variables) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 0.1)));
          return carried;
        });
        tf.dispose(state);
        state = next;
        expect(tf.memory().numTensors).toBe(afterSetup);
      }
      tf.dispose([X, Y, state]);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('errors a user can cause', () => {
  const bad: Array<[string, Partial<ModelConfig> & Record<string, unknown>, RegExp]> = [
    ['hidden 0', { hidden: 0 }, /hidden/i],
    ['negative layers', { layers: -1 }, /layers/i],
    ['zero layers', { layers: 0 }, /layers/i],
    ['unknown cell', { cell: 'transformer' as never }, /cell/i],
    ['vocabSize 0', { vocabSize: 0 }, /vocab/i],
    ['fractional hidden', { hidden: 2.5 }, /hidden/i],
  ];
  for (const [what, overrides, message] of bad) {
    it(`${what} is a clear error`, () => {
      expect(() => createLayersModel(tinyConfig('layers', overrides))).toThrow(message);
    });
  }

  it('a scratch config is refused with a pointer to createScratchModel', () => {
    expect(() => createLayersModel(tinyConfig('scratch'))).toThrow(/createScratchModel/);
  });

  it('bad ids and states are clear errors, not NaNs or deep shape errors', () => {
    const config = tinyConfig('layers', { cell: 'gru', vocabSize: 5 });
    const model = createLayersModel(config, { seed: 1 });
    const state = model.beginState(2);
    const outOfRange = tf.tensor2d(
      [
        [0, 5],
        [1, 2],
      ],
      [2, 2],
      'int32',
    );
    const negative = tf.tensor2d(
      [
        [0, -1],
        [1, 2],
      ],
      [2, 2],
      'int32',
    );
    const floats = tf.tensor2d(
      [
        [0, 1],
        [1, 2],
      ],
      [2, 2],
      'float32',
    );
    const good = tf.tensor2d(
      [
        [0, 1],
        [1, 2],
      ],
      [2, 2],
      'int32',
    );
    const wrongBatch = model.beginState(3);
    expect(() => model.forward(outOfRange, state)).toThrow(
      /token id 5 at position 1 is out of range for a vocabulary of 5 tokens/,
    );
    expect(() => model.forward(negative, state)).toThrow(/token id -1 .*out of range/);
    expect(() => model.forward(floats as tf.Tensor2D, state)).toThrow(/int32/);
    expect(() => model.forward(good, wrongBatch)).toThrow(/state\[0\] must be \[2, 4\]/);
    expect(() => model.forward(good, [])).toThrow(/state must hold 1 tensors/);
    expect(() => model.beginState(0)).toThrow(/batchSize/);
    const disposed = model.beginState(2);
    tf.dispose(disposed);
    expect(() => model.forward(good, disposed)).toThrow(/state\[0\] has been disposed/);
    tf.dispose([state, outOfRange, negative, floats, good, wrongBatch]);
    model.dispose();
    expect(() => model.beginState(1)).toThrow(/disposed/);
  });
});
