// Over 400 lines for a reason: the trainer, its state and the perplexity it reports belong together;
// the schedule and early stopping it applies live in schedule.ts, the divergence it refuses in
// divergence.ts.
import { assertIdsInRange, type ForwardMode, type LanguageModel, mixSeed, type State } from '@rnnlm/cells';
import type { Batch, SeqDataLoader, SeqDataLoaderState } from '@rnnlm/data';
import * as tf from '@tensorflow/tfjs-core';
import { clipScale, gradientNorm, lossAndNorm } from './clip.js';
import { DIVERGENCE_MARGIN, DivergenceError } from './divergence.js';
import { evaluatePerplexity } from './evaluate.js';
import { yieldToEventLoop } from './event-loop.js';
import { crossEntropy, perplexity, timeMajor } from './loss.js';
import { Optimizer, type OptimizerConfig, type OptimizerState } from './optimizers.js';
import {
  LrSchedule,
  type ScheduleConfig,
  type ScheduleState,
  ValidationWatch,
  type WatchState,
} from './schedule.js';

/** Options of `Trainer`: the optimizer and gradient clipping. */
export interface TrainerOptions {
  /** Default: SGD with lr 1, as the notebooks. */
  optimizer?: OptimizerConfig;
  /** Global-norm clipping threshold theta; default 1, `null` turns clipping off. */
  clip?: number | null;
  /** The learning-rate schedule; default constant. */
  schedule?: ScheduleConfig;
  /**
   * Early stopping: training stops after this many validations in a row without a better validation
   * perplexity; default never. A validation is one at each epoch's end, and each one the caller adds
   * between them with `observeValidation` (the CLI's `--valid-every`).
   */
  patience?: number | null;
  /** Seeds the model's dropout masks: update s draws them from (seed, s), so a run repeats exactly. Default 0. */
  seed?: number;
}

/** What `FitOptions.onBatchEnd` receives after each minibatch. */
export interface BatchEndEvent {
  /** 1-based epoch and batch. */
  epoch: number;
  batch: number;
  /** Upper bound on the batches of an epoch (the random start offset may cost one). */
  batchesPerEpoch: number;
  loss: number;
  /** Perplexity of the epoch so far. */
  perplexity: number;
  tokensPerSecond: number;
  /** The learning rate this batch's update used. */
  lr: number;
}

/** One epoch's numbers, as `FitOptions.onEpochEnd` receives them and `FitResult` lists them. */
export interface EpochResult {
  /** 1-based. */
  epoch: number;
  loss: number;
  perplexity: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  validPerplexity?: number;
  /** The learning rate of the epoch's last update (absent in checkpoints saved before schedules). */
  lr?: number;
}

/** Options of `Trainer.fit`. */
export interface FitOptions {
  /** Train until this many epochs are complete in total (a resumed trainer counts those it had). */
  epochs: number;
  /** Checked between batches: training stops cleanly, and the trainer can be saved and resumed. */
  signal?: AbortSignal;
  /** Called after each minibatch. */
  onBatchEnd?: (event: BatchEndEvent) => void;
  /** Called after each epoch (awaited: a checkpoint can be saved here). */
  onEpochEnd?: (result: EpochResult) => void | Promise<void>;
  /** Held-out ids: their perplexity is reported at the end of each epoch. */
  valid?: ArrayLike<number>;
  /**
   * Anneal to a time budget: the share of it spent so far (0 to 1), asked before each update. The
   * cosine schedule then falls over whichever ends first, its batches or the budget, so a run cut by
   * the clock ends at the floor rate rather than mid-schedule. The clock shapes the rates: such a run
   * repeats its seed's batches and masks but not its weights bit for bit.
   */
  timeBudgetSpent?: () => number;
}

/** What `Trainer.fit` returns. */
export interface FitResult {
  epochs: EpochResult[];
  /** True when the signal stopped training before `epochs` were complete. */
  aborted: boolean;
  /** True when early stopping ended training: `patience` validations passed without a better perplexity. */
  stoppedEarly?: boolean;
}

/** Where an unfinished epoch stands (for resuming in the middle of one). */
export interface EpochProgress {
  batch: number;
  lossSum: number;
  tokens: number;
  seconds: number;
}

/** The JSON part of a trainer's state; tensors (optimizer slots, carried state) travel separately. */
export interface TrainerState {
  epoch: number;
  progress: EpochProgress | null;
  loader: SeqDataLoaderState;
  optimizer: OptimizerState;
  clip: number | null;
  history: EpochResult[];
  carriedStateSize: number;
  /** The schedule and its state (absent in checkpoints saved before schedules: constant). */
  schedule?: ScheduleState;
  /** Early stopping's patience and its watch on validation perplexity (absent before early stopping). */
  patience?: number | null;
  best?: WatchState;
  /** The seed of the dropout masks (absent before dropout: 0). */
  seed?: number;
  /** The last validation between epochs' ends (`observeValidation`), so an epoch's end right after it does not count it twice. */
  lastValidation?: { epoch: number; batch: number; validPerplexity: number } | null;
}

/** What `Trainer.observeValidation` says of a validation. */
export interface ValidationVerdict {
  /** It is the best validation perplexity so far (a best checkpoint is due). */
  improved: boolean;
  /** Early stopping's patience is spent: the caller should stop training. */
  stop: boolean;
}

export { DIVERGENCE_MARGIN, DivergenceError, evaluatePerplexity };

/**
 * Trains a language model the way d2l's `train_ch8` does, and beyond it: SGD, Adam or AdamW, global-norm
 * clipping, hidden state carried across sequential minibatches (values only: no gradient flows back
 * into the previous batch) and fresh per minibatch under random sampling, perplexity per epoch,
 * events, a clean stop between batches, divergence caught before it reaches the weights, and a state
 * that saves and resumes exactly, even in the middle of an epoch.
 */
export class Trainer {
  readonly optimizer: Optimizer;
  readonly clip: number | null;
  readonly schedule: LrSchedule;
  readonly patience: number | null;
  /** The best validation perplexity, and the validations since it (early stopping counts them). */
  readonly #best = new ValidationWatch();
  #lastValidation: TrainerState['lastValidation'] = null;
  /** The run's total updates as the current `fit` counts them (cosine decays over them). */
  #totalSteps = 1;
  /** The current `fit`'s time budget spent, when it anneals to one. */
  #timeBudgetSpent: (() => number) | null = null;
  readonly history: EpochResult[] = [];
  #epoch = 0;
  #progress: EpochProgress | null = null;
  #epochStartLoader: SeqDataLoaderState;
  #carried: State | null = null;
  #seed: number;

  constructor(
    readonly model: LanguageModel,
    readonly loader: SeqDataLoader,
    options: TrainerOptions = {},
  ) {
    this.clip = options.clip === undefined ? 1 : options.clip;
    if (this.clip !== null && !(this.clip > 0)) {
      throw new Error(`clip must be a positive number (or null for no clipping), got ${this.clip}`);
    }
    this.patience = options.patience ?? null;
    if (this.patience !== null && !(Number.isInteger(this.patience) && this.patience >= 1)) {
      throw new Error(`patience must be a whole number of validations, at least 1, got ${this.patience}`);
    }
    this.optimizer = new Optimizer(options.optimizer ?? { name: 'sgd', lr: 1 }, model.variables);
    this.schedule = new LrSchedule(options.schedule ?? { name: 'constant' }, this.optimizer.config.lr);
    this.#seed = options.seed ?? 0;
    if (!Number.isFinite(this.#seed)) throw new Error(`seed must be a finite number, got ${this.#seed}`);
    this.#epochStartLoader = loader.getState();
  }

  /** Completed epochs. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * The best validation perplexity so far, the epoch it was measured in and, for one between epochs'
   * ends, the batches of that epoch done by then; null before any.
   */
  get best(): { validPerplexity: number; epoch: number; batch?: number } | null {
    const { best, bestEpoch, bestBatch } = this.#best.state;
    if (best === null || bestEpoch === null) return null;
    return {
      validPerplexity: best,
      epoch: bestEpoch,
      ...(bestBatch === undefined ? {} : { batch: bestBatch }),
    };
  }

  /**
   * Counts a validation measured between epochs' ends (after the batches done so far) as an epoch
   * end's counts: reduce-on-plateau's and early stopping's patience count it, and it can be the best.
   * When it falls after an epoch's last batch, that epoch's end reuses it instead of measuring and
   * counting the same weights again.
   */
  observeValidation(validPerplexity: number): ValidationVerdict {
    if (!Number.isFinite(validPerplexity) || validPerplexity < 1) {
      throw new Error(`a validation perplexity is a finite number >= 1, got ${validPerplexity}`);
    }
    const epoch = this.#epoch + 1;
    const batch = this.#progress?.batch ?? 0;
    this.#lastValidation = { epoch, batch, validPerplexity };
    this.schedule.observe(validPerplexity, epoch, batch);
    const improved = this.#best.observe(validPerplexity, epoch, batch);
    return { improved, stop: this.#patienceSpent() };
  }

  #patienceSpent(): boolean {
    return this.patience !== null && this.#best.state.since >= this.patience;
  }

  /**
   * Trains until `options.epochs` epochs are complete in total, calling the callbacks as it goes; stops
   * cleanly between batches when `options.signal` aborts.
   */
  async fit(options: FitOptions): Promise<FitResult> {
    const { epochs, signal, onBatchEnd, onEpochEnd, valid } = options;
    if (!Number.isInteger(epochs) || epochs < 0)
      throw new Error(`epochs must be a whole number, got ${epochs}`);
    const results: EpochResult[] = [];
    const { batchSize, numSteps } = this.loader;
    const tokensPerBatch = batchSize * numSteps;
    this.#totalSteps = Math.max(1, epochs * this.loader.maxBatchesPerEpoch);
    this.schedule.fixTotalSteps(this.#totalSteps);
    this.#timeBudgetSpent = options.timeBudgetSpent ?? null;
    while (this.#epoch < epochs) {
      if (signal?.aborted) return { epochs: results, aborted: true };
      if (this.#progress === null) {
        this.#epochStartLoader = this.loader.getState();
        this.#progress = { batch: 0, lossSum: 0, tokens: 0, seconds: 0 };
        this.#dropCarried();
      } else {
        this.loader.setState(this.#epochStartLoader);
      }
      const progress = this.#progress;
      const iterator = this.loader[Symbol.iterator]();
      for (let skip = 0; skip < progress.batch; skip++) iterator.next();
      for (let next = iterator.next(); !next.done; next = iterator.next()) {
        const started = performance.now();
        const loss = await this.#step(next.value, this.#epoch + 1, progress.batch + 1);
        progress.batch++;
        progress.lossSum += loss * tokensPerBatch;
        progress.tokens += tokensPerBatch;
        progress.seconds += (performance.now() - started) / 1000;
        onBatchEnd?.({
          epoch: this.#epoch + 1,
          batch: progress.batch,
          batchesPerEpoch: this.loader.maxBatchesPerEpoch,
          loss,
          perplexity: perplexity(progress.lossSum / progress.tokens),
          tokensPerSecond: progress.tokens / progress.seconds,
          lr: this.optimizer.lr,
        });
        await yieldToEventLoop(); // lets a signal, a progress bar or a page repaint get a turn
        if (signal?.aborted) return { epochs: results, aborted: true };
      }
      const meanLoss = progress.lossSum / progress.tokens;
      const result: EpochResult = {
        epoch: this.#epoch + 1,
        loss: meanLoss,
        perplexity: perplexity(meanLoss),
        tokens: progress.tokens,
        seconds: progress.seconds,
        tokensPerSecond: progress.tokens / progress.seconds,
        lr: this.optimizer.lr,
      };
      const last = this.#lastValidation;
      if (last && last.epoch === result.epoch && last.batch === progress.batch) {
        // Measured and counted after this epoch's last batch already (observeValidation).
        result.validPerplexity = last.validPerplexity;
      } else if (valid && valid.length > 1) {
        result.validPerplexity = await evaluatePerplexity(this.model, valid, { batchSize, numSteps });
        this.schedule.observe(result.validPerplexity, result.epoch);
        this.#best.observe(result.validPerplexity, result.epoch);
      }
      this.#lastValidation = null;
      this.#epoch++;
      this.#progress = null;
      this.#dropCarried();
      this.history.push(result);
      results.push(result);
      await onEpochEnd?.(result);
      if (this.#patienceSpent()) return { epochs: results, aborted: false, stoppedEarly: true };
    }
    return { epochs: results, aborted: false };
  }

  async #step(batch: Batch, epoch: number, batchNumber: number): Promise<number> {
    const { X, Y, batchSize, numSteps } = batch;
    const { vocabSize } = this.model.config;
    assertIdsInRange(X, vocabSize);
    assertIdsInRange(Y, vocabSize);
    const sequential = this.loader.sampling === 'sequential';
    const fresh = !(sequential && this.#carried) ? this.model.beginState(batchSize) : null;
    const state = fresh ?? this.#carried!;
    // Training: dropout on, with this update's masks (the step count is saved, so a resume draws the same).
    const mode = { training: true, maskSeed: mixSeed(this.#seed, this.optimizer.step) } as const;
    // The model's own loss and gradients where it has them (the kernels without the tape: the same
    // values), else the tape's.
    const direct =
      this.model.lossAndGradients?.({ ids: X, labels: Y, batchSize, numSteps }, state, mode) ?? null;
    const { nextState, grads, lossValue, normValue } = direct
      ? {
          nextState: direct.state,
          grads: direct.grads,
          lossValue: direct.loss,
          normValue: await gradientNorm(direct.grads),
        }
      : await this.#tapeStep(batch, state, mode);
    if (fresh) tf.dispose(fresh);
    if (!Number.isFinite(lossValue) || !Number.isFinite(normValue)) {
      tf.dispose([...grads, ...nextState]);
      throw new DivergenceError(
        epoch,
        batchNumber,
        Number.isFinite(lossValue) ? normValue : lossValue,
        this.optimizer.config.lr,
        this.clip,
      );
    }
    const uniform = Math.log(vocabSize);
    if (lossValue > uniform + DIVERGENCE_MARGIN) {
      tf.dispose([...grads, ...nextState]);
      throw new DivergenceError(
        epoch,
        batchNumber,
        lossValue,
        this.optimizer.config.lr,
        this.clip,
        `the loss reached ${lossValue.toFixed(1)} (perplexity ${Math.exp(lossValue).toPrecision(3)}), ` +
          `over a thousand times worse than guessing among the ${vocabSize} tokens uniformly`,
      );
    }
    this.optimizer.setLearningRate(
      this.schedule.rate({
        epoch: epoch - 1,
        step: this.optimizer.step,
        totalSteps: this.#totalSteps,
        ...(this.#timeBudgetSpent ? { timeFraction: this.#timeBudgetSpent() } : {}),
      }),
    );
    this.optimizer.apply(grads, this.clip === null ? 1 : clipScale(normValue, this.clip));
    tf.dispose(grads);
    if (sequential) {
      this.#dropCarried();
      this.#carried = nextState;
    } else {
      tf.dispose(nextState);
    }
    return lossValue;
  }

  /** Loss, gradients (new tensors) and next state of one minibatch through `tf.variableGrads`. */
  async #tapeStep(batch: Batch, state: State, mode: ForwardMode) {
    const { X, Y, batchSize, numSteps } = batch;
    let nextState: State = [];
    const { loss, grads } = tf.tidy(() => {
      const ids = tf.tensor2d(X, [batchSize, numSteps], 'int32');
      const labels = tf.tensor1d(timeMajor(Y, batchSize, numSteps), 'int32');
      const { value, grads: byName } = tf.variableGrads(() => {
        const out = this.model.forward(ids, state, mode);
        nextState = out.state.map((s) => tf.keep(s));
        return crossEntropy(out.logits, labels);
      }, this.model.variables);
      const grads = this.model.variables.map((v) => byName[v.name]!);
      return { loss: value, grads };
    });
    // Clipping scales the gradients inside the update, by this norm.
    const [lossValue, normValue] = await lossAndNorm(loss, grads);
    return { nextState, grads, lossValue, normValue };
  }

  /** The JSON part of the state; `tensors()` gives the rest. */
  getState(): TrainerState {
    return {
      epoch: this.#epoch,
      progress: this.#progress ? { ...this.#progress } : null,
      loader: this.#progress ? this.#epochStartLoader : this.loader.getState(),
      optimizer: this.optimizer.getState(),
      clip: this.clip,
      history: this.history.map((h) => ({ ...h })),
      carriedStateSize: this.#carried?.length ?? 0,
      schedule: this.schedule.getState(),
      patience: this.patience,
      best: this.#best.state,
      seed: this.#seed,
      lastValidation: this.#lastValidation,
    };
  }

  /** Optimizer slots and the carried hidden state, by stable name. */
  tensors(): Array<{ name: string; tensor: tf.Tensor }> {
    return [
      ...this.optimizer.slots(),
      ...(this.#carried ?? []).map((tensor, i) => ({ name: `state/${i}`, tensor })),
    ];
  }

  /** Restores what `getState()` and `tensors()` saved (the model's weights are restored separately). */
  restore(state: TrainerState, tensors: Map<string, tf.Tensor>): void {
    this.optimizer.setState(state.optimizer, tensors);
    if (state.schedule) this.schedule.setState(state.schedule);
    if (state.best) this.#best.state = state.best;
    if (state.seed !== undefined) this.#seed = state.seed;
    this.#lastValidation = state.lastValidation ?? null;
    this.loader.setState(state.loader);
    this.#epochStartLoader = state.loader;
    this.#epoch = state.epoch;
    this.#progress = state.progress ? { ...state.progress } : null;
    this.history.splice(0, this.history.length, ...state.history);
    this.#dropCarried();
    if (state.carriedStateSize > 0) {
      this.#carried = Array.from({ length: state.carriedStateSize }, (_, i) => {
        const saved = tensors.get(`state/${i}`);
        if (!saved) throw new Error(`checkpoint lacks the carried hidden state state/${i}`);
        return tf.clone(saved) as tf.Tensor2D;
      });
    }
  }

  /** Frees the optimizer's slots and the carried state (not the model). */
  dispose(): void {
    this.#dropCarried();
    this.optimizer.dispose();
  }

  #dropCarried(): void {
    if (this.#carried) tf.dispose(this.#carried);
    this.#carried = null;
  }
}
