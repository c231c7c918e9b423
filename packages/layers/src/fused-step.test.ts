// The layers models train through the fused kernels at no cost over the scratch models: a training
// step (forward, loss and every weight's gradient) runs exactly the tfjs kernels the scratch model of
// the same architecture runs, in the same order. No per-step gathering of tfjs-layers' weights, no
// reordering of the LSTM's gate blocks (the kernels read tfjs-layers' order i, f, c~, o in place), no
// separate head op. A step that did any of that would show here as extra kernels.
import { createScratchModel, fusedCrossEntropy, type LanguageModel, type ModelConfig } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayersModel } from './layers-model.js';
import { CELLS, lossOf, randomIds, randomizeWeights, randomState, tinyConfig } from './test-utils/helpers.js';

let tensorsAtStart = 0;
beforeEach(() => {
  tensorsAtStart = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(tensorsAtStart);
});

/** The names of the tfjs kernels one training step of `model` runs, in order. */
async function stepKernels(model: LanguageModel, ids: tf.Tensor2D, labels: tf.Tensor2D): Promise<string[]> {
  const state = model.beginState(ids.shape[0]);
  const mode = { training: true, maskSeed: 3 } as const;
  const info = await tf.profile(() => {
    tf.tidy(() => {
      tf.variableGrads(
        () => lossOf(model.forward(ids, state, mode).logits, labels, model.config.vocabSize),
        model.variables,
      );
    });
  });
  tf.dispose(state);
  return info.kernels.map((k) => k.name);
}

const SHAPES: Array<[string, Partial<ModelConfig>]> = [
  ['1 layer', { layers: 1 }],
  ['2 layers', { layers: 2 }],
  ['2 layers, bidirectional', { layers: 2, bidirectional: true }],
  ['an embedding, tied head, dropout', { embedding: 5, tieWeights: true, dropout: 0.2, hidden: 5 }],
];

describe('a layers model trains through the same tfjs kernels as the scratch model', () => {
  for (const cell of CELLS) {
    for (const [label, shape] of SHAPES) {
      it(`${cell}, ${label}`, async () => {
        const scratch = createScratchModel(tinyConfig('scratch', { cell, ...shape }), {
          recurrence: 'fused',
        });
        const layers = createLayersModel(tinyConfig('layers', { cell, ...shape }), { recurrence: 'fused' });
        const ids = randomIds(3, 6, scratch.config.vocabSize, 1);
        const labels = randomIds(3, 6, scratch.config.vocabSize, 2);
        const expected = await stepKernels(scratch, ids, labels);
        const actual = await stepKernels(layers, ids, labels);
        // About the fused path: a fused layer op and its gradient ran.
        expect(expected.some((name) => /^Rnnlm\w+Layer$/.test(name))).toBe(true);
        expect(expected).toContain('RnnlmSequenceGrad');
        expect(actual).toEqual(expected);
        tf.dispose([ids, labels]);
        scratch.dispose();
        layers.dispose();
      });
    }
  }
});

/** A float32 array's bit patterns: equal bit for bit, -0 included. */
function bits(values: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

describe("a layers model's lossAndGradients is the tape's training step, bit for bit", () => {
  const mode = { training: true, maskSeed: 3 } as const;
  const shapes: Array<[string, Partial<ModelConfig>]> = [
    ['1 layer', { layers: 1 }],
    ['2 layers', { layers: 2 }],
    ['an embedding', { embedding: 5, layers: 2 }],
  ];
  for (const cell of CELLS) {
    for (const [label, shape] of shapes) {
      it(`${cell}, ${label}`, () => {
        const model = createLayersModel(tinyConfig('layers', { cell, ...shape }), { recurrence: 'fused' });
        randomizeWeights(model, 11);
        const [B, T] = [3, 6];
        const ids = randomIds(B, T, model.config.vocabSize, 1);
        const labels = randomIds(B, T, model.config.vocabSize, 2);
        const state = randomState(model, B, 20);
        let next: tf.Tensor[] = [];
        const { value, grads } = tf.variableGrads(() => {
          const out = model.forward(ids, state, mode);
          next = out.state.map((s) => tf.keep(s));
          const timeMajor = tf.reshape(tf.transpose(labels), [-1]) as tf.Tensor1D;
          return fusedCrossEntropy(out.logits, timeMajor);
        }, model.variables);
        const batch = {
          ids: ids.dataSync() as Int32Array,
          labels: labels.dataSync() as Int32Array,
          batchSize: B,
          numSteps: T,
        };
        const direct = model.lossAndGradients!(batch, state, mode)!;
        expect(direct).not.toBeNull();
        expect(direct.loss).toBe(value.dataSync()[0]);
        for (const [i, v] of model.variables.entries()) {
          expect(bits(direct.grads[i]!.dataSync()), model.weightNames[i]).toEqual(
            bits(grads[v.name]!.dataSync()),
          );
        }
        expect(direct.state.map((s) => bits(s.dataSync()))).toEqual(next.map((s) => bits(s.dataSync())));
        tf.dispose([
          value,
          ...Object.values(grads),
          ...next,
          ...direct.grads,
          ...direct.state,
          ...state,
          ids,
          labels,
        ]);
        model.dispose();
      });
    }
  }
});
