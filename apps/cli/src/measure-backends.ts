/**
 * `--backend auto` for training: times a few steps of the run's own model on each backend (through
 * @rnnlm/backend's `measure` callback and @rnnlm/train's `measureTrainingSpeed`), before the real model
 * is built, and remembers the winner in the cache directory per device and model shape.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  choiceKey,
  deviceFingerprint,
  fileChoiceMemory,
  type MeasureOptions,
  type NodeBackendName,
  StepTimer,
} from '@rnnlm/backend';
import { defaultCacheDir } from '@rnnlm/text/node';
import { measureTrainingSpeed, readMeta, type TrainShape, trainShapeKey } from '@rnnlm/train';
import { checkpointDir, MODEL_FILE } from './out-dir.js';

export type { TrainShape } from '@rnnlm/train';

/** Timed steps after the one warm-up step, and the most time one backend's timed steps may take. */
const TIMED_STEPS = 4;
const CAP_MS = 2500;

/** The measuring options for `selectBackend`: the callback, the memory file and the key. */
export function measureTraining(
  shape: TrainShape,
  threads: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): MeasureOptions<NodeBackendName> {
  return {
    key: choiceKey({
      ...deviceFingerprint(threads ?? Math.min(8, availableParallelism())),
      ...trainShapeKey(shape),
    }),
    memory: fileChoiceMemory(join(defaultCacheDir(env), 'backend-choices.json')),
    measure: (_backend, { best }) =>
      measureTrainingSpeed(
        shape,
        new StepTimer({
          tokensPerStep: shape.batchSize * shape.numSteps,
          timedSteps: TIMED_STEPS,
          capMs: CAP_MS,
          best,
        }),
        TIMED_STEPS + 1,
      ),
  };
}

/**
 * The shape a checkpoint resumes with, read from its model.json alone, so that `--resume` can measure
 * before the model is built. Undefined when the file does not say (the resume itself then reports
 * what is wrong, after a start in the static order).
 */
export function savedTrainShape(checkpoint: string): TrainShape | undefined {
  try {
    const json = JSON.parse(readFileSync(join(checkpointDir(checkpoint), MODEL_FILE), 'utf8'));
    const meta = readMeta({ modelTopology: json.modelTopology });
    const train = (meta.extra as { train?: { batchSize?: unknown; numSteps?: unknown } } | undefined)?.train;
    const { batchSize, numSteps } = train ?? {};
    if (!meta.training || typeof batchSize !== 'number' || typeof numSteps !== 'number') return undefined;
    return {
      model: meta.model,
      batchSize,
      numSteps,
      optimizer: meta.training.optimizer.config,
      clip: meta.training.clip,
    };
  } catch {
    return undefined;
  }
}
