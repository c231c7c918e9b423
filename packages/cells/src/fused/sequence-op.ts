/**
 * The fused recurrences of @rnnlm/kernels as tfjs ops on the host backends (wasm and cpu): forward ops
 * that run a layer's whole recurrence (with the input projection, and the model's output head) in one
 * kernel, one backward op for all of them, and their gradients. Registered on first use, so that
 * importing this package changes nothing in tfjs. The gradients are backend-independent: on webgpu they
 * call the backward op that @rnnlm/backend registers there under the same name.
 */
import {
  CELL_KINDS,
  type CellKind,
  gatesPerCell,
  KernelMemoryError,
  kernelRuntime,
  type LayerInput,
  LSTM_GATE_ORDERS,
  type LstmGateOrder,
  type OutputHead,
  type SequenceForwardResult,
  sequenceBackward,
  sequenceForward,
} from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { HOST_BACKENDS, readFloats, readInt, readInts, writeFloats, writeInt } from './host-memory.js';
import { keep, recording, releaseAll, releaseFinished, take } from './stash.js';

/** How a layer's input arrives: projected (`xProj`), or as token ids or a dense input projected in the op. */
export type Projection = 'none' | 'ids' | 'dense';
const PROJECTIONS: readonly Projection[] = ['none', 'ids', 'dense'];

/**
 * The attributes of every op here, the forward op's passed on to the backward one. A type alias, not
 * an interface: so it is a tfjs `NamedAttrMap` as it stands, with no cast.
 */
export type SequenceAttrs = {
  cell: CellKind;
  projection: Projection;
  /** An output head (`Wq`, `bq`): the op outputs logits instead of the layer's outputs. */
  head: boolean;
  steps: number;
  reverse: boolean;
  gateOrder: LstmGateOrder;
};

function oneOf<T>(allowed: readonly T[], value: unknown): value is T {
  return (allowed as readonly unknown[]).includes(value);
}

/** The attributes as tfjs hands them to a kernel or gradient, checked back into their type. */
function sequenceAttrs(attrs: tf.NamedAttrMap | undefined): SequenceAttrs {
  const { cell, projection, head, steps, reverse, gateOrder } = attrs ?? {};
  if (
    !oneOf(CELL_KINDS, cell) ||
    !oneOf(PROJECTIONS, projection) ||
    !oneOf(LSTM_GATE_ORDERS, gateOrder) ||
    typeof head !== 'boolean' ||
    typeof reverse !== 'boolean' ||
    typeof steps !== 'number'
  ) {
    throw new Error(`rnnlm fused sequence op: unexpected attributes ${JSON.stringify(attrs)}`);
  }
  return { cell, projection, head, steps, reverse, gateOrder };
}

/**
 * What names an op: the cell, how the input arrives, whether the head comes with it, and whether a
 * dropout mask (input `headMask`, [T*B, H] or [B, H]) sits between the layer and the head.
 */
type OpKind = Pick<SequenceAttrs, 'cell' | 'projection' | 'head'> & { headMask?: boolean };

/** The input sets of the forward ops: a head comes only with an input projected in the op. */
type InputSet = Projection | 'idsHead' | 'denseHead' | 'idsMaskedHead' | 'denseMaskedHead';

/** One forward op per cell and input set: each has a fixed list of inputs, which its gradient saves. */
const FORWARD_OPS: Record<CellKind, Record<InputSet, string>> = {
  rnn: {
    none: 'RnnlmRnnSequence',
    ids: 'RnnlmRnnIdsLayer',
    dense: 'RnnlmRnnDenseLayer',
    idsHead: 'RnnlmRnnIdsHeadLayer',
    denseHead: 'RnnlmRnnDenseHeadLayer',
    idsMaskedHead: 'RnnlmRnnIdsMaskedHeadLayer',
    denseMaskedHead: 'RnnlmRnnDenseMaskedHeadLayer',
  },
  gru: {
    none: 'RnnlmGruSequence',
    ids: 'RnnlmGruIdsLayer',
    dense: 'RnnlmGruDenseLayer',
    idsHead: 'RnnlmGruIdsHeadLayer',
    denseHead: 'RnnlmGruDenseHeadLayer',
    idsMaskedHead: 'RnnlmGruIdsMaskedHeadLayer',
    denseMaskedHead: 'RnnlmGruDenseMaskedHeadLayer',
  },
  lstm: {
    none: 'RnnlmLstmSequence',
    ids: 'RnnlmLstmIdsLayer',
    dense: 'RnnlmLstmDenseLayer',
    idsHead: 'RnnlmLstmIdsHeadLayer',
    denseHead: 'RnnlmLstmDenseHeadLayer',
    idsMaskedHead: 'RnnlmLstmIdsMaskedHeadLayer',
    denseMaskedHead: 'RnnlmLstmDenseMaskedHeadLayer',
  },
};
const INPUT_SETS: ReadonlyArray<[Projection, boolean, boolean]> = [
  ['none', false, false],
  ['ids', false, false],
  ['dense', false, false],
  ['ids', true, false],
  ['dense', true, false],
  ['ids', true, true],
  ['dense', true, true],
];
const BACKWARD_OP = 'RnnlmSequenceGrad';
/** Every kernel name of the ops here: the forward ops, then the backward one. */
export const SEQUENCE_OPS: readonly string[] = [
  ...CELL_KINDS.flatMap((cell) => Object.values(FORWARD_OPS[cell])),
  BACKWARD_OP,
];

function forwardOp({ cell, projection, head, headMask = false }: OpKind): string {
  if (head && projection === 'none') throw new Error('rnnlm fused sequence op: a head needs a layer input');
  if (headMask && !head) throw new Error('rnnlm fused sequence op: a head mask needs a head');
  if (!head) return FORWARD_OPS[cell][projection];
  const masked = headMask ? 'MaskedHead' : 'Head';
  return FORWARD_OPS[cell][`${projection === 'ids' ? 'ids' : 'dense'}${masked}`];
}

/** The forward op's input names, in the order its gradient saves them. */
function inputNames({ cell, projection, head, headMask }: OpKind): string[] {
  const input = projection === 'none' ? ['xProj'] : [projection === 'ids' ? 'ids' : 'x', 'Wx', 'b'];
  const headInputs = head ? ['Wq', 'bq', ...(headMask ? ['headMask'] : [])] : [];
  return [...input, ...headInputs, 'h0', 'W', ...(cell === 'lstm' ? ['c0'] : [])];
}

/** The differentiable inputs of a forward op, in the order the backward op returns their gradients. */
function gradientNames({ cell, projection, head }: OpKind): string[] {
  const input = projection === 'none' ? ['xProj'] : projection === 'dense' ? ['x', 'Wx', 'b'] : ['Wx', 'b'];
  return [...input, 'h0', ...(cell === 'lstm' ? ['c0'] : []), 'W', ...(head ? ['Wq', 'bq'] : [])];
}

/**
 * Runs the forward op for `attrs` on `inputs` (named as inputNames lists them): outputs (or, with a
 * head, logits), h and, for an LSTM, c.
 */
export function runSequenceOp(inputs: tf.NamedTensorMap, attrs: SequenceAttrs): tf.Tensor[] {
  register();
  const kind = { ...attrs, headMask: inputs.headMask !== undefined };
  const out = tf.engine().runKernel(forwardOp(kind), inputs, attrs) as tf.Tensor[];
  // The handle of the saved activations goes to the tape (when one records); nobody else needs it.
  out.at(-1)!.dispose();
  return out.slice(0, -1);
}

/** The kernels' description of a layer's input, read from the backend. */
function layerInput(backend: unknown, inputs: tf.NamedTensorInfoMap, a: SequenceAttrs): LayerInput {
  if (a.projection === 'none') return { xProj: readFloats(backend, inputs.xProj!) };
  const Wx = readFloats(backend, inputs.Wx!);
  const b = readFloats(backend, inputs.b!);
  const inputSize = inputs.Wx!.shape[0]!;
  if (a.projection === 'ids') return { ids: readInts(backend, inputs.ids!), inputSize, Wx, b };
  return { x: readFloats(backend, inputs.x!), inputSize, Wx, b };
}

function shapeOf(inputs: tf.NamedTensorInfoMap, a: SequenceAttrs) {
  const [B, H] = inputs.h0!.shape as [number, number];
  return { cell: a.cell, T: a.steps, B, H, reverse: a.reverse, gateOrder: a.gateOrder };
}

/** The head's weights, and its dropout mask when the op has one (a row per output row, or per sequence). */
function outputHead(backend: unknown, inputs: tf.NamedTensorInfoMap): OutputHead {
  const { Wq, bq, headMask } = inputs;
  return {
    W: readFloats(backend, Wq!),
    b: readFloats(backend, bq!),
    V: Wq!.shape[1]!,
    ...(headMask ? { mask: { values: readFloats(backend, headMask), rows: headMask.shape[0]! } } : {}),
  };
}

function forwardInputs(backend: unknown, inputs: tf.NamedTensorInfoMap, a: SequenceAttrs) {
  return {
    input: layerInput(backend, inputs, a),
    ...(a.head ? { head: outputHead(backend, inputs) } : {}),
    h0: readFloats(backend, inputs.h0!),
    ...(a.cell === 'lstm' ? { c0: readFloats(backend, inputs.c0!) } : {}),
    W: readFloats(backend, inputs.W!),
  };
}

const forwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const a = sequenceAttrs(attrs);
  const shape = shapeOf(inputs, a);
  const { T, B, H } = shape;
  releaseFinished();
  const run = () =>
    sequenceForward(kernelRuntime()!, shape, forwardInputs(backend, inputs, a), { hold: recording() });
  let r: SequenceForwardResult;
  try {
    r = run();
  } catch (error) {
    if (!(error instanceof KernelMemoryError)) throw error;
    // The sets held for other layers' gradients take the memory this one needs: those recompute.
    releaseAll();
    r = run();
  }
  // Kept before anything else can throw, so that a failure cannot strand the held memory.
  const handle = keep(r.held);
  const first = a.head
    ? writeFloats(backend, [T * B, inputs.Wq!.shape[1]!], r.logits!)
    : writeFloats(backend, [T, B, H], r.outputs);
  const outs = [first, writeFloats(backend, [B, H], r.h)];
  if (a.cell === 'lstm') outs.push(writeFloats(backend, [B, H], r.c!));
  outs.push(writeInt(backend, handle));
  return outs;
};

/**
 * Inputs: the forward op's inputs and handle, and dOutputs, dh, (dc); attrs: the forward op's.
 * Outputs: the gradient of each differentiable input of the forward op, in the order `gradientNames`
 * gives.
 */
const backwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const runtime = kernelRuntime()!;
  const a = sequenceAttrs(attrs);
  const shape = shapeOf(inputs, a);
  const { B, H } = shape;
  const G = gatesPerCell(a.cell) * H;
  const forward = forwardInputs(backend, inputs, a);
  const gradients = {
    ...(a.head
      ? { dOutputs: null, dLogits: readFloats(backend, inputs.dOutputs!) }
      : { dOutputs: readFloats(backend, inputs.dOutputs!) }),
    dh: readFloats(backend, inputs.dh!),
    ...(a.cell === 'lstm' ? { dc: readFloats(backend, inputs.dc!) } : {}),
  };
  let held = take(readInt(backend, inputs.handle!));
  if (held && held.runtime !== runtime) {
    // Held by a kernel runtime since replaced (startKernels): recompute on this one.
    held.release();
    held = undefined;
  }
  // The backward pass releases what it reads (also when it throws).
  held ??= sequenceForward(runtime, shape, forward, { hold: true }).held!;
  const r = sequenceBackward(runtime, shape, { ...forward, held, ...gradients });
  const outs: tf.TensorInfo[] = [];
  if (r.dxProj) outs.push(writeFloats(backend, inputs.xProj!.shape, r.dxProj));
  if (r.dx) outs.push(writeFloats(backend, inputs.x!.shape, r.dx));
  if (r.dWx) outs.push(writeFloats(backend, inputs.Wx!.shape, r.dWx), writeFloats(backend, [G], r.db!));
  outs.push(writeFloats(backend, [B, H], r.dh0));
  if (a.cell === 'lstm') outs.push(writeFloats(backend, [B, H], r.dc0!));
  outs.push(writeFloats(backend, [H, G], r.dW));
  if (r.dWq)
    outs.push(writeFloats(backend, inputs.Wq!.shape, r.dWq), writeFloats(backend, inputs.bq!.shape, r.dbq!));
  return outs;
};

function gradient(kind: OpKind): tf.GradConfig {
  const { cell, projection, headMask } = kind;
  const names = inputNames(kind);
  const gradients = gradientNames(kind);
  // Saved: every input (used only if the activations must be recomputed), then the handle.
  return {
    kernelName: forwardOp(kind),
    inputsToSave: names,
    outputsToSave: cell === 'lstm' ? [false, false, false, true] : [false, false, true],
    gradFunc: (dy, saved, attrs) => {
      const dys = dy as tf.Tensor[];
      const inputs: tf.NamedTensorMap = {};
      for (const [i, name] of names.entries()) inputs[name] = saved[i]!;
      inputs.handle = saved[names.length]!;
      inputs.dOutputs = dys[0]!;
      inputs.dh = dys[1]!;
      if (cell === 'lstm') inputs.dc = dys[2]!;
      const grads = tf.engine().runKernel(BACKWARD_OP, inputs, sequenceAttrs(attrs)) as tf.Tensor[];
      const result: Record<string, () => tf.Tensor> = {};
      for (const [i, name] of gradients.entries()) result[name] = () => grads[i]!;
      // Token ids have no gradient; as tfjs's gather, hand back the ids themselves (never used).
      if (projection === 'ids') result.ids = () => inputs.ids!;
      // The dropout mask is a constant of the forward call: no gradient flows to it.
      if (headMask) result.headMask = () => tf.zerosLike(inputs.headMask!);
      return result;
    },
  };
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  for (const cell of CELL_KINDS) {
    for (const [projection, head, headMask] of INPUT_SETS) {
      const kernelName = forwardOp({ cell, projection, head, headMask });
      for (const backendName of HOST_BACKENDS)
        tf.registerKernel({ kernelName, backendName, kernelFunc: forwardKernel });
      tf.registerGradient(gradient({ cell, projection, head, headMask }));
    }
  }
  for (const backendName of HOST_BACKENDS)
    tf.registerKernel({ kernelName: BACKWARD_OP, backendName, kernelFunc: backwardKernel });
}
