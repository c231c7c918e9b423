/**
 * How `rnnlm train` gets its run from the flags: a new one (the corpus read, the backend started on the
 * model's measured shape, the model built) or one resumed from a checkpoint (its saved settings checked
 * against the flags and its corpus against its vocabulary).
 */
import type { LanguageModel, ModelConfig } from '@rnnlm/cells';
import { cleanPrefix, type TokenIds, Vocab } from '@rnnlm/text';
import {
  type CorpusSettings,
  checkArtifacts,
  type OptimizerConfig,
  resolveOptimizerConfig,
  type Trainer,
} from '@rnnlm/train';
import type * as tf from '@tensorflow/tfjs-core';
import { CliError, during, EXIT } from '../errors.js';
import type { TrainFlags } from '../flags.js';
import type { TrainShape } from '../measure-backends.js';
import { checkModelFits } from '../model-fits.js';
import { checkResumeFlags, corpusSource } from '../resume-flags.js';
import {
  encodeWith,
  openingWords,
  readCheckpoint,
  readCorpus,
  restoreModel,
  type SavedTrainSettings,
  savedTrainSettings,
  startRun,
} from './shared.js';
import { scheduleOf } from './train-report.js';

export interface Run {
  model: LanguageModel;
  vocab: Vocab;
  corpus: CorpusSettings;
  settings: SavedTrainSettings;
  trainer: Trainer;
  valid: ArrayLike<number>;
}

/** The model config the flags ask for, with the vocabulary's size. */
export function modelConfigOf(flags: TrainFlags, vocabSize: number) {
  const { impl, cell, hidden, layers, bidirectional, embedding, tieWeights, dropout, dropoutMode, init } =
    flags;
  return {
    impl,
    cell,
    vocabSize,
    hidden,
    layers,
    bidirectional,
    ...(embedding !== undefined ? { embedding } : {}),
    ...(tieWeights ? { tieWeights } : {}),
    // Without dropout the config is as before dropout existed.
    ...(dropout > 0 ? { dropout, dropoutMode } : {}),
    // The default is left out, as configs from before init schemes.
    ...(init !== 'normal' ? { init } : {}),
  };
}

export async function newRun(
  flags: TrainFlags,
  startBackendFor: (shape: TrainShape) => Promise<void>,
): Promise<Run> {
  // Stored absolute, so that eval and --resume from another folder read the same file.
  const source = corpusSource(flags.corpus);
  const loaded = await readCorpus({
    source,
    token: flags.token,
    clean: flags.clean,
    maxTokens: flags.maxTokens || null,
    minFreq: flags.minFreq,
  });
  if (loaded.vocab.size <= 1) {
    throw new CliError(
      `with --min-freq ${flags.minFreq} every token of ${flags.corpus} is rare enough to become <unk>: the model would learn nothing (its perplexity would be 1). ` +
        'Use a lower --min-freq (rnnlm corpus info --top 5 shows how often the commonest tokens appear)',
      EXIT.input,
    );
  }
  const prefix = cleanPrefix(flags.prefix ?? openingWords(loaded), flags.clean);
  if (prefix.trim() === '' && !flags.bidirectional) {
    throw new CliError(
      `--prefix ${JSON.stringify(flags.prefix ?? '')} has nothing left after '${flags.clean}' cleaning: the samples need at least one token to start from`,
      EXIT.usage,
    );
  }
  const config = modelConfigOf(flags, loaded.vocab.size);
  checkModelFits(config, `a vocabulary of ${loaded.vocab.size}`);
  const optimizer = { name: flags.optimizer, lr: flags.lr, weightDecay: flags.weightDecay };
  const clip = flags.clip === 0 ? null : flags.clip;
  await startBackendFor({
    model: config,
    batchSize: flags.batchSize,
    numSteps: flags.numSteps,
    optimizer,
    clip,
  });
  const { model, trainer, valid } = startRun(
    {
      ids: loaded.ids,
      token: flags.token,
      batchSize: flags.batchSize,
      numSteps: flags.numSteps,
      sampling: flags.sampling,
      seed: flags.seed,
      validFraction: flags.validFraction,
      model: config,
      optimizer,
      clip,
      schedule: scheduleOf(flags),
      patience: flags.patience || null,
    },
    flags.maxTokens > 0 && loaded.ids.length >= flags.maxTokens,
  );
  const settings: SavedTrainSettings = {
    corpus: source,
    token: flags.token,
    clean: flags.clean,
    maxTokens: flags.maxTokens,
    minFreq: flags.minFreq,
    batchSize: flags.batchSize,
    numSteps: flags.numSteps,
    sampling: flags.sampling,
    epochs: flags.epochs,
    validFraction: flags.validFraction,
    seed: flags.seed,
    prefix,
    sampleEvery: flags.sampleEvery,
  };
  const corpus: CorpusSettings = {
    source,
    token: flags.token,
    clean: flags.clean,
    maxTokens: flags.maxTokens || null,
    minFreq: flags.minFreq,
  };
  return { model, vocab: loaded.vocab, corpus, settings, trainer, valid };
}

/** A checkpoint read and checked for --resume, with its corpus, before any backend starts. */
export interface CheckedResume {
  artifacts: tf.io.ModelArtifacts;
  settings: SavedTrainSettings;
  /** The corpus's ids under the checkpoint's vocabulary. */
  ids: TokenIds;
  /** The shape `auto` measures on: the saved model, minibatch and optimizer. */
  shape: TrainShape;
}

/**
 * Everything a resume checks that needs no tensors: the checkpoint's files, the flags and the saved
 * shape against them, the epochs left, the corpus against the vocabulary. A refused resume so starts
 * no backend and measures nothing.
 */
export async function checkResume(
  flags: TrainFlags,
  given: (name: string) => boolean,
): Promise<CheckedResume> {
  const dir = flags.resume!;
  const artifacts = await readCheckpoint(dir);
  const { meta, vocab } = await during(
    EXIT.checkpoint,
    () => {
      const meta = checkArtifacts(artifacts);
      return { meta, vocab: Vocab.fromJSON(meta.vocab) };
    },
    `cannot load the model in ${dir}`,
  );
  const settings = savedTrainSettings(meta);
  if (!meta.training || !settings) {
    throw new CliError(
      `${dir} holds a model without its training state (it was not saved by rnnlm train): it cannot resume`,
      EXIT.checkpoint,
    );
  }
  const { optimizer, clip, schedule, patience, epoch, progress } = meta.training;
  checkResumeFlags(flags, given, {
    dir,
    settings,
    model: meta.model,
    optimizer: optimizer.config,
    clip,
    schedule: schedule?.config,
    patience,
  });
  const shape = savedShape(meta.model, settings, optimizer.config, clip);
  const epochs = given('epochs') ? flags.epochs : settings.epochs;
  if (epochs <= epoch && !progress) {
    throw new CliError(
      `${dir} has already trained ${epoch} epochs: pass --epochs with a larger total to train more`,
      EXIT.usage,
    );
  }
  const text = await readCorpus({
    source: settings.corpus,
    token: settings.token,
    clean: settings.clean,
    maxTokens: null,
    minFreq: settings.minFreq,
  });
  // The same text gives the same vocabulary, token for token and count for count.
  if (JSON.stringify(text.vocab.toJSON()) !== JSON.stringify(vocab.toJSON())) {
    throw new CliError(
      `the corpus ${settings.corpus} changed since ${dir} was saved (its vocabulary differs): resume needs the same text`,
      EXIT.input,
    );
  }
  const ids = encodeWith(vocab, text, settings.maxTokens || null);
  return { artifacts, settings: { ...settings, epochs }, ids, shape };
}

/** The saved run's shape, checked as the trainer would check it, before a backend spends time on it. */
function savedShape(
  model: ModelConfig,
  settings: SavedTrainSettings,
  optimizer: OptimizerConfig,
  clip: number | null,
): TrainShape {
  const { batchSize, numSteps } = settings;
  for (const [name, value] of [
    ['batchSize', batchSize],
    ['numSteps', numSteps],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(
        `${name} must be a positive integer, got ${JSON.stringify(value)}: model.json is damaged`,
      );
  }
  resolveOptimizerConfig(optimizer);
  if (clip !== null && !(clip > 0 && Number.isFinite(clip)))
    throw new Error(
      `clip must be a positive number or null, got ${JSON.stringify(clip)}: model.json is damaged`,
    );
  return { model, batchSize, numSteps, optimizer, clip };
}

/** Continues a checked resume on the backend that now runs: the model and trainer from the checkpoint. */
export async function resumeRun(flags: TrainFlags, checked: CheckedResume): Promise<Run> {
  const { artifacts, settings, ids } = checked;
  const loaded = await restoreModel(artifacts, flags.resume!);
  const { model, trainer, valid } = startRun({
    ids,
    token: settings.token,
    batchSize: settings.batchSize,
    numSteps: settings.numSteps,
    sampling: settings.sampling,
    seed: settings.seed,
    validFraction: settings.validFraction,
    checkpoint: loaded,
  });
  return { model, vocab: loaded.vocab, corpus: loaded.meta.corpus, settings, trainer, valid };
}
