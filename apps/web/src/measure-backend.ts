/**
 * `auto` on the page: before a new model is built, time a few training steps of its shape on each
 * backend (@rnnlm/train's `measureTrainingSpeed`: a throwaway run, disposed after), start the fastest,
 * and remember the answer in localStorage per browser and model shape, as the CLI does in a file.
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
import { measureTrainingSpeed, type TrainShape, trainShapeKey } from '@rnnlm/train';

export type { TrainShape } from '@rnnlm/train';

const TIMED_STEPS = 4;
const CAP_MS = 2500;

/** Measures the backends for `shape` (or reuses the remembered answer) and starts the fastest. */
export function selectMeasuredBackend(
  shape: TrainShape,
  wasmPaths: WasmPaths,
): Promise<BackendSelection<BrowserBackendName>> {
  return selectBackend({
    wasmPaths,
    measure: {
      key: choiceKey({ ...browserFingerprint(), ...trainShapeKey(shape) }),
      memory: localStorageChoiceMemory(),
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
    },
  });
}
