/**
 * How `rnnlm train` gets its run from the flags: a new one (the corpus read, the backend started on the
 * model's measured shape, the model built) or one resumed from a checkpoint (its saved settings checked
 * against the flags and its corpus against its vocabulary).
 */
import type { LanguageModel } from '@rnnlm/cells';
import { cleanPrefix, type Vocab } from '@rnnlm/text';
import type { CorpusSettings, Trainer } from '@rnnlm/train';
import { CliError, EXIT } from '../errors.js';
import type { TrainFlags } from '../flags.js';
import type { TrainShape } from '../measure-backends.js';
import { checkModelFits } from '../model-fits.js';
import { checkResumeFlags, corpusSource } from '../resume-flags.js';
import {
  encodeWith,
  loadModel,
  openingWords,
  readCorpus,
  type SavedTrainSettings,
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

/** Continues a saved run: its settings, corpus and state come from the checkpoint; --epochs may extend it. */
export async function resumeRun(flags: TrainFlags, given: (name: string) => boolean): Promise<Run> {
  const loaded = await loadModel(flags.resume!);
  const { meta, vocab, settings } = loaded;
  if (!meta.training || !settings) {
    loaded.model.dispose();
    throw new CliError(
      `${flags.resume} holds a model without its training state (it was not saved by rnnlm train): it cannot resume`,
      EXIT.checkpoint,
    );
  }
  try {
    checkResumeFlags(flags, given, {
      dir: flags.resume!,
      settings,
      model: meta.model,
      optimizer: meta.training.optimizer.config,
      clip: meta.training.clip,
      schedule: meta.training.schedule?.config,
      patience: meta.training.patience,
    });
  } catch (error) {
    loaded.dispose();
    loaded.model.dispose();
    throw error;
  }
  const text = await readCorpus({
    source: settings.corpus,
    token: settings.token,
    clean: settings.clean,
    maxTokens: null,
    minFreq: settings.minFreq,
  });
  const ids = encodeWith(vocab, text, settings.maxTokens || null);
  // The same text gives the same vocabulary, token for token and count for count.
  if (JSON.stringify(text.vocab.toJSON()) !== JSON.stringify(vocab.toJSON())) {
    throw new CliError(
      `the corpus ${settings.corpus} changed since ${flags.resume} was saved (its vocabulary differs): resume needs the same text`,
      EXIT.input,
    );
  }
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
  const epochs = given('epochs') ? flags.epochs : settings.epochs;
  if (epochs <= trainer.epoch && !trainer.getState().progress) {
    throw new CliError(
      `${flags.resume} has already trained ${trainer.epoch} epochs: pass --epochs with a larger total to train more`,
      EXIT.usage,
    );
  }
  return { model, vocab, corpus: meta.corpus, settings: { ...settings, epochs }, trainer, valid };
}
