/**
 * `rnnlm train --resume` continues with the settings saved in the checkpoint. A flag typed with a
 * different value would otherwise be silently ignored (the user believes the run uses --lr 0.5; it does
 * not): such flags are refused, naming each with its saved value. The same value is fine, so a command
 * line can be repeated with --resume added.
 */
import { resolve } from 'node:path';
import type { ModelConfig } from '@rnnlm/cells';
import { cleanPrefix } from '@rnnlm/text';
import { CORPUS_NAMES } from '@rnnlm/text/node';
import type { OptimizerConfig, ScheduleConfig } from '@rnnlm/train';
import type { SavedTrainSettings } from './commands/shared.js';
import { CliError, EXIT } from './errors.js';
import { TRAIN_DEFAULTS, type TrainFlags } from './flags.js';

export interface SavedRun {
  dir: string;
  settings: SavedTrainSettings;
  model: ModelConfig;
  optimizer: OptimizerConfig;
  clip: number | null;
  /** Absent in checkpoints saved before schedules and early stopping. */
  schedule?: ScheduleConfig | undefined;
  patience?: number | null | undefined;
}

/** The corpus as it is stored: named corpora by name, files by absolute path. */
export function corpusSource(source: string): string {
  return (CORPUS_NAMES as readonly string[]).includes(source) ? source : resolve(source);
}

export function checkResumeFlags(flags: TrainFlags, given: (name: string) => boolean, saved: SavedRun): void {
  const { settings, model, optimizer } = saved;
  // A checkpoint from before schedules trained at a constant rate.
  const schedule = saved.schedule ?? {
    name: 'constant',
    stepEvery: TRAIN_DEFAULTS.lrStepEvery,
    gamma: TRAIN_DEFAULTS.lrGamma,
    patience: TRAIN_DEFAULTS.lrPatience,
    minLr: TRAIN_DEFAULTS.lrMin,
    warmupSteps: TRAIN_DEFAULTS.warmupSteps,
  };
  const checks: Array<[keyof TrainFlags, unknown, unknown]> = [
    ['corpus', corpusSource(settings.corpus), corpusSource(flags.corpus)],
    ['token', settings.token, flags.token],
    ['clean', settings.clean, flags.clean],
    ['maxTokens', settings.maxTokens, flags.maxTokens],
    ['minFreq', settings.minFreq, flags.minFreq],
    ['cell', model.cell, flags.cell],
    ['impl', model.impl, flags.impl],
    ['hidden', model.hidden, flags.hidden],
    ['layers', model.layers, flags.layers],
    ['bidirectional', model.bidirectional, flags.bidirectional],
    ['embedding', model.embedding ?? 'none (one-hot input)', flags.embedding],
    ['tieWeights', model.tieWeights ?? false, flags.tieWeights],
    ['dropout', model.dropout ?? 0, flags.dropout],
    ['dropoutMode', model.dropoutMode ?? 'standard', flags.dropoutMode],
    ['init', model.init ?? 'normal', flags.init],
    ['batchSize', settings.batchSize, flags.batchSize],
    ['numSteps', settings.numSteps, flags.numSteps],
    ['sampling', settings.sampling, flags.sampling],
    ['lr', optimizer.lr, flags.lr],
    ['optimizer', optimizer.name, flags.optimizer],
    ['weightDecay', optimizer.weightDecay ?? 0, flags.weightDecay],
    ['clip', saved.clip ?? 0, flags.clip],
    ['lrSchedule', schedule.name, flags.lrSchedule],
    ['lrStepEvery', schedule.stepEvery, flags.lrStepEvery],
    ['lrGamma', schedule.gamma, flags.lrGamma],
    ['lrPatience', schedule.patience, flags.lrPatience],
    ['lrMin', schedule.minLr, flags.lrMin],
    ['warmupSteps', schedule.warmupSteps, flags.warmupSteps],
    ['patience', saved.patience ?? 0, flags.patience],
    ['validFraction', settings.validFraction, flags.validFraction],
    ['seed', settings.seed, flags.seed],
    ['sampleEvery', settings.sampleEvery, flags.sampleEvery],
    ['prefix', settings.prefix, cleanPrefix(flags.prefix ?? '', settings.clean)],
  ];
  const differing = checks
    .filter(([name, was, now]) => given(name) && was !== now)
    .map(([name, was]) => `${flagName(name)} ${String(flags[name])} (saved: ${String(was)})`);
  if (differing.length > 0) {
    throw new CliError(
      `--resume continues ${saved.dir} with the settings saved in it, and these flags differ from them: ${differing.join(', ')}. ` +
        'Leave them out to resume, or train a new model with them (--out another folder)',
      EXIT.usage,
    );
  }
}

function flagName(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
