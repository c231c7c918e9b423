// The API both entries (Node's index.ts and browser.ts) export besides their own `selectBackend`.

export {
  type ChoiceMemory,
  choiceKey,
  describeMeasurements,
  formatTokensPerSecond,
  type MeasureBackend,
  type MeasureContext,
  type Measurement,
  type MeasureOptions,
  type RememberedChoice,
  StepTimer,
  type StepTimerOptions,
} from './measure.js';
export type { Activation, BackendCandidate, BackendSelection } from './select.js';
export { BackendUnavailableError, selectFrom } from './select.js';
export { selectMeasured } from './select-measured.js';
export {
  registerWasmTrainingKernels,
  WASM_TRAINING_KERNELS,
  type WasmKernelOptions,
  type WasmKernelReport,
} from './wasm-training/register-all.js';
export { clearWasmTransposeCache } from './wasm-training/transpose.js';
export { registerWebgpuTrainingKernels, WEBGPU_TRAINING_KERNELS } from './webgpu-training/register-all.js';
export { keptStepBuffers } from './webgpu-training/sequence-ops.js';
