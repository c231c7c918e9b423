export {
  CELL_KINDS,
  type CellKind,
  gatesPerCell,
  LSTM_GATE_ORDERS,
  type LstmGateOrder,
} from '@rnnlm/kernels';
export { checkModelArguments, firstLayerInputSize, statesPerCell, validateModelConfig } from './config.js';
export {
  applyDropout,
  DROPOUT_INPUT_SITE,
  DropoutMasks,
  dropoutMasksFor,
  layerOutputSite,
  mixSeed,
} from './dropout.js';
export {
  FUSED_KERNEL_NAMES,
  FUSED_MODES,
  type FusedHeadResult,
  type FusedLayerInput,
  type FusedMode,
  type FusedSequenceResult,
  fusedCrossEntropy,
  fusedEmbeddingLookup,
  fusedHeadLayer,
  fusedLayer,
  fusedSequence,
  fusedUnavailableReason,
  HOST_BACKENDS,
  overwriteFloats,
  type Recurrence,
  readFloats,
  stackLossAndGradients,
  useFused,
  writeFloats,
} from './fused/index.js';
export { assertIdsInRange, assertIdsTensor, assertLabelledBatch, timeMajor } from './ids.js';
export { type InitialWeight, initialWeights, NORMAL_INIT_STDDEV, type WeightKind } from './init.js';
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
export { type DirectionWeights, embedTokens, forwardStack, type StackWeights } from './stack.js';
