export { gatesPerCell, statesPerCell, validateModelConfig } from './config.js';
export {
  type FusedHeadResult,
  type FusedSequenceResult,
  fusedHeadLayer,
  fusedLayer,
  fusedSequence,
  fusedUnavailableReason,
  type LstmGateOrder,
  type Recurrence,
  SEQUENCE_KERNELS,
  type SequenceKernels,
  useFused,
} from './fused.js';
export { HOST_BACKENDS, readFloats, readInt, readInts, writeFloats, writeInt } from './host.js';
export { assertIdsInRange, assertIdsTensor } from './ids.js';
export * from './model.js';
export { createScratchModel, type ScratchModelOptions } from './scratch-model.js';
export {
  gruSequence,
  type LstmSequenceOptions,
  type LstmSequenceResult,
  lstmSequence,
  rnnSequence,
  type SequenceOptions,
  type SequenceResult,
} from './sequence.js';
