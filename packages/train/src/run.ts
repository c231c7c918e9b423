/**
 * A training run put together from a corpus's ids: hold out the validation text, check what is left
 * is long enough for one minibatch, then make (or take from a checkpoint) the model, the loader and the
 * trainer. The CLI's `train` and `bench` and the web page all start their runs here, so they agree on
 * the order of those steps and say the same thing when a text is too short. Browser-safe.
 */
import type { LanguageModel, ModelConfig } from '@rnnlm/cells';
import {
  minCorpusTokens,
  type Sampling,
  SeqDataLoader,
  splitTrainValid,
  type TokenIdArray,
} from '@rnnlm/data';
import type { RestoredCheckpoint } from './checkpoint.js';
import { createModel } from './create-model.js';
import type { OptimizerConfig } from './optimizers.js';
import type { ScheduleConfig } from './schedule.js';
import { Trainer } from './trainer.js';

/**
 * How an app names the settings a user can change (`--batch-size` on the command line, "batch size"
 * on the page), so that an error tells them what to change in their own terms.
 */
export interface RunSettingNames {
  batchSize: string;
  numSteps: string;
  validFraction: string;
  /** The token cap, when the app has one: a text cut short by it is "longer" with a higher cap. */
  maxTokens?: string;
}

const PLAIN_NAMES: RunSettingNames = {
  batchSize: 'batch size',
  numSteps: 'number of steps',
  validFraction: 'validation fraction',
};

/** What every run needs, new or resumed: the ids and how to cut them into minibatches. */
export interface RunOptionsBase {
  /** The whole corpus as token ids (already cut to any token cap); the last `validFraction` is held out. */
  ids: ArrayLike<number>;
  /** What a token is (`char` or `word`), for messages. */
  token: string;
  batchSize: number;
  numSteps: number;
  sampling: Sampling;
  /** Seeds the model's initial weights (new runs), the loader's offsets and the dropout masks. Default 0. */
  seed?: number;
  /** Fraction of the ids, from their end, held out to measure validation perplexity. Default 0. */
  validFraction?: number;
  names?: Partial<RunSettingNames>;
}

/** A run from scratch: a new model with freshly drawn weights. */
export interface NewRunOptions extends RunOptionsBase {
  model: ModelConfig;
  optimizer: OptimizerConfig;
  /** Global-norm clipping threshold; `null` turns clipping off. */
  clip: number | null;
  /** The learning-rate schedule; default constant. */
  schedule?: ScheduleConfig;
  /** Early stopping after this many epochs without a better validation perplexity; default never. */
  patience?: number | null;
}

/** A run that continues a checkpoint: its model, optimizer, clipping and training state. */
export interface ResumedRunOptions extends RunOptionsBase {
  /** Must hold a training state (`meta.training`). On success the run owns its model and its training tensors are freed. */
  checkpoint: RestoredCheckpoint;
}

/** What `assembleRun` takes: a new run's model and optimizer settings, or a checkpoint to continue. */
export type RunOptions = NewRunOptions | ResumedRunOptions;

/** A run ready to train: the model, its loader and trainer, and the held-out ids. */
export interface Run {
  model: LanguageModel;
  loader: SeqDataLoader;
  trainer: Trainer;
  /** The held-out ids (empty without a validation fraction). */
  valid: TokenIdArray;
  /** Frees the trainer's and the model's tensors. */
  dispose(): void;
}

/** The text is too short for one minibatch of the run's shape; the message says what to change. */
export class CorpusTooShortError extends Error {
  constructor(
    /** Tokens left for training. */
    readonly tokens: number,
    /** Tokens one minibatch needs: `minCorpusTokens(batchSize, numSteps)`. */
    readonly needed: number,
    options: Pick<RunOptionsBase, 'token' | 'batchSize' | 'numSteps' | 'validFraction' | 'names'>,
  ) {
    const { token, batchSize, numSteps, validFraction = 0 } = options;
    const names = { ...PLAIN_NAMES, ...options.names };
    const heldOut = validFraction > 0;
    super(
      `the text has ${tokens} ${token} tokens` +
        (heldOut ? ` left for training after holding out ${validFraction} for validation` : '') +
        `, too few for batches of ${batchSize} x ${numSteps} steps (${needed} needed): ` +
        `use a longer text${names.maxTokens ? ` (or a higher ${names.maxTokens})` : ''}, ` +
        `a smaller ${names.batchSize} or ${names.numSteps}` +
        (heldOut ? `, or a smaller ${names.validFraction}` : ''),
    );
    this.name = 'CorpusTooShortError';
  }
}

/**
 * Assembles a run. Nothing is created before the checks pass, so a failed check leaves nothing to
 * free (and a checkpoint passed in stays the caller's).
 */
export function assembleRun(options: RunOptions): Run {
  const { batchSize, numSteps, sampling, seed = 0, validFraction = 0 } = options;
  const { train, valid } = splitTrainValid(options.ids, validFraction);
  const needed = minCorpusTokens(batchSize, numSteps);
  if (train.length < needed) throw new CorpusTooShortError(train.length, needed, options);
  const training = 'checkpoint' in options ? options.checkpoint.meta.training : null;
  if ('checkpoint' in options && !training) {
    throw new Error(
      'the checkpoint holds no training state (it was saved without its trainer): it cannot resume',
    );
  }

  const loader = new SeqDataLoader(train, { batchSize, numSteps, sampling, seed });
  if ('checkpoint' in options) {
    const { checkpoint } = options;
    const trainer = new Trainer(checkpoint.model, loader, {
      optimizer: training!.optimizer.config,
      clip: training!.clip,
      ...(training!.schedule ? { schedule: training!.schedule.config } : {}),
      patience: training!.patience ?? null,
      seed,
    });
    try {
      trainer.restore(training!, checkpoint.trainingTensors);
    } catch (error) {
      trainer.dispose();
      throw error;
    }
    checkpoint.dispose();
    return runOf(checkpoint.model, loader, trainer, valid);
  }
  const model = createModel(options.model, { seed });
  let trainer: Trainer;
  try {
    trainer = new Trainer(model, loader, {
      optimizer: options.optimizer,
      clip: options.clip,
      ...(options.schedule ? { schedule: options.schedule } : {}),
      patience: options.patience ?? null,
      seed,
    });
  } catch (error) {
    model.dispose(); // a bad optimizer or clip setting
    throw error;
  }
  return runOf(model, loader, trainer, valid);
}

function runOf(model: LanguageModel, loader: SeqDataLoader, trainer: Trainer, valid: TokenIdArray): Run {
  return {
    model,
    loader,
    trainer,
    valid,
    dispose: () => {
      trainer.dispose();
      model.dispose();
    },
  };
}
