/**
 * A layer's recurrence on the GPU, forward and backward through time, from the shaders of
 * recurrence-shaders.ts: one or two dispatches a time step, all writing one buffer, so nothing is read
 * back to the CPU and no tensor is made per step.
 */
import { type CellKind, gatesPerCell, type LstmGateOrder } from '@rnnlm/kernels';
import type * as tf from '@tensorflow/tfjs-core';
import { copyRows, type GpuBackend, run, webgpuKernel } from './program.js';
import {
  GRU_WEIGHT_GRAD,
  gruBackwardGates,
  gruBackwardReset,
  gruForwardGates,
  gruForwardState,
  lstmBackwardStep,
  lstmForwardStep,
  previousStates,
  rnnBackwardStep,
  rnnForwardStep,
  SLOTS,
} from './recurrence-shaders.js';

/** A recurrence's sizes, cell and direction. */
export interface RecurrenceShape {
  cell: CellKind;
  T: number;
  B: number;
  H: number;
  reverse: boolean;
  gateOrder: LstmGateOrder;
}

/** The step of processing order s, and the steps before and after it in that order (-1: none). */
function stepAt(s: number, { T, reverse }: RecurrenceShape) {
  return reverse ? T - 1 - s : s;
}
function previous(t: number, { T, reverse }: RecurrenceShape): number {
  const p = reverse ? t + 1 : t - 1;
  return p < 0 || p >= T ? -1 : p;
}

/**
 * Runs the recurrence on xProj [T*B*G] from h0 (and c0): the step buffer `work` [T*B*S] (see
 * recurrence-shaders.ts), which the caller disposes or keeps for the backward pass.
 */
export function forwardRecurrence(
  backend: GpuBackend,
  shape: RecurrenceShape,
  xProj: tf.TensorInfo,
  h0: tf.TensorInfo,
  c0: tf.TensorInfo | null,
  W: tf.TensorInfo,
): tf.TensorInfo {
  const { cell, T, B, H, gateOrder } = shape;
  const work = backend.makeTensorInfo([T * B * SLOTS[cell].size * H], 'float32');
  const into = { into: work };
  for (let s = 0; s < T; s++) {
    const t = stepAt(s, shape);
    const values = [B, H, t, previous(t, shape)];
    if (cell === 'lstm') run(backend, lstmForwardStep(gateOrder), [xProj, h0, c0!, W], values, B * H, into);
    else if (cell === 'rnn') run(backend, rnnForwardStep(), [xProj, h0, W], values, B * H, into);
    else {
      run(backend, gruForwardGates(), [xProj, h0, W], values, B * H, into);
      run(backend, gruForwardState(), [xProj, h0, W], values, B * H, into);
    }
  }
  return work;
}

/** The outputs [T, B, H] (or `shape`) in input order, out of a step buffer. */
export function outputsOf(backend: GpuBackend, s: RecurrenceShape, work: tf.TensorInfo, shape?: number[]) {
  const { size, h } = SLOTS[s.cell];
  return copyRows(backend, work, shape ?? [s.T, s.B, s.H], h * s.H, s.H, size * s.H);
}

/** The final h and (LSTM) c [B, H]: the state after the step processed last. */
export function finalStates(backend: GpuBackend, s: RecurrenceShape, work: tf.TensorInfo): tf.TensorInfo[] {
  const { size, h, c } = SLOTS[s.cell];
  const last = s.reverse ? 0 : s.T - 1;
  const at = (slot: number) =>
    copyRows(backend, work, [s.B, s.H], last * s.B * size * s.H + slot * s.H, s.H, size * s.H);
  return c === undefined ? [at(h)] : [at(h), at(c)];
}

/** What the backward pass of a recurrence gives: the gradients of xProj, h0, (c0) and W. */
export interface RecurrenceGrads {
  /** [T*B, G] */
  dxProj: tf.TensorInfo;
  dh0: tf.TensorInfo;
  dc0?: tf.TensorInfo;
  /** [H, G] */
  dW: tf.TensorInfo;
}

/**
 * Backward through time from `work` (the forward pass's step buffer) and the gradients of the outputs
 * `dOut` [T*B*H] and of the final states `dh` (and `dc`).
 */
export function backwardRecurrence(
  backend: GpuBackend,
  shape: RecurrenceShape,
  work: tf.TensorInfo,
  states: { h0: tf.TensorInfo; c0: tf.TensorInfo | null; W: tf.TensorInfo },
  grads: { dOut: tf.TensorInfo; dh: tf.TensorInfo; dc: tf.TensorInfo | null },
): RecurrenceGrads {
  const { cell, T, B, H, gateOrder } = shape;
  const G = gatesPerCell(cell) * H;
  const { h0, c0, W } = states;
  const { dOut, dh, dc } = grads;
  const tail = T * B * G;
  const dZ = backend.makeTensorInfo([tail + 2 * B * H], 'float32');
  const WT = webgpuKernel(backend, 'Transpose', { x: W }, { perm: [1, 0] });
  const into = { into: dZ };
  const step = (t: number, next: number) => {
    const values = [T, B, H, t, t < 0 ? -1 : previous(t, shape), next];
    if (cell === 'lstm') {
      run(backend, lstmBackwardStep(gateOrder), [work, WT, dOut, dh, dc!, c0!], values, B * H, into);
    } else if (cell === 'rnn') run(backend, rnnBackwardStep(), [work, WT, dOut, dh], values, B * H, into);
    else {
      run(backend, gruBackwardGates(), [work, WT, dOut, dh, h0], values, B * H, into);
      if (t >= 0) run(backend, gruBackwardReset(), [work, WT, h0], values, B * H, into);
    }
  };
  // Backward processing order: the forward pass's last step first.
  let next = -1;
  for (let s = T - 1; s >= 0; s--) {
    const t = stepAt(s, shape);
    step(t, next);
    next = t;
  }
  step(-1, next);
  const dxProj = copyRows(backend, dZ, [T * B, G], 0, G, G);
  const result: RecurrenceGrads = {
    dxProj,
    dh0: copyRows(backend, dZ, [B, H], tail + B * H, H, H),
    dW: weightGrad(backend, shape, work, h0, dxProj),
  };
  if (cell === 'lstm') result.dc0 = copyRows(backend, dZ, [B, H], tail, H, H);
  backend.disposeData(dZ.dataId);
  backend.disposeData(WT.dataId);
  return result;
}

/** dW [H, G] = A^T dZ over every step and row, A the state each step read (see previousStates). */
function weightGrad(
  backend: GpuBackend,
  shape: RecurrenceShape,
  work: tf.TensorInfo,
  h0: tf.TensorInfo,
  dZ: tf.TensorInfo,
): tf.TensorInfo {
  const { cell, T, B, H } = shape;
  const width = cell === 'gru' ? 2 * H : H;
  const A = run(backend, previousStates(cell), [work, h0], [T, B, H, shape.reverse ? 1 : 0], T * B * width, {
    shape: [T * B, width],
  });
  const product = webgpuKernel(
    backend,
    'BatchMatMul',
    { a: A, b: dZ },
    { transposeA: true, transposeB: false },
  );
  backend.disposeData(A.dataId);
  if (cell !== 'gru') return product;
  const dW = run(backend, GRU_WEIGHT_GRAD, [product], [H], 3 * H * H, { shape: [H, 3 * H] });
  backend.disposeData(product.dataId);
  return dW;
}
