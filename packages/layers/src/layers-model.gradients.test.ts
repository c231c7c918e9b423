// Gradients of the layers models, both ways (tfjs-layers' own and the fused kernels), against central
// differences: apart from layers-model.test.ts for its length.
import type { ModelConfig } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayersModel } from './layers-model.js';
import { CELLS, lossOf, randomIds, randomizeWeights, randomState, tinyConfig } from './test-utils/helpers.js';

let tensorsAtStart = 0;
beforeEach(() => {
  tensorsAtStart = tf.memory().numTensors;
});
afterEach(() => {
  // Every test disposes what it made, models included.
  expect(tf.memory().numTensors).toBe(tensorsAtStart);
});

/** Central finite differences of `loss` with respect to a few entries of every variable. */
function checkGradients(
  config: ModelConfig,
  seed: number,
  recurrence: 'ops' | 'fused',
): { worst: number; checked: number } {
  const model = createLayersModel(config, { seed, recurrence });
  randomizeWeights(model, seed + 100);
  const X = randomIds(2, 4, config.vocabSize, seed + 1);
  const Y = randomIds(2, 4, config.vocabSize, seed + 2);
  const state = randomState(model, 2, seed + 3);
  const lossValue = () =>
    tf.tidy(() => lossOf(model.forward(X, state).logits, Y, config.vocabSize).dataSync()[0] as number);
  const { value, grads } = tf.variableGrads(
    () => lossOf(model.forward(X, state).logits, Y, config.vocabSize),
    model.variables,
  );
  let worst = 0;
  let checked = 0;
  const eps = 1e-2;
  let pick = seed;
  for (const variable of model.variables) {
    const grad = grads[variable.name] as tf.Tensor;
    const g = grad.dataSync();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(0);
    const original = variable.dataSync().slice();
    for (let k = 0; k < 3; k++) {
      pick = (Math.imul(pick, 1103515245) + 12345) >>> 0;
      const index = pick % original.length;
      const perturbed = original.slice();
      perturbed[index] = (original[index] as number) + eps;
      tf.tidy(() => variable.assign(tf.tensor(perturbed, variable.shape)));
      const plus = lossValue();
      perturbed[index] = (original[index] as number) - eps;
      tf.tidy(() => variable.assign(tf.tensor(perturbed, variable.shape)));
      const minus = lossValue();
      tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
      const numeric = (plus - minus) / (2 * eps);
      const analytic = g[index] as number;
      // float32 losses: allow an absolute floor plus a relative part.
      const error = Math.abs(numeric - analytic) / (2e-3 + 2e-2 * Math.abs(numeric));
      worst = Math.max(worst, error);
      checked++;
    }
  }
  tf.dispose([value, grads, X, Y, state]);
  model.dispose();
  return { worst, checked };
}

describe('gradients', () => {
  for (const recurrence of ['ops', 'fused'] as const)
    for (const cell of CELLS) {
      for (const [layers, bidirectional] of [
        [1, false],
        [2, true],
      ] as const) {
        it(`${cell}, ${layers} layer(s)${bidirectional ? ', bidirectional' : ''}, recurrence ${recurrence}: finite, non-zero, and match central differences`, () => {
          const { worst, checked } = checkGradients(
            tinyConfig('layers', { cell, layers, bidirectional, vocabSize: 5, hidden: 3 }),
            40 + layers,
            recurrence,
          );
          console.log(
            `[layers] gradient check (${recurrence}) ${cell} L${layers}${bidirectional ? ' bi' : ''}: ${checked} entries, worst error/tolerance ${worst.toFixed(3)}`,
          );
          expect(worst).toBeLessThan(1);
        });
      }
    }
});
