/**
 * `--backend auto` for training: times a few steps of the run's own model on each backend (through
 * @rnnlm/backend's `measure` callback and @rnnlm/train's `measureTrainingSpeed`), before the real model
 * is built, and remembers the winner in the cache directory per device and model shape.
 */
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
import { measureTrainingSpeed, type TrainShape, trainShapeKey } from '@rnnlm/train';

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
