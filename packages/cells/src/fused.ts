/**
 * The fused sequence kernels of @rnnlm/kernels as tfjs kernels, with their gradients registered, so
 * that one op runs a layer's whole recurrence (forward, and backward through time) in WebAssembly
 * SIMD instead of a dozen tfjs ops per time step.
 *
 * They run on the backends whose tensors live in CPU memory, `wasm` and `cpu`, reading inputs straight
 * from the backend's memory and writing outputs into it. Elsewhere (WebGL, native TensorFlow, or an
 * engine without WebAssembly SIMD) the op-by-op cells run instead; `kernels: 'fused'` makes that an
 * error instead.
 *
 * Registration is lazy (on first use), so importing this package changes nothing in tfjs.
 */
import {
  type CellKind,
  gatesOf,
  kernels,
  type LayerInput,
  type SequenceForwardResult,
  sequenceBackward,
  sequenceForward,
} from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { HOST_BACKENDS, readFloats, readInt, readInts, writeFloats, writeInt } from './host.js';

/** How a layer's recurrence runs: the fused kernel where it can (default), always, or op by op. */
export type SequenceKernels = 'auto' | 'fused' | 'ops';
export const SEQUENCE_KERNELS: readonly SequenceKernels[] = ['auto', 'fused', 'ops'];

/** Gate blocks of an LSTM's fused weight: d2l's (i, f, o, c~) or tfjs-layers' (i, f, c~, o). */
export type LstmGateOrder = 'ifoc' | 'ifco';

type Projection = 'none' | 'ids' | 'dense';
const CELLS: readonly CellKind[] = ['rnn', 'gru', 'lstm'];
/**
 * One forward op per cell, input kind and head: each has a fixed set of inputs, which its gradient
 * saves. A head (the model's output layer) comes only with a projected input.
 */
function forwardName(cell: CellKind, projection: Projection, head: boolean): string {
  const Cell = cell === 'rnn' ? 'Rnn' : cell === 'gru' ? 'Gru' : 'Lstm';
  if (projection === 'none') return `Rnnlm${Cell}Sequence`;
  return `Rnnlm${Cell}${projection === 'ids' ? 'Ids' : 'Dense'}${head ? 'Head' : ''}Layer`;
}
const KINDS: ReadonlyArray<[Projection, boolean]> = [
  ['none', false],
  ['ids', false],
  ['dense', false],
  ['ids', true],
  ['dense', true],
];
const BACKWARD = 'RnnlmSequenceGrad';

/** Why the fused kernels cannot run on the active backend, or null when they can. */
export function fusedUnavailableReason(): string | null {
  const backend = tf.getBackend();
  if (!(HOST_BACKENDS as readonly string[]).includes(backend)) {
    return `the fused kernels run on the wasm and cpu backends, and the active one is ${backend}`;
  }
  if (kernels() === null) return 'WebAssembly SIMD is not available here (or the kernels were not started)';
  return null;
}

/** Whether a recurrence with these settings runs fused. */
export function useFused(mode: SequenceKernels = 'auto'): boolean {
  if (mode === 'ops') return false;
  const reason = fusedUnavailableReason();
  if (reason === null) return true;
  if (mode === 'fused') throw new Error(`kernels: 'fused' was asked for, but ${reason}; use 'auto' or 'ops'`);
  return false;
}

export interface FusedSequenceResult {
  outputs: tf.Tensor3D;
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
}

/** The states and weights of one layer's recurrence. */
export interface Recurrence {
  cell: CellKind;
  h0: tf.Tensor2D;
  /** LSTM only. */
  c0?: tf.Tensor2D | null;
  /** [H, G*H] */
  W: tf.Tensor2D;
  reverse: boolean;
  gateOrder?: LstmGateOrder;
}

/**
 * One layer's recurrence in one op. Shapes as in sequence.ts (already checked there): xProj [T, B, G*H],
 * h0 and c0 [B, H], W [H, G*H]; outputs [T, B, H] in input order.
 */
export function fusedSequence(xProj: tf.Tensor3D, r: Recurrence): FusedSequenceResult {
  return run(r, { xProj }, { projection: 'none', steps: xProj.shape[0] });
}

/**
 * A whole layer in one op: the input projection of every step (rows of Wx gathered by token id, or a
 * dense input times Wx), plus b, then the recurrence. `ids` are time-major [T*B] int32, each in
 * [0, Wx rows); `x` is [T*B, Wx rows]. The model checks shapes and ids before it calls this.
 */
export function fusedLayer(
  input: { ids: tf.Tensor1D } | { x: tf.Tensor2D },
  Wx: tf.Tensor2D,
  b: tf.Tensor1D,
  r: Recurrence,
): FusedSequenceResult {
  const rows = 'ids' in input ? input.ids.shape[0] : input.x.shape[0];
  const steps = rows / r.h0.shape[0];
  if ('ids' in input) return run(r, { ids: input.ids, Wx, b }, { projection: 'ids', steps });
  return run(r, { x: input.x, Wx, b }, { projection: 'dense', steps });
}

export interface FusedHeadResult {
  /** [T*B, V], time-major rows. */
  logits: tf.Tensor2D;
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
}

/**
 * A model's top layer and its output head in one op: as fusedLayer, then logits = outputs Wq + bq
 * (Wq [H, V], bq [V]); the layer's outputs never leave the kernel (the gradient keeps them by handle).
 */
export function fusedHeadLayer(
  input: { ids: tf.Tensor1D } | { x: tf.Tensor2D },
  Wx: tf.Tensor2D,
  b: tf.Tensor1D,
  r: Recurrence,
  head: { W: tf.Tensor2D; b: tf.Tensor1D },
): FusedHeadResult {
  const rows = 'ids' in input ? input.ids.shape[0] : input.x.shape[0];
  const steps = rows / r.h0.shape[0];
  const layerInputs: tf.NamedTensorMap = 'ids' in input ? { ids: input.ids, Wx, b } : { x: input.x, Wx, b };
  const attrs = { projection: 'ids' in input ? ('ids' as const) : ('dense' as const), steps, head: true };
  const out = run(r, { ...layerInputs, Wq: head.W, bq: head.b }, attrs);
  return { logits: out.outputs as unknown as tf.Tensor2D, h: out.h, ...(out.c ? { c: out.c } : {}) };
}

function run(
  r: Recurrence,
  layerInputs: tf.NamedTensorMap,
  extra: Omit<LayerAttrs, 'reverse' | 'gateOrder' | 'head'> & { head?: boolean },
): FusedSequenceResult {
  register();
  // The gradient saves these by name (inputNames), whatever their order here.
  const inputs: tf.NamedTensorMap = { ...layerInputs, h0: r.h0, W: r.W };
  if (r.cell === 'lstm') inputs.c0 = r.c0!;
  const attrs: LayerAttrs = { head: false, ...extra, reverse: r.reverse, gateOrder: r.gateOrder ?? 'ifoc' };
  const name = forwardName(r.cell, attrs.projection, attrs.head);
  const out = tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  // The handle of the saved activations goes to the tape (when one records); nobody else needs it.
  out.at(-1)!.dispose();
  return {
    // With a head: the logits.
    outputs: out[0] as tf.Tensor3D,
    h: out[1] as tf.Tensor2D,
    ...(r.cell === 'lstm' ? { c: out[2] as tf.Tensor2D } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Saved activations. The backward pass needs the gate activations of every step (LSTM, GRU) and the
// memory cells (LSTM) or R ⊙ H_{t-1} (GRU). As outputs of the forward op they would cost a zero-filled
// gradient tensor of their size per backward pass (tfjs fills one for every output nobody used), so
// the forward op keeps them here and outputs only a scalar handle, which the tape saves. The gradient
// takes them back by handle; when they are gone (never stored because no tape was recording, or
// evicted), it recomputes them with the forward kernel from the saved inputs.

const stash = new Map<number, Float32Array[]>();
/** More saved sets than this (a model of 32 layer-directions, evaluated without a backward pass) is a leak. */
const STASH_LIMIT = 64;
let nextHandle = 1;

function recording(): boolean {
  const state = (tf.engine() as unknown as { state?: { activeTape?: unknown } }).state;
  // Unknown engine internals: keep the activations, at the cost of memory only.
  return state === undefined || state.activeTape != null;
}

/**
 * Buffers of stored sets, reused: a training step stores and frees the same sizes every batch, and a
 * fresh multi-megabyte array costs more (page faults, zeroing) than the copy into it.
 */
const spare = new Map<number, Float32Array[]>();
const SPARE_PER_SIZE = 8;

/** A copy of `values` (a view of kernel memory) in a reused buffer. */
function copyOut(values: Float32Array): Float32Array {
  const copy = spare.get(values.length)?.pop() ?? new Float32Array(values.length);
  copy.set(values);
  return copy;
}

function release(buffers: Float32Array[]): void {
  for (const b of buffers) {
    const list = spare.get(b.length) ?? [];
    if (list.length < SPARE_PER_SIZE) list.push(b);
    spare.set(b.length, list);
  }
}

function keep(saved: Float32Array[]): number {
  const handle = nextHandle++;
  if (!recording()) return handle;
  stash.set(handle, saved.map(copyOut));
  if (stash.size > STASH_LIMIT) {
    const oldest = stash.keys().next().value!;
    release(stash.get(oldest)!);
    stash.delete(oldest);
  }
  return handle;
}

/** Saved activations held for gradients not yet taken (for tests). */
export function savedActivationSets(): number {
  return stash.size;
}

interface LayerAttrs {
  /** none: `xProj` comes projected; ids / dense: `ids` or `x`, with `Wx` and `b`. */
  projection: Projection;
  /** An output head (`Wq`, `bq`): the op outputs logits instead of the layer's outputs. */
  head: boolean;
  steps: number;
  reverse: boolean;
  gateOrder: LstmGateOrder;
}

/** The kernels' description of a layer's input, read from the backend. */
function layerInput(backend: unknown, inputs: tf.NamedTensorInfoMap, a: LayerAttrs): LayerInput {
  if (a.projection === 'none') return { xProj: readFloats(backend, inputs.xProj!) };
  const Wx = readFloats(backend, inputs.Wx!);
  const b = readFloats(backend, inputs.b!);
  const inputSize = inputs.Wx!.shape[0]!;
  if (a.projection === 'ids') return { ids: readInts(backend, inputs.ids!), inputSize, Wx, b };
  return { x: readFloats(backend, inputs.x!), inputSize, Wx, b };
}

function shapeOf(cell: CellKind, inputs: tf.NamedTensorInfoMap, a: LayerAttrs) {
  const [B, H] = inputs.h0!.shape as [number, number];
  return { cell, T: a.steps, B, H, reverse: a.reverse, gateOrder: a.gateOrder };
}

function forwardInputs(backend: unknown, cell: CellKind, inputs: tf.NamedTensorInfoMap, a: LayerAttrs) {
  const V = a.head ? inputs.Wq!.shape[1]! : 0;
  return {
    input: layerInput(backend, inputs, a),
    ...(a.head
      ? { head: { W: readFloats(backend, inputs.Wq!), b: readFloats(backend, inputs.bq!), V } }
      : {}),
    h0: readFloats(backend, inputs.h0!),
    ...(cell === 'lstm' ? { c0: readFloats(backend, inputs.c0!) } : {}),
    W: readFloats(backend, inputs.W!),
  };
}

/**
 * What the gradient takes back by handle: the activations, and with a head the layer's outputs (an
 * RNN without a head keeps an empty set: its gradient needs only the outputs, which the tape saves).
 */
function toKeep(r: SequenceForwardResult, a: LayerAttrs): Float32Array[] {
  return a.head ? [...r.saved, r.outputs] : r.saved;
}

function forwardKernel(cell: CellKind): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as LayerAttrs;
    const shape = shapeOf(cell, inputs, a);
    const { T, B, H } = shape;
    const r = sequenceForward(kernels()!, shape, forwardInputs(backend, cell, inputs, a));
    const first = a.head
      ? writeFloats(backend, [T * B, inputs.Wq!.shape[1]!], r.logits!)
      : writeFloats(backend, [T, B, H], r.outputs);
    const outs = [first, writeFloats(backend, [B, H], r.h)];
    if (cell === 'lstm') outs.push(writeFloats(backend, [B, H], r.c!));
    outs.push(writeInt(backend, keep(toKeep(r, a))));
    return outs;
  };
}

/**
 * Inputs: the forward op's inputs, its outputs and handle, and dOutputs, dh, (dc); attrs: the forward
 * op's and the cell. Outputs: the gradient of each differentiable input of the forward op, in the
 * order `gradientNames` gives.
 */
const backwardKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const runtime = kernels()!;
  const a = attrs as unknown as LayerAttrs & { cell: CellKind };
  const cell = a.cell;
  const shape = shapeOf(cell, inputs, a);
  const { B, H } = shape;
  const G = gatesOf(cell) * H;
  const handle = readInt(backend, inputs.handle!);
  let kept = stash.get(handle);
  stash.delete(handle);
  if (!kept)
    kept = toKeep(sequenceForward(runtime, shape, forwardInputs(backend, cell, inputs, a)), a).map(copyOut);
  const saved = a.head ? kept.slice(0, -1) : kept;
  const r = sequenceBackward(runtime, shape, {
    ...forwardInputs(backend, cell, inputs, a),
    outputs: a.head ? kept.at(-1)! : readFloats(backend, inputs.outputs!),
    saved,
    ...(a.head
      ? { dOutputs: null, dLogits: readFloats(backend, inputs.dOutputs!) }
      : { dOutputs: readFloats(backend, inputs.dOutputs!) }),
    dh: readFloats(backend, inputs.dh!),
    ...(cell === 'lstm' ? { dc: readFloats(backend, inputs.dc!) } : {}),
  });
  release(kept);
  const outs: tf.TensorInfo[] = [];
  if (r.dxProj) outs.push(writeFloats(backend, inputs.xProj!.shape, r.dxProj));
  if (r.dx) outs.push(writeFloats(backend, inputs.x!.shape, r.dx));
  if (r.dWx) outs.push(writeFloats(backend, inputs.Wx!.shape, r.dWx), writeFloats(backend, [G], r.db!));
  outs.push(writeFloats(backend, [B, H], r.dh0));
  if (cell === 'lstm') outs.push(writeFloats(backend, [B, H], r.dc0!));
  outs.push(writeFloats(backend, [H, G], r.dW));
  if (r.dWq)
    outs.push(writeFloats(backend, inputs.Wq!.shape, r.dWq), writeFloats(backend, inputs.bq!.shape, r.dbq!));
  return outs;
};

/** The differentiable inputs of a forward op, in the order the backward kernel returns their gradients. */
function gradientNames(cell: CellKind, projection: Projection, head: boolean): string[] {
  const input = projection === 'none' ? ['xProj'] : projection === 'dense' ? ['x', 'Wx', 'b'] : ['Wx', 'b'];
  return [...input, 'h0', ...(cell === 'lstm' ? ['c0'] : []), 'W', ...(head ? ['Wq', 'bq'] : [])];
}

function gradient(cell: CellKind, projection: Projection, head: boolean): tf.GradConfig {
  const names = inputNames(cell, projection, head);
  // Saved: every input (the layer input only in case the activations must be recomputed), then the
  // outputs (not the logits: with a head the outputs are kept by handle) and the handle.
  const saveFirst = !head;
  return {
    kernelName: forwardName(cell, projection, head),
    inputsToSave: names,
    outputsToSave: cell === 'lstm' ? [saveFirst, false, false, true] : [saveFirst, false, true],
    gradFunc: (dy, saved, attrs) => {
      const dys = dy as tf.Tensor[];
      const inputs: tf.NamedTensorMap = {};
      for (const [i, name] of names.entries()) inputs[name] = saved[i]!;
      if (saveFirst) inputs.outputs = saved[names.length]!;
      inputs.handle = saved[names.length + (saveFirst ? 1 : 0)]!;
      inputs.dOutputs = dys[0]!;
      inputs.dh = dys[1]!;
      if (cell === 'lstm') inputs.dc = dys[2]!;
      const grads = tf.engine().runKernel(BACKWARD, inputs, { ...attrs, cell }) as tf.Tensor[];
      const result: Record<string, () => tf.Tensor> = {};
      for (const [i, name] of gradientNames(cell, projection, head).entries()) result[name] = () => grads[i]!;
      // Token ids have no gradient; as tfjs's gather, hand back the ids themselves (never used).
      if (projection === 'ids') result.ids = () => inputs.ids!;
      return result;
    },
  };
}

/** The forward op's input names, in the order its gradient saves them. */
function inputNames(cell: CellKind, projection: Projection, head: boolean): string[] {
  const input = projection === 'none' ? ['xProj'] : [projection === 'ids' ? 'ids' : 'x', 'Wx', 'b'];
  return [...input, ...(head ? ['Wq', 'bq'] : []), 'h0', 'W', ...(cell === 'lstm' ? ['c0'] : [])];
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  for (const cell of CELLS) {
    for (const [projection, head] of KINDS) {
      const kernelName = forwardName(cell, projection, head);
      for (const backendName of HOST_BACKENDS)
        tf.registerKernel({ kernelName, backendName, kernelFunc: forwardKernel(cell) });
      tf.registerGradient(gradient(cell, projection, head));
    }
  }
  for (const backendName of HOST_BACKENDS)
    tf.registerKernel({ kernelName: BACKWARD, backendName, kernelFunc: backwardKernel });
}
