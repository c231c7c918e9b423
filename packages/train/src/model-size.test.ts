import { CELL_KINDS, type ModelConfig } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createModel } from './create-model.js';
import { MAX_PARAMETERS, modelSize, parameterCount } from './model-size.js';

describe('parameterCount', () => {
  it('equals the sizes of the variables of every kind of model it describes', () => {
    for (const impl of ['scratch', 'layers'] as const) {
      for (const cell of CELL_KINDS) {
        for (const [layers, bidirectional] of [
          [1, false],
          [2, false],
          [2, true],
        ] as const) {
          const plain: ModelConfig = { impl, cell, vocabSize: 7, hidden: 3, layers, bidirectional };
          const top = 3 * (bidirectional ? 2 : 1);
          for (const config of [
            plain,
            { ...plain, embedding: 5 },
            { ...plain, embedding: top, tieWeights: true },
          ]) {
            const model = createModel(config, { seed: 0 });
            const counted = model.variables.reduce((sum, v) => sum + v.size, 0);
            model.dispose();
            expect(parameterCount(config), JSON.stringify(config)).toBe(counted);
          }
        }
      }
    }
    expect(tf.memory().numTensors).toBe(0);
  });

  it('flags a model past the limit without building it', () => {
    const big: ModelConfig = {
      impl: 'scratch',
      cell: 'lstm',
      vocabSize: 28,
      hidden: 100000,
      layers: 1,
      bidirectional: false,
    };
    const size = modelSize(big);
    // 4 gates: 4e5 x (28 + 1e5 + 1) for the layer, then the head (1e5 x 28 + 28).
    expect(size.parameters).toBe(400000 * (28 + 100000 + 1) + 100000 * 28 + 28);
    expect(size.tooBig).toBe(true);
    expect(modelSize({ ...big, hidden: 256 }).tooBig).toBe(false);
    expect(MAX_PARAMETERS).toBe(2 ** 28);
  });

  it('counts an embedding, and tied weights once', () => {
    const words: ModelConfig = {
      impl: 'scratch',
      cell: 'lstm',
      vocabSize: 10000,
      hidden: 128,
      layers: 1,
      bidirectional: false,
    };
    const layer = (input: number) => 4 * 128 * (input + 128 + 1);
    expect(parameterCount(words)).toBe(layer(10000) + 128 * 10000 + 10000);
    expect(parameterCount({ ...words, embedding: 64 })).toBe(10000 * 64 + layer(64) + 128 * 10000 + 10000);
    expect(parameterCount({ ...words, embedding: 128, tieWeights: true })).toBe(
      10000 * 128 + layer(128) + 10000,
    );
  });
});
