/**
 * What `rnnlm train` reports and saves besides the model: its size, the schedule its flags ask for,
 * one epoch as JSON, the perplexity chart. Kept apart from train.ts, which runs the training.
 */
import type { ModelConfig } from '@rnnlm/cells';
import { type EpochResult, parameterCount, type ScheduleConfig } from '@rnnlm/train';
import { perplexityChartSvg } from '../chart.js';
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
