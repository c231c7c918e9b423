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
          const config: ModelConfig = { impl, cell, vocabSize: 7, hidden: 3, layers, bidirectional };
          const model = createModel(config, { seed: 0 });
          const counted = model.variables.reduce((sum, v) => sum + v.size, 0);
          model.dispose();
          expect(parameterCount(config), JSON.stringify(config)).toBe(counted);
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
});
