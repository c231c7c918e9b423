/**
 * Long runs: when to save a checkpoint in the middle of an epoch (`--checkpoint-every`), when the
 * time budget is spent (`--time-budget`), and when to measure validation perplexity between epochs
 * (`--valid-every`). The trainer stops cleanly between batches when its signal aborts and resumes
 * exactly where it stopped, so each of these is a stop, the work, and a resumed fit.
 */
import type { FitOptions, FitResult, Trainer } from '@rnnlm/train';
import { InvalidArgumentError } from 'commander';

/** Why a fit stopped before its epochs were done. */
export type StopReason = 'interrupted' | 'checkpoint' | 'time-budget' | 'validate';

export interface LongRunOptions {
  /** Minutes between mid-epoch checkpoints (0: only at epoch ends). */
  checkpointEveryMinutes?: number;
  /** Seconds of training before a clean stop (0: no limit). */
  timeBudgetSeconds?: number;
  /** Batches between validation measurements (0: only at epoch ends). */
  validEvery?: number;
  /** The clock in milliseconds (tests pass their own). */
  now?: () => number;
}

export class LongRunClock {
  readonly #checkpointMs: number;
  readonly #budgetMs: number;
  readonly #validEvery: number;
  readonly #now: () => number;
  readonly #started: number;
  #lastCheckpoint: number;

  constructor(options: LongRunOptions = {}) {
    this.#checkpointMs = (options.checkpointEveryMinutes ?? 0) * 60_000;
    this.#budgetMs = (options.timeBudgetSeconds ?? 0) * 1000;
    this.#validEvery = options.validEvery ?? 0;
    this.#now = options.now ?? Date.now;
    this.#started = this.#now();
    this.#lastCheckpoint = this.#started;
  }

  /** After each batch (1-based within its epoch): what the run must stop for now (none: go on). */
  afterBatch(batchInEpoch: number): StopReason[] {
    const now = this.#now();
    const due: StopReason[] = [];
    if (this.#budgetMs > 0 && now - this.#started >= this.#budgetMs) due.push('time-budget');
    if (this.#checkpointMs > 0 && now - this.#lastCheckpoint >= this.#checkpointMs) due.push('checkpoint');
    if (this.#validEvery > 0 && batchInEpoch % this.#validEvery === 0) due.push('validate');
    return due;
  }

  /** The share of the time budget spent so far, 0 to 1 (0 without a budget). */
  budgetSpent(): number {
    if (this.#budgetMs <= 0) return 0;
    return Math.min(1, (this.#now() - this.#started) / this.#budgetMs);
  }

  /** A checkpoint was saved: the next one is due `checkpointEveryMinutes` from now. */
  checkpointed(): void {
    this.#lastCheckpoint = this.#now();
  }
}

/** `--time-budget`: `90s`, `10m`, `2h`, `1h30m`, or a plain number of minutes. */
export function parseDuration(value: string): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 60;
  const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text);
  const seconds = match
    ? Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0)
    : Number.NaN;
  if (text === '' || !(seconds > 0)) {
    throw new InvalidArgumentError(`expected a duration such as 90s, 10m, 2h or 1h30m, got "${value}".`);
  }
  return seconds;
}

export interface StopWork {
  clock: LongRunClock;
  /** Saves a resumable checkpoint. */
  checkpoint: () => Promise<void>;
  /** Measures (and reports) validation perplexity; true when early stopping says to stop there. */
  validate: () => Promise<boolean>;
}

/**
 * `trainer.fit(options)`, stopping between batches whenever the clock says so to save a checkpoint
 * or validate, then fitting on from the very same batch (the trainer resumes exactly, so the weights
 * are those of one uninterrupted fit). Ends when the epochs are done, `options.signal` aborts
 * (`stopped: 'interrupted'`), the time budget is spent (`stopped: 'time-budget'`), or early stopping
 * ends it at an epoch's end or at a validation between (`stoppedEarly`).
 */
export async function fitWithStops(
  trainer: Trainer,
  work: StopWork,
  options: FitOptions,
): Promise<FitResult & { stopped: 'interrupted' | 'time-budget' | null }> {
  const epochs: FitResult['epochs'] = [];
  for (;;) {
    const controller = new AbortController();
    const abort = () => controller.abort();
    options.signal?.addEventListener('abort', abort);
    let due: StopReason[] = [];
    let result: FitResult;
    try {
      result = await trainer.fit({
        ...options,
        signal: controller.signal,
        onBatchEnd: (event) => {
          options.onBatchEnd?.(event);
          due = work.clock.afterBatch(event.batch);
          if (due.length) controller.abort();
        },
      });
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
    epochs.push(...result.epochs);
    if (!result.aborted)
      return { epochs, aborted: false, stopped: null, stoppedEarly: result.stoppedEarly === true };
    if (options.signal?.aborted) return { epochs, aborted: true, stopped: 'interrupted' };
    if (due.includes('time-budget')) return { epochs, aborted: true, stopped: 'time-budget' };
    if (due.includes('checkpoint')) {
      await work.checkpoint();
      work.clock.checkpointed();
    }
    if (due.includes('validate') && (await work.validate()))
      return { epochs, aborted: false, stopped: null, stoppedEarly: true };
  }
}
