/**
 * `auto` on the page: before a new model is built, time a few training steps of its shape on each
 * backend (a throwaway run on random ids, disposed after), start the fastest, and remember the answer
 * in localStorage per browser and model shape. The same measurement as the CLI's, with the page's memory.
 */
import {
  type BackendSelection,
  type BrowserBackendName,
  browserFingerprint,
  choiceKey,
  localStorageChoiceMemory,
  StepTimer,
  selectBackend,
  type WasmPaths,
} from '@rnnlm/backend/browser';
import type { ModelConfig } from '@rnnlm/cells';
import { assembleRun, type OptimizerConfig } from '@rnnlm/train';

/** What decides the speed of training: the model, the minibatch shape and the optimizer. */
export interface TrainShape {
  model: ModelConfig;
  batchSize: number;
  numSteps: number;
  optimizer: OptimizerConfig;
  clip: number | null;
}

const TIMED_STEPS = 4;
const CAP_MS = 2500;

/** Measures the backends for `shape` (or reuses the remembered answer) and starts the fastest. */
export function selectMeasuredBackend(
  shape: TrainShape,
  wasmPaths: WasmPaths,
): Promise<BackendSelection<BrowserBackendName>> {
  const { model, batchSize, numSteps, optimizer, clip } = shape;
  const key = choiceKey({
    ...browserFingerprint(),
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
  const ids = randomIds((TIMED_STEPS + 2) * batchSize * numSteps + batchSize + 1, model.vocabSize);
  return selectBackend({
    wasmPaths,
    measure: {
      key,
      memory: localStorageChoiceMemory(),
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
    },
  });
}

/** Uniform ids from a fixed generator: the speed depends on the shape, not on the text. */
function randomIds(length: number, vocabSize: number): Int32Array {
  const ids = new Int32Array(length);
  let state = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    ids[i] = state % vocabSize;
  }
  return ids;
}
