// Scratch and layers agree: the same weights give the same logits and final states.
//
// Mapping (see weights.ts): RNN and GRU copy as they are (GRU gate order z, r, h in both, and
// tfjs-layers' resetAfter: false is the notebooks' GRU); LSTM swaps the last two gate blocks,
// scratch (i, f, o, c) -> tfjs-layers (i, f, c, o), in the input kernel, recurrent kernel and bias.
import { createScratchModel } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createLayersModel } from './layers-model.js';
import {
  CELLS,
  maxAbsDiff,
  randomIds,
  randomizeWeights,
  randomState,
  tinyConfig,
} from './test-utils/helpers.js';
import { copyLayersWeightsToScratch, copyScratchWeightsToLayers, namedWeights } from './weights.js';

const measured: string[] = [];
afterAll(() => {
  console.log(
    `[layers] scratch vs layers, max abs difference (logits / final states):\n${measured.join('\n')}`,
  );
});

describe('scratch and layers agree within 1e-5', () => {
  // Op by op (scratch's tfjs ops against tfjs-layers' own recurrence), and both through the fused kernel.
  for (const recurrence of ['ops', 'fused'] as const)
    for (const cell of CELLS) {
      for (const layers of [1, 2]) {
        for (const bidirectional of [false, true]) {
          const label = `${cell}, ${layers} layer(s), ${bidirectional ? 'bidirectional' : 'unidirectional'}, recurrence ${recurrence}`;
          it(label, () => {
            const seed = 100 * CELLS.indexOf(cell) + 10 * layers + (bidirectional ? 1 : 0);
            const shape = { cell, layers, bidirectional, vocabSize: 7, hidden: 4 };
            const scratch = createScratchModel(tinyConfig('scratch', shape), { seed, recurrence });
            const again = createScratchModel(tinyConfig('scratch', shape), { seed: seed + 5 });
            // Tensor accounting covers this package's side; the scratch models' own is tested in cells.
            const tensorsBefore = tf.memory().numTensors;
            const model = createLayersModel(tinyConfig('layers', shape), { seed: seed + 1, recurrence });
            // O(1) weights, so a wrong gate order or formulation cannot hide in near-linear activations.
            randomizeWeights(scratch, seed + 2);
            randomizeWeights(again, seed + 6);
            copyScratchWeightsToLayers(scratch, model);

            const ids = randomIds(3, 6, shape.vocabSize, seed + 3);
            const state = randomState(scratch, 3, seed + 4);
            const a = scratch.forward(ids, state);
            const b = model.forward(ids, state);
            const logitsDiff = maxAbsDiff(a.logits, b.logits);
            expect(b.state).toHaveLength(a.state.length);
            const stateDiff = Math.max(...a.state.map((s, i) => maxAbsDiff(s, b.state[i]!)));
            // The comparison must be about something: outputs far from zero and from each other.
            const spread = tf.tidy(() => tf.moments(a.logits).variance.dataSync()[0] as number);
            expect(spread).toBeGreaterThan(1e-2);
            measured.push(`  ${label}: ${logitsDiff.toExponential(2)} / ${stateDiff.toExponential(2)}`);
            expect(logitsDiff).toBeLessThan(1e-5);
            expect(stateDiff).toBeLessThan(1e-5);

            // And back: layers weights copied into a fresh scratch model reproduce the original weights.
            copyLayersWeightsToScratch(model, again);
            const original = namedWeights(scratch);
            for (const [name, v] of Object.entries(namedWeights(again))) {
              expect(maxAbsDiff(v, original[name]!)).toBe(0);
            }

            tf.dispose([ids, state, a.logits, a.state, b.logits, b.state]);
            model.dispose();
            expect(tf.memory().numTensors).toBe(tensorsBefore);
            scratch.dispose();
            again.dispose();
          });
        }
      }
    }
});
