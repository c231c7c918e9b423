import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchModel, type LanguageModel } from '@rnnlm/cells';
import { Vocab } from '@rnnlm/text';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toArtifacts } from './checkpoint.js';
import { generate } from './generate.js';
import { type LoadedLanguageModel, loadLanguageModel as loadAnywhere } from './load.js';
import { loadLanguageModel, saveCheckpoint } from './node.js';

const vocab = new Vocab(Array.from('the quick brown fox'));
const corpus = { source: 'fox.txt', token: 'char', clean: 'unicode' } as const;
let original: LanguageModel;
let dir: string;

beforeAll(async () => {
  original = createScratchModel(
    { impl: 'scratch', cell: 'gru', vocabSize: vocab.size, hidden: 7, layers: 2, bidirectional: false },
    { seed: 9 },
  );
  dir = join(mkdtempSync(join(tmpdir(), 'rnnlm-load-')), 'model');
  await saveCheckpoint(dir, await toArtifacts({ model: original, vocab, corpus }));
});
afterAll(() => original.dispose());

/** The loaded model is the saved one: same vocabulary, settings, and the same sampled text. */
function expectSameModel(loaded: LoadedLanguageModel): void {
  expect(loaded.model.config).toEqual(original.config);
  expect(loaded.vocab.toJSON()).toEqual(vocab.toJSON());
  expect(loaded.corpus).toEqual(corpus);
  const options = { token: 'char' as const, temperature: 1, seed: 4 };
  expect(generate(loaded.model, loaded.vocab, 'the', 40, options).text).toBe(
    generate(original, vocab, 'the', 40, options).text,
  );
  loaded.dispose();
}

describe('loadLanguageModel', () => {
  it('loads in-memory artifacts and a tf.io handler, dropping training tensors and leaking none', async () => {
    const before = tf.memory().numTensors;
    expectSameModel(await loadAnywhere(await toArtifacts({ model: original, vocab, corpus })));
    expectSameModel(
      await loadAnywhere(tf.io.fromMemory(await toArtifacts({ model: original, vocab, corpus }))),
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads a model with an embedding tied to its head: the same config, weights and samples', async () => {
    const tied = createScratchModel(
      {
        impl: 'scratch',
        cell: 'lstm',
        vocabSize: vocab.size,
        hidden: 6,
        layers: 1,
        bidirectional: false,
        embedding: 6,
        tieWeights: true,
      },
      { seed: 3 },
    );
    for (const [i, v] of tied.variables.entries())
      tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 30 + i)));
    const loaded = await loadAnywhere(await toArtifacts({ model: tied, vocab, corpus }));
    expect(loaded.model.config).toEqual(tied.config);
    expect(loaded.model.weightNames).toEqual([
      'embedding/W_e',
      'layer0/forward/W_x',
      'layer0/forward/W_h',
      'layer0/forward/b',
      'head/b_q',
    ]);
    const options = { token: 'char' as const, temperature: 1, seed: 2 };
    expect(generate(loaded.model, loaded.vocab, 'the', 30, options).text).toBe(
      generate(tied, vocab, 'the', 30, options).text,
    );
    loaded.dispose();
    tied.dispose();
  });

  it('loads a folder on disk, or its model.json, from @rnnlm/train/node', async () => {
    expectSameModel(await loadLanguageModel(dir));
    expectSameModel(await loadLanguageModel(join(dir, 'model.json')));
    await expect(loadLanguageModel(join(dir, 'nothing-here'))).rejects.toThrow(/no checkpoint/);
  });

  it('loads from an http URL of model.json', async () => {
    const server = createServer((request, response) => {
      const file =
        request.url === '/m/model.json'
          ? 'model.json'
          : request.url === '/m/weights.bin'
            ? 'weights.bin'
            : null;
      if (!file) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200).end(readFileSync(join(dir, file)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expectSameModel(await loadAnywhere(`http://127.0.0.1:${port}/m/model.json`));
      expectSameModel(await loadLanguageModel(`http://127.0.0.1:${port}/m/model.json`));
      await expect(loadAnywhere(`http://127.0.0.1:${port}/missing/model.json`)).rejects.toThrow(
        /cannot load the model at http:\/\/127\.0\.0\.1:\d+\/missing\/model\.json/,
      );
    } finally {
      server.close();
    }
  });

  it('says what to do with a source it cannot read', async () => {
    await expect(loadAnywhere('some/folder')).rejects.toThrow(/@rnnlm\/train\/node/);
    await expect(loadAnywhere('indexeddb://rnnlm')).rejects.toThrow(
      /cannot load the model at indexeddb:\/\/rnnlm/,
    );
    await expect(loadAnywhere({ modelTopology: { format: 'other' } })).rejects.toThrow(
      /not an rnnlm checkpoint/,
    );
  });
});

describe('loadLanguageModel of @rnnlm/train/generate', () => {
  it('restores each implementation with its own factory: the same weights, the same logits', async () => {
    const { createLayersModel } = await import('@rnnlm/layers');
    const { loadLanguageModel: loadLean } = await import('./inference.js');
    for (const saved of [
      createLayersModel(
        { impl: 'layers', cell: 'lstm', vocabSize: vocab.size, hidden: 5, layers: 2, bidirectional: false },
        { seed: 3 },
      ),
      original,
    ]) {
      const loaded = await loadLean(await toArtifacts({ model: saved, vocab, corpus }));
      expect(loaded.model.config).toEqual(saved.config);
      expect(loaded.model.weightNames).toEqual(saved.weightNames);
      const ids = tf.tensor2d([[1, 4, 2, 7]], [1, 4], 'int32');
      const [a, b] = [saved, loaded.model].map((m) =>
        tf.tidy(() => m.forward(ids, m.beginState(1)).logits.arraySync()),
      );
      expect(b).toEqual(a);
      ids.dispose();
      loaded.dispose();
      if (saved !== original) saved.dispose();
    }
  });
});
