/**
 * `--backend auto` for training: times a few steps of the run's own model on each backend (through
 * @rnnlm/backend's `measure` callback) on a throwaway copy with random ids, before the real model is
 * built, and remembers the winner in the cache directory per device and model shape.
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
import type { ModelConfig } from '@rnnlm/cells';
import { defaultCacheDir } from '@rnnlm/text/node';
import { assembleRun, type OptimizerConfig } from '@rnnlm/train';

/** What decides the speed of training: the model, the minibatch shape and the optimizer. */
export interface TrainShape {
  model: ModelConfig;
  batchSize: number;
  numSteps: number;
  optimizer: OptimizerConfig;
  clip: number | null;
}

/** Timed steps after the warm-up, and the most time one backend's timed steps may take. */
const TIMED_STEPS = 4;
const CAP_MS = 2500;

/** The measuring options for `selectBackend`: the callback, the memory file and the key. */
export function measureTraining(
  shape: TrainShape,
  threads: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): MeasureOptions<NodeBackendName> {
  const { model, batchSize, numSteps, optimizer, clip } = shape;
  const key = choiceKey({
    ...deviceFingerprint(threads ?? Math.min(8, availableParallelism())),
    impl: model.impl,
    cell: model.cell,
    vocab: model.vocabSize,
    hidden: model.hidden,
    layers: model.layers,
    bidirectional: model.bidirectional ?? false,
    batch: batchSize,
    steps: numSteps,
    optimizer: optimizer.name,
    clip: clip ?? 'off',
  });
  // Enough random ids for the warm-up and the timed steps in one epoch of sequential batches.
  const ids = randomIds((TIMED_STEPS + 2) * batchSize * numSteps + batchSize + 1, model.vocabSize);
  return {
    key,
    memory: fileChoiceMemory(join(defaultCacheDir(env), 'backend-choices.json')),
    measure: async (_backend, { best }) => {
      const run = assembleRun({
        ids,
        token: 'char',
        batchSize,
        numSteps,
        sampling: 'sequential',
        model,
        optimizer,
        clip,
      });
      try {
        const timer = new StepTimer({
          tokensPerStep: batchSize * numSteps,
          timedSteps: TIMED_STEPS,
          capMs: CAP_MS,
          best,
        });
        const done = new AbortController();
        timer.start();
        await run.trainer.fit({
          epochs: 1,
          signal: done.signal,
          onBatchEnd: () => {
            if (timer.stepDone()) done.abort();
          },
        });
        return timer.tokensPerSecond;
      } finally {
        run.dispose();
      }
    },
  };
}

/** Uniform ids from a fixed generator: the speed does not depend on the text, only on its shape. */
function randomIds(length: number, vocabSize: number): Int32Array {
  const ids = new Int32Array(length);
  let state = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    ids[i] = state % vocabSize;
  }
  return ids;
}
