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
import {
  copyLayersWeightsToScratch,
  copyScratchWeightsToLayers,
  layersToScratchWeights,
  namedWeights,
} from './weights.js';

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

describe('scratch and layers agree with an embedding, and with the head tied to it', () => {
  const shapes = [
    { label: 'embedding 5, 2 layers', layers: 2, bidirectional: false, embedding: 5 },
    { label: 'tied, bidirectional', layers: 1, bidirectional: true, embedding: 8, tieWeights: true },
    { label: 'tied, 2 layers', layers: 2, bidirectional: false, embedding: 4, tieWeights: true },
  ];
  for (const recurrence of ['ops', 'fused'] as const)
    for (const cell of CELLS)
      for (const { label, ...extra } of shapes) {
        it(`${cell}, ${label}, recurrence ${recurrence}: logits, states and every gradient`, () => {
          const seed = 7 + CELLS.indexOf(cell);
          const shape = { cell, vocabSize: 7, hidden: 4, ...extra };
          const scratch = createScratchModel(tinyConfig('scratch', shape), { seed, recurrence });
          const tensorsBefore = tf.memory().numTensors;
          const model = createLayersModel(tinyConfig('layers', shape), { seed: seed + 1, recurrence });
          expect(model.weightNames[0]).toBe('embedding/embeddings');
          expect(model.weightNames.includes('head/kernel')).toBe(!extra.tieWeights);
          expect(model.variables).toHaveLength(scratch.variables.length);
          randomizeWeights(scratch, seed + 2);
          copyScratchWeightsToLayers(scratch, model);

          const ids = randomIds(3, 5, shape.vocabSize, seed + 3);
          const labels = randomIds(3, 5, shape.vocabSize, seed + 5);
          const state = randomState(scratch, 3, seed + 4);
          // A loss that reaches the logits and the final state, so that every weight has a gradient.
          const run = (m: typeof model) =>
            tf.variableGrads(() => {
              const out = m.forward(ids, state);
              const onehot = tf.oneHot(tf.reshape(tf.transpose(labels), [-1]), shape.vocabSize);
              const ce = tf.losses.softmaxCrossEntropy(onehot, out.logits);
              return tf.addN([ce, ...out.state.map((s) => tf.mean(tf.square(s)))]) as tf.Scalar;
            }, m.variables);
          const a = run(scratch);
          const b = run(model);
          expect(Math.abs(a.value.dataSync()[0]! - b.value.dataSync()[0]!)).toBeLessThan(1e-5);
          // The layers model's gradients, in scratch's names and gate order, against scratch's.
          const named = Object.fromEntries(
            model.weightNames.map((n, i) => [n, b.grads[model.variables[i]!.name]!]),
          );
          const converted = layersToScratchWeights(model.config, named);
          let worst = 0;
          for (const [i, name] of scratch.weightNames.entries()) {
            const g = a.grads[scratch.variables[i]!.name]!;
            expect(
              tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!),
              `${name} has a gradient`,
            ).toBeGreaterThan(1e-3);
            worst = Math.max(worst, maxAbsDiff(g, converted[name]!));
          }
          measured.push(`  ${cell}, ${label}, ${recurrence}: gradients ${worst.toExponential(2)}`);
          expect(worst).toBeLessThan(1e-5);

          tf.dispose([
            ids,
            labels,
            state,
            a.value,
            b.value,
            ...Object.values(a.grads),
            ...Object.values(b.grads),
          ]);
          tf.dispose(Object.values(converted));
          model.dispose();
          expect(tf.memory().numTensors).toBe(tensorsBefore);
          scratch.dispose();
        });
      }
});

describe('scratch and layers agree under the same dropout masks', () => {
  // Training forward calls with one mask seed: both draw the same masks for the same sites, so the
  // logits and every gradient agree (tfjs-layers' own recurrence, and the fused kernels).
  for (const recurrence of ['ops', 'fused'] as const)
    for (const [cell, layers, bidirectional, mode, embedding] of [
      ['lstm', 2, false, 'standard', undefined],
      ['gru', 2, true, 'variational', undefined],
      ['rnn', 3, false, 'standard', undefined],
      // The embedded tokens are dropped too, by both.
      ['lstm', 2, false, 'variational', 5],
    ] as const) {
      it(`${cell}, ${layers} layers, bidirectional ${bidirectional}, ${mode}, embedding ${embedding}, recurrence ${recurrence}`, () => {
        const shape = {
          cell,
          layers,
          bidirectional,
          vocabSize: 7,
          hidden: 4,
          dropout: 0.4,
          dropoutMode: mode,
          ...(embedding ? { embedding } : {}),
        };
        const scratch = createScratchModel(tinyConfig('scratch', shape), { seed: 3, recurrence });
        const model = createLayersModel(tinyConfig('layers', shape), { seed: 4, recurrence });
        randomizeWeights(scratch, 21);
        copyScratchWeightsToLayers(scratch, model);
        const ids = randomIds(3, 6, shape.vocabSize, 22);
        const state = randomState(scratch, 3, 23);
        const before = tf.memory().numTensors;
        const training = { training: true, maskSeed: 99 } as const;
        const run = (m: typeof scratch) => {
          let logits: tf.Tensor | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const out = m.forward(ids, state, training);
            logits = tf.keep(out.logits);
            return tf.sum(
              tf.mul(out.logits, tf.randomNormal(out.logits.shape, 0, 1, 'float32', 5)),
            ) as tf.Scalar;
          }, m.variables);
          value.dispose();
          const named: Record<string, tf.Tensor> = {};
          m.weightNames.forEach((name, i) => {
            named[name] = grads[m.variables[i]!.name]!;
          });
          return { logits: logits!, grads: named };
        };
        const a = run(scratch);
        const b = run(model);
        const evaluation = scratch.forward(ids, state);
        // The masks change the result: this comparison is about dropout.
        expect(maxAbsDiff(a.logits, evaluation.logits)).toBeGreaterThan(0.1);
        expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-5);
        // Gradients compared weight for weight, in scratch's layout (see weights.ts for the mapping).
        const bInScratch = layersToScratchWeights(model.config, b.grads);
        for (const [name, g] of Object.entries(a.grads)) {
          expect(maxAbsDiff(g, bInScratch[name]!)).toBeLessThan(1e-4);
        }
        tf.dispose([a.logits, b.logits, evaluation.logits, ...evaluation.state]);
        tf.dispose([...Object.values(a.grads), ...Object.values(b.grads), ...Object.values(bInScratch)]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([ids, ...state]);
        model.dispose();
        scratch.dispose();
      });
    }
});
