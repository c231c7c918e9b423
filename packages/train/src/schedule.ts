/**
 * Learning-rate schedules, applied by the trainer before every update, and the watch on validation
 * perplexity that reduce-on-plateau and early stopping share. Plain numbers, no tfjs: the rate is a
 * number the optimizer reads at each step, so changing it never touches the optimizer's slots.
 */
import { SCHEDULE_NAMES, type ScheduleName } from './names.js';

export { SCHEDULE_NAMES, type ScheduleName };

/** A schedule and its settings (plain JSON: checkpoints store it). */
export interface ScheduleConfig {
  name: ScheduleName;
  /** step: decay every this many epochs. Default 1. */
  stepEvery?: number;
  /** step and plateau: the factor each decay multiplies the rate by. Default 0.5. */
  gamma?: number;
  /** Any schedule: raise the rate linearly from lr/warmup to lr over the first this many batches. Default 0. */
  warmupSteps?: number;
  /**
   * cosine: the batches (warm-up included) over which the rate falls to `minLr`; default: the run's
   * epochs times the batches per epoch, as the trainer counts them.
   */
  totalSteps?: number | null;
  /** No schedule takes the rate below this. Default 0. */
  minLr?: number;
  /** plateau: validations in a row without a better perplexity before the rate decays. Default 2. */
  patience?: number;
}

/** Where a run stands: what the trainer is asked for the rate of the next update. */
export interface ScheduleStep {
  /** Epochs completed before this update. */
  epoch: number;
  /** Updates applied before this one, over the whole run. */
  step: number;
  /** The run's total updates, for cosine when its config has none. */
  totalSteps: number;
  /**
   * The share of the run's time budget spent (0 to 1), for a run that anneals to its budget: cosine
   * then falls over whichever ends first, its batches or the budget, and reaches its floor by the
   * budget's end however fast the machine is.
   */
  timeFraction?: number;
}

/** The best validation perplexity so far and how many validations since have not beaten it. */
export interface WatchState {
  best: number | null;
  /** The epoch the best was measured in (1-based; the epoch in progress for one between epochs' ends). */
  bestEpoch: number | null;
  /** Batches of `bestEpoch` done when the best was measured between epochs' ends; absent at an epoch's end. */
  bestBatch?: number;
  since: number;
}

/** What a checkpoint keeps of a schedule. */
export interface ScheduleState {
  config: Required<ScheduleConfig>;
  /** plateau: the factor the decays so far multiply the rate by. */
  scale: number;
  watch: WatchState;
}

/** Checks a config and fills in every default; throws a clear error on a bad name or value. */
export function resolveScheduleConfig(config: ScheduleConfig): Required<ScheduleConfig> {
  if (!SCHEDULE_NAMES.includes(config.name)) {
    throw new Error(
      `unknown learning-rate schedule ${JSON.stringify(config.name)}; use one of ${SCHEDULE_NAMES.join(', ')}`,
    );
  }
  const resolved: Required<ScheduleConfig> = {
    name: config.name,
    stepEvery: config.stepEvery ?? 1,
    gamma: config.gamma ?? 0.5,
    warmupSteps: config.warmupSteps ?? 0,
    totalSteps: config.totalSteps ?? null,
    minLr: config.minLr ?? 0,
    patience: config.patience ?? 2,
  };
  const whole = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min)
      throw new Error(`${name} must be a whole number of at least ${min}, got ${value}`);
  };
  whole("the step schedule's decay interval (epochs)", resolved.stepEvery, 1);
  whole('the warm-up (batches)', resolved.warmupSteps, 0);
  whole('the plateau patience (validations)', resolved.patience, 1);
  if (resolved.totalSteps !== null) whole("the cosine schedule's total batches", resolved.totalSteps, 1);
  if (!(resolved.gamma > 0 && resolved.gamma <= 1))
    throw new Error(`the decay factor gamma must be in (0, 1], got ${resolved.gamma}`);
  if (!(resolved.minLr >= 0) || !Number.isFinite(resolved.minLr))
    throw new Error(`the minimum learning rate must be zero or positive, got ${resolved.minLr}`);
  return resolved;
}

/**
 * Tracks the best validation perplexity and the validations since it: reduce-on-plateau decays when
 * they reach its patience, early stopping stops there.
 */
export class ValidationWatch {
  #state: WatchState = { best: null, bestEpoch: null, since: 0 };

  /**
   * Records one validation, at the end of `epoch` or, with `batch`, after that many batches of it;
   * true when it beat the best so far (the first one always does).
   */
  observe(perplexity: number, epoch: number, batch?: number): boolean {
    const improved = this.#state.best === null || perplexity < this.#state.best;
    this.#state = improved
      ? { best: perplexity, bestEpoch: epoch, ...(batch === undefined ? {} : { bestBatch: batch }), since: 0 }
      : { ...this.#state, since: this.#state.since + 1 };
    return improved;
  }

  /** Starts counting again from the best (after a plateau decay). */
  resetCount(): void {
    this.#state = { ...this.#state, since: 0 };
  }

  /** The best so far and the epochs since, as a checkpoint keeps them. */
  get state(): WatchState {
    return { ...this.#state };
  }

  /** Continues from a checkpoint's state. */
  set state(state: WatchState) {
    this.#state = { ...state };
  }
}

/** A schedule with its state: the rate of every update, given where the run stands. */
export class LrSchedule {
  #config: Required<ScheduleConfig>;
  #scale = 1;
  readonly #watch = new ValidationWatch();

  constructor(
    config: ScheduleConfig,
    /** The rate the schedule starts from and scales (the optimizer's `lr`). */
    readonly baseLr: number,
  ) {
    this.#config = resolveScheduleConfig(config);
  }

  /** The settings with every default filled in (a checkpoint stores them). */
  get config(): Required<ScheduleConfig> {
    return { ...this.#config };
  }

  /**
   * Fixes the cosine's length when its config left it open (the trainer's first fit gives its epochs
   * times the batches per epoch): a checkpoint then keeps it, and a resumed or extended run decays
   * along the same curve as an uninterrupted one.
   */
  fixTotalSteps(totalSteps: number): void {
    if (this.#config.totalSteps === null) this.#config.totalSteps = Math.max(1, totalSteps);
  }

  /** The learning rate of the update after `at.step` updates. */
  rate(at: ScheduleStep): number {
    const { name, stepEvery, gamma, warmupSteps, minLr } = this.#config;
    const floor = Math.min(minLr, this.baseLr);
    let lr = this.baseLr;
    if (name === 'step') lr = this.baseLr * gamma ** Math.floor(at.epoch / stepEvery);
    if (name === 'plateau') lr = this.baseLr * this.#scale;
    if (name === 'cosine') {
      const total = this.#config.totalSteps ?? at.totalSteps;
      const span = Math.max(1, total - warmupSteps);
      const byBatches = Math.min(1, Math.max(0, at.step - warmupSteps) / span);
      const progress = Math.max(byBatches, Math.min(1, Math.max(0, at.timeFraction ?? 0)));
      lr = floor + (this.baseLr - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
    if (at.step < warmupSteps) lr *= (at.step + 1) / warmupSteps;
    return Math.max(lr, at.step < warmupSteps ? 0 : floor);
  }

  /**
   * Records a validation perplexity (an epoch's end, or with `batch` one between): reduce-on-plateau
   * decays after `patience` validations without a better one.
   */
  observe(perplexity: number, epoch: number, batch?: number): void {
    this.#watch.observe(perplexity, epoch, batch);
    if (this.#config.name === 'plateau' && this.#watch.state.since >= this.#config.patience) {
      this.#scale *= this.#config.gamma;
      this.#watch.resetCount();
    }
  }

  /** What a checkpoint keeps to continue the schedule exactly. */
  getState(): ScheduleState {
    return { config: this.config, scale: this.#scale, watch: this.#watch.state };
  }

  /** Continues from a checkpoint's `getState()`. */
  setState(state: ScheduleState): void {
    if (!(state.scale > 0 && state.scale <= 1))
      throw new Error(`schedule scale must be in (0, 1], got ${state.scale}`);
    this.#scale = state.scale;
    this.#watch.state = state.watch;
  }
}
