// An export opened the way a tfjs user opens it (test-utils/tfjs-consumer.ts: only @tensorflow/tfjs and
// the files) gives the same next-token distribution as the rnnlm model, at every step, within 1e-5.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CellKind, LanguageModel, ModelConfig, ModelImpl } from '@rnnlm/cells';
import { loadWeights, type NamedWeights } from '@rnnlm/layers';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createModel } from './create-model.js';
import { exportInputMapping, exportTfjsLayers } from './export.js';
import { saveTfjsLayersExport } from './node.js';
import { loadExportedModel, readVocabulary } from './test-utils/tfjs-consumer.js';

const TOKENS = ['<unk>', 'a', 'b', 'c', 'd', 'e', ' '];
const V = TOKENS.length;

/** O(1) seeded weights: the notebooks' 0.01 init would let a wrong gate order pass a 1e-5 check. */
function randomize(model: LanguageModel, seed: number): void {
  const weights: NamedWeights = {};
  model.weightNames.forEach((name, i) => {
    weights[name] = tf.randomNormal(model.variables[i]!.shape, 0, 0.5, 'float32', seed + i);
  });
  loadWeights(model, weights);
  tf.dispose(Object.values(weights));
}

function ids(batch: number, steps: number, seed: number): number[][] {
  let s = seed;
  return Array.from({ length: batch }, () =>
    Array.from({ length: steps }, () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s % V;
    }),
  );
}

/** rnnlm's own next-token distribution from a zero state, as [batch, steps, V]. */
function rnnlmProbabilities(model: LanguageModel, input: number[][]): number[][][] {
  const [B, T] = [input.length, input[0]!.length];
  return tf.tidy(() => {
    const x = tf.tensor2d(input, [B, T], 'int32');
    const state = model.beginState(B);
    const { logits } = model.forward(x, state);
    const probs = tf.transpose(tf.reshape(tf.softmax(logits), [T, B, V]), [1, 0, 2]);
    return probs.arraySync() as number[][][];
  });
}

function maxDiff(a: number[][][], b: number[][][]): number {
  return Math.max(...a.flat(2).map((v, i) => Math.abs(v - (b.flat(2)[i] as number))));
}

async function exportToDisk(model: LanguageModel): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'rnnlm-export-')), 'out');
  const before = tf.memory().numTensors;
  const exported = await exportTfjsLayers({ model, tokens: TOKENS, token: 'char', clean: 'unicode' });
  expect(tf.memory().numTensors).toBe(before);
  await saveTfjsLayersExport(dir, exported);
  return dir;
}

const cases: Array<{
  impl: ModelImpl;
  cell: CellKind;
  layers: number;
  bidirectional: boolean;
  hidden: number;
  embedding?: number;
  tieWeights?: boolean;
}> = [];
for (const impl of ['scratch', 'layers'] as const)
  for (const cell of ['rnn', 'gru', 'lstm'] as const)
    for (const layers of [1, 2]) cases.push({ impl, cell, layers, bidirectional: false, hidden: 4 });
// Stacked bidirectional (tf.layers.bidirectional has a bug history); hidden 3 puts the rnn in 'folded'.
for (const cell of ['rnn', 'lstm'] as const)
  cases.push({ impl: 'scratch', cell, layers: 2, bidirectional: true, hidden: 3 });
// A model's own embedding, and the head tied to it (exported as a copy of its transpose).
cases.push({ impl: 'scratch', cell: 'lstm', layers: 2, bidirectional: false, hidden: 4, embedding: 5 });
cases.push({
  impl: 'layers',
  cell: 'gru',
  layers: 1,
  bidirectional: false,
  hidden: 4,
  embedding: 4,
  tieWeights: true,
});
cases.push({
  impl: 'scratch',
  cell: 'rnn',
  layers: 1,
  bidirectional: true,
  hidden: 3,
  embedding: 6,
  tieWeights: true,
});

describe('tfjs-layers export, loaded by plain tfjs', () => {
  for (const [n, c] of cases.entries()) {
    const config: ModelConfig = { ...c, vocabSize: V };
    const mapping = exportInputMapping(config);
    const extra = `${c.embedding ? `, embedding ${c.embedding}` : ''}${c.tieWeights ? ', tied' : ''}`;
    it(`${c.impl} ${c.cell}, ${c.layers} layer(s)${c.bidirectional ? ', bidirectional' : ''}${extra} (${mapping} input)`, async () => {
      const model = createModel(config);
      randomize(model, 10 * n + 1);
      const dir = await exportToDisk(model);
      const input = ids(3, 6, n + 7);
      const expected = rnnlmProbabilities(model, input);

      const loaded = await loadExportedModel(join(dir, 'model.json'));
      const got = tf.tidy(() =>
        (loaded.predict(tf.tensor2d(input, [3, 6], 'int32')) as tf.Tensor).arraySync(),
      ) as number[][][];
      expect(maxDiff(got, expected)).toBeLessThan(1e-5);
      const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      expect(meta.format).toBe('layers-model');
      expect(meta.userDefinedMetadata.rnnlm.input).toBe(mapping);
      loaded.dispose();

      if (c.bidirectional) {
        expect(readdirSync(dir).sort()).toEqual(['model.json', 'vocabulary.json', 'weights.bin']);
      } else {
        // The step form: the prompt in one call, then one id per call, state kept between calls.
        const step = await loadExportedModel(join(dir, 'step', 'model.json'));
        const row = input[0]!;
        const stepped = tf.tidy(() => {
          const first = step.predict(tf.tensor2d([row.slice(0, 3)], [1, 3], 'int32')) as tf.Tensor;
          const rest = row
            .slice(3)
            .map((id) => step.predict(tf.tensor2d([[id]], [1, 1], 'int32')) as tf.Tensor);
          return tf.concat([first, ...rest], 1).arraySync() as number[][][];
        });
        expect(maxDiff(stepped, [expected[0]!])).toBeLessThan(1e-5);
        step.resetStates();
        const again = tf.tidy(
          () =>
            (
              step.predict(tf.tensor2d([[row[0]!]], [1, 1], 'int32')) as tf.Tensor
            ).arraySync() as number[][][],
        );
        expect(maxDiff(again, [[expected[0]![0]!]])).toBeLessThan(1e-5);
        step.dispose();
      }
      model.dispose();
    });
  }

  it('writes the vocabulary as plain JSON: the token of each id and how text was tokenized', async () => {
    const model = createModel({
      impl: 'scratch',
      cell: 'gru',
      vocabSize: V,
      hidden: 4,
      layers: 1,
      bidirectional: false,
    });
    const dir = await exportToDisk(model);
    const vocabulary = readVocabulary(join(dir, 'vocabulary.json'));
    expect(vocabulary).toMatchObject({
      format: 'rnnlm-vocabulary',
      token: 'char',
      clean: 'unicode',
      join: '',
      unknownId: 0,
    });
    expect(vocabulary.tokens).toEqual(TOKENS);
    model.dispose();
  });

  it('refuses a vocabulary of the wrong size, a non-empty directory and, even forced, a checkpoint', async () => {
    const model = createModel({
      impl: 'scratch',
      cell: 'rnn',
      vocabSize: V,
      hidden: 4,
      layers: 1,
      bidirectional: false,
    });
    await expect(
      exportTfjsLayers({ model, tokens: TOKENS.slice(1), token: 'char', clean: 'unicode' }),
    ).rejects.toThrow(/vocabulary has 6 tokens but the model expects 7/);
    const exported = await exportTfjsLayers({ model, tokens: TOKENS, token: 'char', clean: 'unicode' });
    const dir = mkdtempSync(join(tmpdir(), 'rnnlm-export-'));
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(saveTfjsLayersExport(dir, exported)).rejects.toThrow(/is not empty \(notes\.txt\)/);
    await saveTfjsLayersExport(dir, exported, { force: true });
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'rnnlm-checkpoint' }));
    await expect(saveTfjsLayersExport(dir, exported, { force: true })).rejects.toThrow(
      /holds an rnnlm checkpoint/,
    );
    model.dispose();
  });
});
