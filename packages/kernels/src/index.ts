export { type KernelsStatus, kernels, kernelsStatus, startKernels, stopKernels } from './instance.js';
export type {
  CellKind,
  CrossEntropyResult,
  LayerInput,
  LstmGateOrder,
  MatMulInputs,
  SequenceBackwardInputs,
  SequenceBackwardResult,
  SequenceForwardInputs,
  SequenceForwardResult,
  SequenceShape,
} from './ops.js';
export { crossEntropy, gatesOf, matMul, sequenceBackward, sequenceForward } from './ops.js';
export { KernelRuntime } from './runtime.js';
