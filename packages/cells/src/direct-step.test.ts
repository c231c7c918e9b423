import '@tensorflow/tfjs-backend-wasm';
// The wasm backend lacks the gradient of gather; the apps get it from @rnnlm/backend, as here.
import { registerWasmTrainingKernels } from '@rnnlm/backend';
import { type CellKind, kernelRuntime } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fusedCrossEntropy } from './fused/index.js';
import type { LabelledBatch, LanguageModel, ModelConfig, State } from './model.js';
import { createScratchModel } from './scratch-model.js';

// A model's `lossAndGradients` (fused/direct-step.ts) against the tape it replaces in training: the
// model's forward pass, the fused cross-entropy and tf.variableGrads, on the backends that run the kernels.

registerWasmTrainingKernels();

const [T, B, V] = [5, 3, 7];
const batch: LabelledBatch = {
  ids: Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 3) % V),
  labels: Int32Array.from({ length: B * T }, (_, i) => (i * 4 + 1) % V),
  batchSize: B,
  numSteps: T,
};
const TRAINING = { training: true, maskSeed: 3 } as const;

function model(cell: CellKind, extra: Partial<ModelConfig> = {}, options = {}): LanguageModel {
  const config: ModelConfig = {
    impl: 'scratch',
    cell,
    vocabSize: V,
    hidden: 6,
    layers: 1,
    bidirectional: false,
  };
  const m = createScratchModel({ ...config, ...extra }, { seed: 4, recurrence: 'fused', ...options });
  // Larger weights than the 0.01 init, so that every gate and nonlinearity matters.
  for (const [i, v] of m.variables.entries()) {
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 50 + i)));
  }
  return m;
}

/** A state of the model's layout with values of its own, as a carried state has. */
function carriedState(m: LanguageModel): State {
  return m.beginState(B).map((s, i) => {
    const carried = tf.randomNormal(s.shape, 0, 0.5, 'float32', 70 + i) as tf.Tensor2D;
    s.dispose();
    return carried;
  });
}

/** A float32 array's bit patterns: equal bit for bit, -0 and NaN included. */
function bits(values: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

interface Step {
  loss: number;
  grads: number[][];
  state: number[][];
}

/** The tape's step, as the trainer takes it without `lossAndGradients`. */
function tapeStep(m: LanguageModel, state: State): Step {
  let next: State = [];
  const { value, grads } = tf.variableGrads(() => {
    const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
    const timeMajor = Int32Array.from(
      { length: B * T },
      (_, i) => batch.labels[(i % B) * T + Math.floor(i / B)]!,
    );
    const out = m.forward(ids, state, TRAINING);
    next = out.state.map((s) => tf.keep(s));
    return fusedCrossEntropy(out.logits, tf.tensor1d(timeMajor, 'int32'));
  }, m.variables);
  const step = {
    loss: value.dataSync()[0]!,
    grads: m.variables.map((v) => bits(grads[v.name]!.dataSync())),
    state: next.map((s) => bits(s.dataSync())),
  };
  tf.dispose([value, ...Object.values(grads), ...next]);
  return step;
}

function directStep(m: LanguageModel, state: State): Step {
  const r = m.lossAndGradients!(batch, state, TRAINING);
  expect(r).not.toBeNull();
  const step = {
    loss: r!.loss,
    grads: r!.grads.map((g) => bits(g.dataSync())),
    state: r!.state.map((s) => bits(s.dataSync())),
  };
  for (const [i, g] of r!.grads.entries()) expect(g.shape).toEqual(m.variables[i]!.shape);
  tf.dispose([...r!.grads, ...r!.state]);
  return step;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`lossAndGradients on ${backend}`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });
    afterAll(async () => {
      await tf.setBackend('cpu');
    });

    const stacks: Array<[string, Partial<ModelConfig>]> = [
      ['one layer, one-hot input', {}],
      ['two layers', { layers: 2 }],
      ['an embedding and two layers', { embedding: 4, layers: 2 }],
    ];
    for (const cell of ['rnn', 'gru', 'lstm'] as const) {
      it.each(stacks)(`${cell}, %s: the tape's loss, gradients and state, bit for bit`, (_, extra) => {
        const m = model(cell, extra);
        const state = carriedState(m);
        const expected = tapeStep(m, state);
        const got = directStep(m, state);
        expect(got.loss).toBe(expected.loss);
        expect(got.grads).toHaveLength(m.variables.length);
        for (const [i, g] of got.grads.entries()) expect(g, m.weightNames[i]).toEqual(expected.grads[i]);
        expect(got.state).toEqual(expected.state);
        // The loss is the mean cross-entropy: near log V for these weights, not zero.
        expect(got.loss).toBeGreaterThan(0.5);
        tf.dispose(state);
        m.dispose();
      });
    }

    it('makes only what it returns, and leaves no activations held in kernel memory', () => {
      const m = model('lstm', { layers: 2 });
      const state = carriedState(m);
      tf.dispose(m.lossAndGradients!(batch, state, TRAINING)!.grads);
      const tensors = tf.memory().numTensors;
      const held = kernelRuntime()!.arena.heldBlocks;
      for (let i = 0; i < 20; i++) {
        const r = m.lossAndGradients!(batch, state, TRAINING)!;
        expect(r.grads.length + r.state.length).toBe(m.variables.length + 4);
        tf.dispose([...r.grads, ...r.state]);
      }
      expect(tf.memory().numTensors).toBe(tensors);
      expect(kernelRuntime()!.arena.heldBlocks).toBe(held);
      tf.dispose(state);
      m.dispose();
    });

    it('says null where it does not apply: the tape then trains', () => {
      const cases: Array<[Partial<ModelConfig>, object]> = [
        [{ dropout: 0.3 }, {}],
        [{ bidirectional: true }, {}],
        [{ embedding: 6, tieWeights: true }, {}],
        [{}, { recurrence: 'ops' }],
      ];
      for (const [extra, options] of cases) {
        const m = model('gru', extra, options);
        const state = m.beginState(B);
        expect(m.lossAndGradients!(batch, state, TRAINING), JSON.stringify({ extra, options })).toBeNull();
        tf.dispose(state);
        m.dispose();
      }
      // Dropout is a training matter: evaluation's mode has none, so the step applies.
      const m = model('gru', { dropout: 0.3 });
      const state = m.beginState(B);
      const r = m.lossAndGradients!(batch, state, { training: false })!;
      expect(r).not.toBeNull();
      tf.dispose([...r.grads, ...r.state, ...state]);
      m.dispose();
    });

    it('refuses a batch that does not fit its sizes, or an id outside the vocabulary', () => {
      const m = model('rnn');
      const state = m.beginState(B);
      expect(() => m.lossAndGradients!({ ...batch, ids: batch.ids.subarray(1) }, state, TRAINING)).toThrow(
        /ids must hold batchSize x numSteps = 15 token ids/,
      );
      const labels = batch.labels.slice();
      labels[7] = V;
      expect(() => m.lossAndGradients!({ ...batch, labels }, state, TRAINING)).toThrow(
        /token id 7 at sequence 1, step 2 is out of range for a vocabulary of 7 tokens/,
      );
      const wider = m.beginState(B + 1);
      expect(() => m.lossAndGradients!(batch, wider, TRAINING)).toThrow(/state/);
      tf.dispose([...state, ...wider]);
      m.dispose();
    });
  });
}
