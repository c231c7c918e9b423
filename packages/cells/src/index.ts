export { gatesPerCell, statesPerCell, validateModelConfig } from './config.js';
export { assertIdsInRange, assertIdsTensor } from './ids.js';
export * from './model.js';
export { createScratchModel, type ScratchModelOptions } from './scratch-model.js';
export {
  gruSequence,
  type LstmSequenceResult,
  lstmSequence,
  rnnSequence,
  type SequenceOptions,
  type SequenceResult,
} from './sequence.js';
