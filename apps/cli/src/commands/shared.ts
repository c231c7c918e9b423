/** Steps several commands share: reading a corpus, loading a saved model, preparing a prefix. */

import { encodeWithVocab, type TokenIds, type TokenMode, Vocab } from '@rnnlm/text';
import type { LoadedCorpus } from '@rnnlm/text/node';
import {
  assembleRun,
  type CheckpointMeta,
  CorpusTooShortError,
  type RestoredCheckpoint,
  type Run,
  type RunOptions,
  restoreCheckpoint,
} from '@rnnlm/train';
import { loadCheckpoint } from '@rnnlm/train/node';
import type * as tf from '@tensorflow/tfjs-core';
import { CliError, during, EXIT } from '../errors.js';

export { readCorpus } from './read-corpus.js';

/** The flags a user changes when a text is too short, named in that error. */
const RUN_FLAG_NAMES = {
  batchSize: '--batch-size',
  numSteps: '--num-steps',
  validFraction: '--valid-fraction',
} as const;

/**
 * `assembleRun` with the CLI's flag names in its errors; a text too short for one minibatch exits 3.
 * `capped`: the corpus was cut by --max-tokens, so a higher one gives a longer text.
 */
export function startRun(options: RunOptions, capped = false): Run {
  try {
    return assembleRun({
      ...options,
      names: { ...RUN_FLAG_NAMES, ...(capped ? { maxTokens: '--max-tokens' } : {}) },
    });
  } catch (error) {
    if (error instanceof CorpusTooShortError) throw new CliError(error.message, EXIT.input, { cause: error });
    throw error;
  }
}

/** The settings `rnnlm train` keeps in a checkpoint's `extra.train`, to resume and to generate. */
export interface SavedTrainSettings {
  corpus: string;
  token: TokenMode;
  clean: 'letters' | 'unicode';
  maxTokens: number;
  minFreq: number;
  batchSize: number;
  numSteps: number;
  sampling: 'sequential' | 'random';
  epochs: number;
  validFraction: number;
  seed: number;
  prefix: string;
  sampleEvery: number;
}

export interface LoadedModel extends RestoredCheckpoint {
  vocab: Vocab;
  settings: SavedTrainSettings | undefined;
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  return restoreModel(await readCheckpoint(dir), dir);
}

/** A checkpoint's files, read but not built (no backend needed). */
export function readCheckpoint(dir: string): Promise<tf.io.ModelArtifacts> {
  return during(EXIT.checkpoint, () => loadCheckpoint(dir), `cannot load the model in ${dir}`);
}

/** Builds the model of checkpoint files `readCheckpoint` read from `dir`, with its vocabulary. */
export function restoreModel(artifacts: tf.io.ModelArtifacts, dir: string): Promise<LoadedModel> {
  return during(
    EXIT.checkpoint,
    () => {
      const restored = restoreCheckpoint(artifacts);
      let vocab: Vocab;
      try {
        vocab = Vocab.fromJSON(restored.meta.vocab);
        if (vocab.size !== restored.model.config.vocabSize) {
          throw new Error(
            `its vocabulary has ${vocab.size} tokens but its model expects ${restored.model.config.vocabSize}: model.json is damaged`,
          );
        }
      } catch (error) {
        restored.dispose();
        restored.model.dispose();
        throw error;
      }
      return { ...restored, vocab, settings: savedTrainSettings(restored.meta) };
    },
    `cannot load the model in ${dir}`,
  );
}

/** What `rnnlm train` saved of its settings, if it saved the checkpoint. */
export function savedTrainSettings(meta: CheckpointMeta): SavedTrainSettings | undefined {
  return (meta.extra as { train?: SavedTrainSettings } | undefined)?.train;
}

/** A corpus's ids under an existing (a saved model's) vocabulary, cut to `maxTokens`. */
export function encodeWith(vocab: Vocab, corpus: LoadedCorpus, maxTokens: number | null): TokenIds {
  const ids = encodeWithVocab(corpus, vocab);
  return maxTokens ? ids.subarray(0, maxTokens) : ids;
}

/** The corpus's first words, as a default prefix. */
export function openingWords(corpus: LoadedCorpus): string {
  const tokens = corpus.vocab.toTokens(corpus.ids.slice(0, corpus.token === 'word' ? 2 : 40));
  if (corpus.token === 'word') return tokens.join(' ');
  const text = tokens.join('');
  const words = text.split(' ').filter((w) => w !== '');
  return words.slice(0, 2).join(' ') || text.slice(0, 10);
}
