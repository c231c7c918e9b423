export type { SimdFlavour } from './binary.js';
export { CELL_KINDS, type CellKind, gatesPerCell, LSTM_GATE_ORDERS, type LstmGateOrder } from './cells.js';
export { dropoutMaskValues, dropoutMaskView, maskBits, maskThreshold } from './dropout-mask.js';
export { embeddingGrad, embeddingLookup } from './embedding.js';
export { type FlagParameter, JOB_PARAMETERS, type JobArgs, type JobFunction } from './exports.js';
export { checkHeadMask, type HeadMask } from './head-mask.js';
export { HeldActivations, type HeldKey, type HeldRegions } from './held.js';
export {
  type KernelsStatus,
  kernelRuntime,
  kernelsStatus,
  startKernels,
  stopKernels,
} from './instance.js';
export { type CrossEntropyResult, crossEntropyWithGrad } from './loss.js';
export { type Arena, KernelMemoryError } from './memory.js';
export { measureSimdPeak, type SimdPeak } from './peak.js';
export { type MatMulInputs, matMul } from './products.js';
export { KernelRuntime } from './runtime.js';
export {
  type LayerInput,
  type OutputHead,
  type SequenceBackwardInputs,
  type SequenceBackwardResult,
  type SequenceForwardInputs,
  type SequenceForwardOptions,
  type SequenceForwardResult,
  type SequenceShape,
  sequenceBackward,
  sequenceForward,
} from './sequence.js';
export {
  prepareStepModels,
  type StepLayerWeights,
  StepModel,
  type StepModelOptions,
  type StepModelWeights,
  stepModelsUnavailable,
} from './step.js';
export {
  parameterUpdate,
  sumOfSquares,
  type UpdateInputs,
  type UpdateResult,
  type UpdateRule,
} from './update.js';
