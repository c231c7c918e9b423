/**
 * What `rnnlm train` reports and saves besides the model: its size, the schedule its flags ask for,
 * one epoch as JSON, the perplexity chart. Kept apart from train.ts, which runs the training.
 */
import type { ModelConfig } from '@rnnlm/cells';
import { type EpochResult, parameterCount, type ScheduleConfig, type ScheduleName } from '@rnnlm/train';
import { perplexityChartSvg } from '../chart.js';
import { CliError, EXIT } from '../errors.js';
import type { TrainFlags } from '../flags.js';
import { formatBytes, formatCount } from '../progress.js';

/** The model's size in parameters and float32 bytes, as a line and as JSON fields. */
export function modelSizeOf(config: ModelConfig) {
  const parameters = parameterCount(config);
  const bytes = parameters * 4;
  return {
    text: `${formatCount(parameters)} parameters, ${formatBytes(bytes)} of float32 weights`,
    json: { parameters, weight_bytes: bytes },
  };
}

/**
 * --tie-weights makes the head's weight [top width, vocabulary] the embedding [vocabulary, --embedding]
 * transposed: refused, before the corpus is read, unless the two widths are one.
 */
export function checkEmbeddingFlags(flags: TrainFlags): void {
  if (!flags.tieWeights) return;
  const top = flags.hidden * (flags.bidirectional ? 2 : 1);
  const width = flags.bidirectional
    ? `twice --hidden ${flags.hidden} (--bidirectional), ${top}`
    : `--hidden ${top}`;
  if (flags.embedding === undefined) {
    throw new CliError(
      `--tie-weights ties the output head to the token embedding, and there is none: add --embedding ${top} (${width}), or leave out --tie-weights`,
      EXIT.usage,
    );
  }
  if (flags.embedding !== top) {
    throw new CliError(
      `--tie-weights needs --embedding equal to the top layer's width, ${width}, but --embedding is ${flags.embedding}: ` +
        `use --embedding ${top}, change --hidden, or leave out --tie-weights`,
      EXIT.usage,
    );
  }
}

/** What the first layer reads, for the line that opens a run: nothing said for the one-hot input. */
export function describeInput(config: ModelConfig): string {
  if (config.embedding === undefined) return '';
  return `, embedding ${config.embedding}${config.tieWeights ? ' (tied to the head)' : ''}`;
}

/** Early stopping and reduce-on-plateau watch validation perplexity: without held-out text they would do nothing. */
export function checkValidationNeeded(flags: TrainFlags): void {
  if (flags.validFraction > 0) return;
  const needs = [
    flags.patience > 0 ? '--patience' : '',
    flags.lrSchedule === 'plateau' ? '--lr-schedule plateau' : '',
  ]
    .filter(Boolean)
    .join(' and ');
  if (needs)
    throw new CliError(
      `${needs} watch the validation perplexity, and --valid-fraction 0 holds no text out to measure it: use a --valid-fraction above 0 (such as 0.1)`,
      EXIT.usage,
    );
}

/**
 * `--anneal-to-budget` shortens the cosine to the time budget: it needs both. `schedule` is the run's
 * (the flags' for a new run, the checkpoint's when resuming).
 */
export function checkAnnealToBudget(flags: TrainFlags, schedule: ScheduleName): void {
  if (!flags.annealToBudget) return;
  if (!(flags.timeBudget > 0))
    throw new CliError(
      '--anneal-to-budget lowers the rate to reach --lr-min by the end of a time budget, and none is set: add --time-budget (such as 20m)',
      EXIT.usage,
    );
  if (schedule !== 'cosine')
    throw new CliError(
      `--anneal-to-budget shortens the cosine schedule, and this run's schedule is ${schedule}: use --lr-schedule cosine${flags.resume ? ' (set when the run began)' : ''}, or drop --anneal-to-budget`,
      EXIT.usage,
    );
}

/** The learning-rate schedule the flags ask for. */
export function scheduleOf(flags: TrainFlags): ScheduleConfig {
  return {
    name: flags.lrSchedule,
    stepEvery: flags.lrStepEvery,
    gamma: flags.lrGamma,
    warmupSteps: flags.warmupSteps,
    minLr: flags.lrMin,
    patience: flags.lrPatience,
  };
}

export function epochJson(r: EpochResult) {
  return {
    epoch: r.epoch,
    loss: r.loss,
    perplexity: r.perplexity,
    valid_perplexity: r.validPerplexity ?? null,
    lr: r.lr ?? null,
    tokens_per_s: Math.round(r.tokensPerSecond),
    seconds: Number(r.seconds.toFixed(3)),
  };
}

export function chart(history: EpochResult[], title: string): string {
  return perplexityChartSvg(
    [
      { label: 'training', values: history.map((h) => h.perplexity), color: '#2f5bd3' },
      { label: 'validation', values: history.map((h) => h.validPerplexity ?? Number.NaN), color: '#d9822b' },
    ],
    title,
  );
}
