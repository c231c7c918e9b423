// The rnnlm kernels: every export takes byte addresses into the (imported) memory and sizes; those
// ending in (tid, nt) do thread tid's share of the work of nt threads.

export { dropoutMask } from './dropout';
export { gemm, packA, packB, packedBytes } from './gemm';
export { gruBackward, gruForward } from './gru';
export { crossEntropyRows } from './loss';
export { simdPeak } from './peak';
export { lstmBackward, lstmForward } from './lstm';
export { fillRows, gatherRows, projectionGrad, projectionPartsSum } from './project';
export { rnnBackward, rnnForward } from './rnn';
export { stackStep, stackStepColumns } from './step';
export { adamUpdate, sgdUpdate, sumSquares } from './update';

/** The first byte after the module's own static data: the JavaScript side allocates from here. */
export function heapBase(): usize {
  return __heap_base;
}
