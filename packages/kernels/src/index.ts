export { type KernelsStatus, kernels, kernelsStatus, startKernels, stopKernels } from './instance.js';
export type {
  CellKind,
  LayerInput,
  LstmGateOrder,
  MatMulInputs,
  SequenceBackwardInputs,
  SequenceBackwardResult,
  SequenceForwardInputs,
  SequenceForwardResult,
  SequenceShape,
} from './ops.js';
export { gatesOf, matMul, sequenceBackward, sequenceForward } from './ops.js';
export { KernelRuntime } from './runtime.js';
