import { createScratchModel, type ModelConfig } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayersModel } from './layers-model.js';
import { maxAbsDiff, randomIds, tinyConfig } from './test-utils/helpers.js';
import { layersToScratchWeights, namedWeights } from './weights.js';

let tensorsAtStart = 0;
beforeEach(() => {
  tensorsAtStart = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(tensorsAtStart);
});

const SHAPES: Array<Partial<ModelConfig>> = [
  { cell: 'lstm', layers: 2 },
  { cell: 'lstm', bidirectional: true, embedding: 5 },
  { cell: 'gru', layers: 2, embedding: 6, tieWeights: true, hidden: 6 },
  { cell: 'rnn' },
];

describe('init schemes in the layers model', () => {
  it('uniform: the same seed builds the scratch model exactly (gates reordered), and the same logits', () => {
    for (const shape of SHAPES) {
      const overrides = { vocabSize: 9, hidden: 6, init: 'uniform' as const, ...shape };
      const scratch = createScratchModel(tinyConfig('scratch', overrides), { seed: 4 });
      const layers = createLayersModel(tinyConfig('layers', overrides), { seed: 4 });
      const own = namedWeights(layers);
      const asScratch = layersToScratchWeights(layers.config, own);
      expect(Object.keys(asScratch)).toEqual([...scratch.weightNames]);
      scratch.weightNames.forEach((name, i) => {
        expect(asScratch[name]!.dataSync()).toEqual(scratch.variables[i]!.dataSync());
      });
      tf.tidy(() => {
        const ids = randomIds(2, 5, 9, 1);
        const a = scratch.forward(ids, scratch.beginState(2)).logits;
        const b = layers.forward(ids, layers.beginState(2)).logits;
        expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
      });
      tf.dispose(Object.values(asScratch));
      scratch.dispose();
      layers.dispose();
    }
  });

  it("normal, said or not, keeps tfjs-layers' seeded N(0, 0.01²) initialisers and zero biases, bit for bit", () => {
    const config = tinyConfig('layers', { vocabSize: 9, hidden: 6, layers: 2 });
    const plain = createLayersModel(config, { seed: 2 });
    const said = createLayersModel({ ...config, init: 'normal' }, { seed: 2 });
    expect(said.config).toEqual(plain.config);
    plain.variables.forEach((v, i) => {
      expect(said.variables[i]!.dataSync()).toEqual(v.dataSync());
    });
    // The first kernel is what tfjs-layers' randomNormal draws from the first derived seed.
    const first = plain.variables[0]!;
    const seedOfFirst = deriveFirstSeed(2);
    const expected = tf.tidy(() =>
      tfl.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: seedOfFirst }).apply(first.shape),
    );
    expect(maxAbsDiff(first, expected)).toBe(0);
    expect([...plain.variables[2]!.dataSync()].every((x) => x === 0)).toBe(true);
    tf.dispose(expected);
    plain.dispose();
    said.dispose();
  });
});

/** deriveSeed(seed, 0) of layers-model.ts, written out: splitmix32 of seed + golden ratio. */
function deriveFirstSeed(seed: number): number {
  let z = (seed + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
