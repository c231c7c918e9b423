/**
 * How fast a model of a given shape trains on the backend that runs now: a throwaway run on random ids
 * (the speed depends on the shape, not on the text), a few timed steps, then everything freed. Apps
 * that choose a backend by measuring (`@rnnlm/backend`'s `measure` callback) call this once a backend.
 */
import type { ModelConfig } from '@rnnlm/cells';
import type { OptimizerConfig } from './optimizers.js';
import { assembleRun } from './run.js';

/** What decides the speed of training: the model, the minibatch shape and the optimizer. */
export interface TrainShape {
  model: ModelConfig;
  batchSize: number;
  numSteps: number;
  optimizer: OptimizerConfig;
  clip: number | null;
}

/**
 * Times the steps: `start()` before the first, `stepDone()` after each (true: enough), and the speed
 * of the timed ones. `@rnnlm/backend`'s `StepTimer` is one.
 */
export interface TrainingStepTimer {
  /** Called before the first step. */
  start(): void;
  /** Called after each step; true when enough steps are timed. */
  stepDone(): boolean;
  readonly tokensPerSecond: number;
}

/** The parts of a shape that key a remembered measurement (with the device's own). */
export function trainShapeKey(shape: TrainShape): Record<string, string | number | boolean> {
  const { model, batchSize, numSteps, optimizer, clip } = shape;
  return {
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
  };
}

/**
 * Trains a throwaway model of `shape` until `timer` says it has seen enough steps (at most `maxSteps`
 * minibatches are made), frees it, and returns the timer's tokens per second.
 */
export async function measureTrainingSpeed(
  shape: TrainShape,
  timer: TrainingStepTimer,
  maxSteps: number,
): Promise<number> {
  const { model, batchSize, numSteps, optimizer, clip } = shape;
  const ids = randomIds((maxSteps + 1) * batchSize * numSteps + batchSize + 1, model.vocabSize);
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
}

/**
 * Uniform ids from a fixed generator (the same on every call): a training step's cost depends on the
 * shape, not the text. Also the input of the package's bench scripts (bench/), which import this
 * module directly; not part of the package's public surface.
 */
export function randomIds(length: number, vocabSize: number): Int32Array {
  const ids = new Int32Array(length);
  let state = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    ids[i] = state % vocabSize;
  }
  return ids;
}
