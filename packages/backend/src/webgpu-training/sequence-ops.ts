/**
 * The fused sequence ops of @rnnlm/cells (one op a layer's whole recurrence, with its input projection
 * and, on a top layer, the output head; one op for the backward pass of all of them) as kernels of
 * tfjs's webgpu backend. Same kernel names, inputs, attributes and outputs as cells' host kernels
 * (cells/src/fused/sequence-op.ts, whose gradients call these on webgpu), so the models' fused path
 * runs unchanged. The recurrence runs in the WGSL shaders of recurrence-shaders.ts; the projections and
 * the head, one product each over all steps, in tfjs's own webgpu matmul kernels.
 *
 * The forward pass's step buffer (gate activations, cells, states) stays on the GPU for the gradient:
 * kept by a handle (an int32 scalar output, saved by the tape) while a tape records, as the host
 * kernels keep theirs; when it is gone the backward kernel recomputes it.
 */
import {
  CELL_KINDS,
  type CellKind,
  gatesPerCell,
  LSTM_GATE_ORDERS,
  type LstmGateOrder,
} from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { type GpuBackend, run, webgpuKernel } from './program.js';
import {
  backwardRecurrence,
  finalStates,
  forwardRecurrence,
  outputsOf,
  type RecurrenceShape,
} from './recurrence-run.js';
import { GATHER_BIAS } from './recurrence-shaders.js';

type Projection = 'none' | 'ids' | 'dense';
interface Attrs {
  cell: CellKind;
  projection: Projection;
  head: boolean;
  steps: number;
  reverse: boolean;
  gateOrder: LstmGateOrder;
}

const SUFFIXES: ReadonlyArray<[Projection, boolean, string]> = [
  ['none', false, 'Sequence'],
  ['ids', false, 'IdsLayer'],
  ['dense', false, 'DenseLayer'],
  ['ids', true, 'IdsHeadLayer'],
  ['dense', true, 'DenseHeadLayer'],
  // With a dropout mask (input headMask) between the layer's outputs and the head.
  ['ids', true, 'IdsMaskedHeadLayer'],
  ['dense', true, 'DenseMaskedHeadLayer'],
];
const CAPITALISED: Record<CellKind, string> = { rnn: 'Rnn', gru: 'Gru', lstm: 'Lstm' };

/** The forward ops' kernel names (as cells names them: Rnnlm<Cell><input set>) and the backward op's. */
export const SEQUENCE_FORWARD_KERNELS: readonly string[] = CELL_KINDS.flatMap((cell) =>
  SUFFIXES.map(([, , suffix]) => `Rnnlm${CAPITALISED[cell]}${suffix}`),
);
export const SEQUENCE_BACKWARD_KERNEL = 'RnnlmSequenceGrad';

function attrsOf(attrs: tf.NamedAttrMap | undefined): Attrs {
  const { cell, projection, head, steps, reverse, gateOrder } = (attrs ?? {}) as Partial<Attrs>;
  if (
    !CELL_KINDS.includes(cell as CellKind) ||
    !['none', 'ids', 'dense'].includes(projection as string) ||
    !LSTM_GATE_ORDERS.includes(gateOrder as LstmGateOrder) ||
    typeof head !== 'boolean' ||
    typeof reverse !== 'boolean' ||
    typeof steps !== 'number'
  ) {
    throw new Error(`rnnlm webgpu sequence kernel: unexpected attributes ${JSON.stringify(attrs)}`);
  }
  return { cell, projection, head, steps, reverse, gateOrder } as Attrs;
}

const matMul = (
  backend: GpuBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
) => webgpuKernel(backend, 'BatchMatMul', { a, b }, { transposeA, transposeB });
const sumRows = (backend: GpuBackend, x: tf.TensorInfo) =>
  webgpuKernel(backend, 'Sum', { x }, { axis: [0], keepDims: false });
const dispose = (backend: GpuBackend, infos: tf.TensorInfo[]) => {
  for (const info of infos) backend.disposeData(info.dataId);
};

/**
 * `x` [T*B, H] times the head's dropout mask `mask`: [T*B, H], or [B, H] shared by the steps (then
 * broadcast over x seen as [T, B, H]).
 */
function timesMask(backend: GpuBackend, x: tf.TensorInfo, mask: tf.TensorInfo, s: RecurrenceShape) {
  if (mask.shape[0] === s.T * s.B) return webgpuKernel(backend, 'Multiply', { a: x, b: mask });
  const steps = webgpuKernel(backend, 'Reshape', { x }, { shape: [s.T, s.B, s.H] });
  const product = webgpuKernel(backend, 'Multiply', { a: steps, b: mask });
  const rows = webgpuKernel(backend, 'Reshape', { x: product }, { shape: [s.T * s.B, s.H] });
  dispose(backend, [steps, product]);
  return rows;
}

/** The top layer's outputs [T*B, H] as the head reads them: times the dropout mask when there is one. */
function headInput(
  backend: GpuBackend,
  inputs: tf.NamedTensorInfoMap,
  s: RecurrenceShape,
  work: tf.TensorInfo,
) {
  const outputs = outputsOf(backend, s, work, [s.T * s.B, s.H]);
  if (!inputs.headMask) return outputs;
  const masked = timesMask(backend, outputs, inputs.headMask, s);
  dispose(backend, [outputs]);
  return masked;
}

function shapeOf(inputs: tf.NamedTensorInfoMap, a: Attrs): RecurrenceShape {
  const [B, H] = inputs.h0!.shape as [number, number];
  return { cell: a.cell, T: a.steps, B, H, reverse: a.reverse, gateOrder: a.gateOrder };
}

/** The projected inputs of every step [T*B, G]: as given, rows of Wx by token id plus b, or x Wx + b. */
function projectInputs(backend: GpuBackend, inputs: tf.NamedTensorInfoMap, a: Attrs, s: RecurrenceShape) {
  const G = gatesPerCell(a.cell) * s.H;
  if (a.projection === 'none') return { xProj: inputs.xProj!, owned: false };
  if (a.projection === 'ids') {
    const rows = s.T * s.B;
    const xProj = run(backend, GATHER_BIAS, [inputs.Wx!, inputs.ids!, inputs.b!], [rows, G], rows * G, {
      shape: [rows, G],
    });
    return { xProj, owned: true };
  }
  const xProj = webgpuKernel(
    backend,
    '_FusedMatMul',
    { a: inputs.x!, b: inputs.Wx!, bias: inputs.b! },
    { transposeA: false, transposeB: false, activation: 'linear' },
  );
  return { xProj, owned: true };
}

/** The step buffer of the forward pass on these inputs. */
function stepBuffer(backend: GpuBackend, inputs: tf.NamedTensorInfoMap, a: Attrs, s: RecurrenceShape) {
  const { xProj, owned } = projectInputs(backend, inputs, a, s);
  const work = forwardRecurrence(backend, s, xProj, inputs.h0!, inputs.c0 ?? null, inputs.W!);
  if (owned) dispose(backend, [xProj]);
  return work;
}

// The step buffers kept for gradients, by handle (see the file comment and cells' stash.ts).
const kept = new Map<number, { backend: GpuBackend; work: tf.TensorInfo }>();
/** More kept sets than this (a model of 32 layer-directions evaluated without a backward pass) is a leak. */
const KEPT_LIMIT = 64;
let nextHandle = 1;

function recording(): boolean {
  const state = (tf.engine() as unknown as { state?: { activeTape?: unknown } }).state;
  return state === undefined || state.activeTape != null;
}

function keep(backend: GpuBackend, work: tf.TensorInfo): number {
  const handle = nextHandle++;
  if (!recording()) {
    dispose(backend, [work]);
    return handle;
  }
  kept.set(handle, { backend, work });
  if (kept.size > KEPT_LIMIT) {
    const [oldest, set] = kept.entries().next().value!;
    dispose(set.backend, [set.work]);
    kept.delete(oldest);
  }
  return handle;
}

/** Step buffers held on the GPU for gradients not yet taken (for tests). */
export function keptStepBuffers(): number {
  return kept.size;
}

const forwardKernel: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as unknown as GpuBackend;
  const a = attrsOf(attrs);
  const s = shapeOf(inputs, a);
  const work = stepBuffer(backend, inputs, a, s);
  let first: tf.TensorInfo;
  if (a.head) {
    const outputs = headInput(backend, inputs, s, work);
    first = webgpuKernel(
      backend,
      '_FusedMatMul',
      { a: outputs, b: inputs.Wq!, bias: inputs.bq! },
      { transposeA: false, transposeB: false, activation: 'linear' },
    );
    dispose(backend, [outputs]);
  } else first = outputsOf(backend, s, work);
  const states = finalStates(backend, s, work);
  const handle = backend.makeTensorInfo([], 'int32', Int32Array.of(keep(backend, work)));
  return [first, ...states, handle];
};

/**
 * Inputs: the forward op's inputs and handle, and dOutputs (with a head:
 * the logits' gradient), dh, (dc). Outputs: the gradients of the forward op's differentiable inputs, in
 * cells' order: [xProj] | [x, Wx, b] | [Wx, b], h0, (c0), W, (Wq, bq).
 */
const backwardKernel: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as unknown as GpuBackend;
  const a = attrsOf(attrs);
  const s = shapeOf(inputs, a);
  const handle = (backend.readSync(inputs.handle!.dataId) as Int32Array)[0]!;
  const stored = kept.get(handle);
  kept.delete(handle);
  const work = stored?.work ?? stepBuffer(backend, inputs, a, s);
  const temps: tf.TensorInfo[] = [work];
  const outs: tf.TensorInfo[] = [];
  let dOut = inputs.dOutputs!;
  let headGrads: tf.TensorInfo[] = [];
  if (a.head) {
    const dLogits = inputs.dOutputs!;
    const outputs = headInput(backend, inputs, s, work);
    dOut = matMul(backend, dLogits, inputs.Wq!, false, true);
    if (inputs.headMask) {
      // The head read outputs ⊙ mask: the outputs' gradient passes the same mask.
      temps.push(dOut);
      dOut = timesMask(backend, dOut, inputs.headMask, s);
    }
    headGrads = [matMul(backend, outputs, dLogits, true, false), sumRows(backend, dLogits)];
    temps.push(outputs, dOut);
  }
  const g = backwardRecurrence(
    backend,
    s,
    work,
    { h0: inputs.h0!, c0: inputs.c0 ?? null, W: inputs.W! },
    { dOut, dh: inputs.dh!, dc: inputs.dc ?? null },
  );
  if (a.projection === 'none') {
    outs.push(webgpuKernel(backend, 'Reshape', { x: g.dxProj }, { shape: inputs.xProj!.shape }));
  } else {
    if (a.projection === 'dense') outs.push(matMul(backend, g.dxProj, inputs.Wx!, false, true));
    const dWx =
      a.projection === 'ids'
        ? webgpuKernel(
            backend,
            'UnsortedSegmentSum',
            { x: g.dxProj, segmentIds: inputs.ids! },
            {
              numSegments: inputs.Wx!.shape[0],
            },
          )
        : matMul(backend, inputs.x!, g.dxProj, true, false);
    outs.push(dWx, sumRows(backend, g.dxProj));
  }
  temps.push(g.dxProj);
  outs.push(g.dh0);
  if (g.dc0) outs.push(g.dc0);
  outs.push(g.dW, ...headGrads);
  dispose(backend, temps);
  return outs;
};

/** Registers the forward and backward kernels on webgpu; idempotent through register-all.ts. */
export function registerSequenceKernels(): void {
  for (const kernelName of SEQUENCE_FORWARD_KERNELS) {
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: forwardKernel });
  }
  tf.registerKernel({
    kernelName: SEQUENCE_BACKWARD_KERNEL,
    backendName: 'webgpu',
    kernelFunc: backwardKernel,
  });
}
