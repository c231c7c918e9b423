/**
 * What `rnnlm train` reports and saves besides the model: its size, the schedule its flags ask for,
 * one epoch as JSON, the perplexity chart. Kept apart from train.ts, which runs the training.
 */
import type { ModelConfig } from '@rnnlm/cells';
import { type EpochResult, parameterCount, type ScheduleConfig } from '@rnnlm/train';
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
