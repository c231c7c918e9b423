import type { ModelConfig } from '@rnnlm/cells';
import { SeqDataLoader } from '@rnnlm/data';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { toArtifacts } from './checkpoint.js';
import { createModel } from './create-model.js';
import { restoreCheckpoint } from './restore.js';
import { assembleRun, CorpusTooShortError, type NewRunOptions } from './run.js';
import { toyVocab } from './test-utils/toy.js';

const vocab = toyVocab('the cat sat on the mat and the dog sat on the log'.split(''));
/** 200 ids cycling through the vocabulary. */
const ids = Int32Array.from({ length: 200 }, (_, i) => (i * 7) % vocab.size);
const config: ModelConfig = {
  impl: 'scratch',
  cell: 'gru',
  vocabSize: vocab.size,
  hidden: 5,
  layers: 1,
  bidirectional: false,
};
const options = (overrides: Partial<NewRunOptions> = {}): NewRunOptions => ({
  ids,
  token: 'char',
  batchSize: 4,
  numSteps: 6,
  sampling: 'sequential',
  seed: 3,
  model: config,
  optimizer: { name: 'adam', lr: 0.01 },
  clip: 1,
  ...overrides,
});
const valuesOf = (tensors: readonly tf.Tensor[]) => tensors.map((t) => Array.from(t.dataSync()));

describe('assembleRun', () => {
  it('holds out the end of the text and builds the model, loader and trainer the settings describe', () => {
    const before = tf.memory().numTensors;
    const run = assembleRun(options({ validFraction: 0.25 }));
    // 200 ids, a quarter held out: the first 150 train, the last 50 validate.
    expect(Array.from(run.loader.ids)).toEqual(Array.from(ids.slice(0, 150)));
    expect(Array.from(run.valid)).toEqual(Array.from(ids.slice(150)));
    expect(run.loader).toMatchObject({ batchSize: 4, numSteps: 6, sampling: 'sequential' });
    expect(run.model.config).toEqual(config);
    expect(run.trainer.model).toBe(run.model);
    expect(run.trainer.loader).toBe(run.loader);
    expect(run.trainer.optimizer.config).toMatchObject({ name: 'adam', lr: 0.01 });
    expect(run.trainer.clip).toBe(1);

    // The seed draws the weights and the batches exactly as the pieces built by hand would.
    const byHand = createModel(config, { seed: 3 });
    expect(valuesOf(run.model.variables)).toEqual(valuesOf(byHand.variables));
    const loader = new SeqDataLoader(ids.slice(0, 150), {
      batchSize: 4,
      numSteps: 6,
      sampling: 'sequential',
      seed: 3,
    });
    const firstBatch = (l: SeqDataLoader) => l[Symbol.iterator]().next().value!;
    expect(firstBatch(run.loader)).toEqual(firstBatch(loader));
    byHand.dispose();

    run.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('turns clipping off with clip null and holds nothing out by default', () => {
    const run = assembleRun(options({ clip: null }));
    expect(run.trainer.clip).toBeNull();
    expect(run.valid.length).toBe(0);
    expect(run.loader.ids.length).toBe(200);
    run.dispose();
  });

  it('refuses a text shorter than one minibatch, naming the numbers and what to change, and creates nothing', () => {
    const before = tf.memory().numTensors;
    // One minibatch of 4 x 6 needs (4 + 1) * 6 + 1 = 31 tokens.
    const short = ids.slice(0, 30);
    expect(() => assembleRun(options({ ids: short }))).toThrow(
      new CorpusTooShortError(30, 31, { token: 'char', batchSize: 4, numSteps: 6 }),
    );
    expect(() => assembleRun(options({ ids: short }))).toThrow(
      'the text has 30 char tokens, too few for batches of 4 x 6 steps (31 needed): ' +
        'use a longer text, a smaller batch size or number of steps',
    );
    expect(tf.memory().numTensors).toBe(before);
    const exact = assembleRun(options({ ids: ids.slice(0, 31) }));
    expect(exact.loader.ids.length).toBe(31);
    exact.dispose();
  });

  it('counts only the training part, and names the settings as the app does', () => {
    // 40 tokens, a quarter held out: 30 left, one short of a 4 x 6 minibatch.
    let error: unknown;
    try {
      assembleRun(
        options({
          ids: ids.slice(0, 40),
          token: 'word',
          validFraction: 0.25,
          names: { batchSize: '--batch-size', numSteps: '--num-steps', validFraction: '--valid-fraction' },
        }),
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CorpusTooShortError);
    expect(error).toMatchObject({ tokens: 30, needed: 31 });
    expect((error as Error).message).toBe(
      'the text has 30 word tokens left for training after holding out 0.25 for validation, too few for ' +
        'batches of 4 x 6 steps (31 needed): use a longer text, a smaller --batch-size or --num-steps, ' +
        'or a smaller --valid-fraction',
    );
    expect(() =>
      assembleRun(options({ ids: ids.slice(0, 30), names: { maxTokens: '--max-tokens' } })),
    ).toThrow(/use a longer text \(or a higher --max-tokens\), a smaller batch size/);
  });

  it('frees the model when the optimizer settings are bad', () => {
    const before = tf.memory().numTensors;
    expect(() => assembleRun(options({ clip: -1 }))).toThrow(/clip must be a positive number/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('resumes a checkpoint: its model, optimizer, clipping and place in training, then trains on as if never stopped', async () => {
    const straight = assembleRun(options({ sampling: 'random' }));
    await straight.trainer.fit({ epochs: 3 });

    const first = assembleRun(options({ sampling: 'random' }));
    await first.trainer.fit({ epochs: 2 });
    const artifacts = await toArtifacts({
      model: first.model,
      vocab,
      corpus: { token: 'char', clean: 'unicode' },
      trainer: first.trainer,
    });
    first.dispose();

    const before = tf.memory().numTensors;
    const checkpoint = restoreCheckpoint(artifacts);
    // The loader's seed does not matter: its place comes from the checkpoint.
    const resumed = assembleRun({ ...options({ sampling: 'random', seed: 999 }), checkpoint });
    expect(resumed.model).toBe(checkpoint.model);
    expect(resumed.trainer.epoch).toBe(2);
    expect(resumed.trainer.optimizer.config).toMatchObject({ name: 'adam', lr: 0.01 });
    expect(resumed.trainer.clip).toBe(1);
    const result = await resumed.trainer.fit({ epochs: 3 });
    expect(result.epochs.map((e) => e.epoch)).toEqual([3]);
    expect(result.epochs[0]!.perplexity).toBeCloseTo(straight.trainer.history[2]!.perplexity, 5);
    const a = valuesOf(straight.model.variables).flat();
    const b = valuesOf(resumed.model.variables).flat();
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThan(1e-6);

    resumed.dispose();
    expect(tf.memory().numTensors).toBe(before); // the checkpoint's training tensors were freed too
    straight.dispose();
  });

  it('refuses a checkpoint without a training state and leaves its model to the caller', async () => {
    const model = createModel(config, { seed: 1 });
    const artifacts = await toArtifacts({ model, vocab, corpus: { token: 'char', clean: 'unicode' } });
    model.dispose();
    const checkpoint = restoreCheckpoint(artifacts);
    expect(() => assembleRun({ ...options(), checkpoint })).toThrow(/holds no training state/);
    expect(checkpoint.model.variables.every((v) => !v.isDisposed)).toBe(true);
    checkpoint.model.dispose();
    checkpoint.dispose();
  });
});
