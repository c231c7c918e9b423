/**
 * Loading a saved model for inference, in any JavaScript runtime: from in-memory `tf.io.ModelArtifacts`,
 * any `tf.io` load handler, an http(s) URL of a checkpoint's `model.json`, or an `indexeddb://` key
 * saved in a browser. A folder on disk is `@rnnlm/train/node`'s `loadLanguageModel`.
 */
import { createScratchModel, type LanguageModel, type ModelConfig } from '@rnnlm/cells';
import { Vocab } from '@rnnlm/text';
import * as tf from '@tensorflow/tfjs-core';
import { type CheckpointMeta, type CorpusSettings, readMeta, restoreCheckpointWith } from './checkpoint.js';

/** Where a saved model comes from. */
export type ModelSource = tf.io.ModelArtifacts | tf.io.IOHandler | string;

/** A model ready to generate and score: its weights, vocabulary and how its corpus was read. */
export interface LoadedLanguageModel {
  model: LanguageModel;
  vocab: Vocab;
  /** How the training text was read (token and cleaning); read new text the same way. */
  corpus: CorpusSettings;
  meta: CheckpointMeta;
  /** Frees the model's weights. */
  dispose(): void;
}

/** Options of `loadLanguageModel`. */
export interface LoadOptions {
  /** The fetch an http(s) URL is read with (default: the runtime's). */
  fetchFunc?: typeof fetch;
}

/**
 * Loads a checkpoint (from `toArtifacts`, `saveCheckpoint` or any `tf.io` save handler) for inference:
 * the training state it may hold is dropped. Every problem is an error that says what was wrong.
 */
export async function loadLanguageModel(
  source: ModelSource,
  options: LoadOptions = {},
): Promise<LoadedLanguageModel> {
  const artifacts = await readArtifacts(source, options);
  return fromArtifactsWith(artifacts, await modelFactory(readMeta(artifacts).model));
}

/**
 * The factory of a config's implementation: a tfjs-layers model imports @rnnlm/layers (and so
 * tfjs-layers) only now, so that an app loading scratch models never bundles or loads it.
 */
async function modelFactory(config: ModelConfig): Promise<(config: ModelConfig) => LanguageModel> {
  if (config.impl !== 'layers') return createScratchModel;
  const { createLayersModel } = await import('@rnnlm/layers');
  return createLayersModel;
}

async function readArtifacts(source: ModelSource, options: LoadOptions): Promise<tf.io.ModelArtifacts> {
  if (typeof source !== 'string') {
    if ('load' in source && typeof source.load === 'function') return source.load();
    return source as tf.io.ModelArtifacts;
  }
  const where = source;
  try {
    if (/^https?:\/\//i.test(source)) {
      return await tf.io.http(source, options.fetchFunc ? { fetchFunc: options.fetchFunc } : {}).load!();
    }
    if (source.startsWith('indexeddb://')) {
      const [handler] = tf.io.getLoadHandlers(source);
      if (!handler?.load) throw new Error('IndexedDB is not available in this runtime');
      return await handler.load();
    }
  } catch (error) {
    throw new Error(`cannot load the model at ${where}: ${(error as Error).message}`, { cause: error });
  }
  throw new Error(
    `cannot load the model at ${where}: give an http(s):// URL of its model.json, an indexeddb:// key, ` +
      'artifacts or a tf.io handler (a folder on disk loads with loadLanguageModel of @rnnlm/train/node)',
  );
}

/** Rebuilds the model (made by `build`) and its vocabulary from checkpoint artifacts. */
export function fromArtifactsWith(
  artifacts: tf.io.ModelArtifacts,
  build: (config: ModelConfig) => LanguageModel,
): LoadedLanguageModel {
  const restored = restoreCheckpointWith(artifacts, build);
  restored.dispose(); // optimizer slots and carried state serve training only
  const { model, meta } = restored;
  let vocab: Vocab;
  try {
    vocab = Vocab.fromJSON(meta.vocab);
    if (vocab.size !== model.config.vocabSize) {
      throw new Error(
        `its vocabulary has ${vocab.size} tokens but its model expects ${model.config.vocabSize}: model.json is damaged`,
      );
    }
  } catch (error) {
    model.dispose();
    throw new Error(`the checkpoint's vocabulary is invalid: ${(error as Error).message}`, { cause: error });
  }
  return { model, vocab, corpus: { ...meta.corpus }, meta, dispose: () => model.dispose() };
}
