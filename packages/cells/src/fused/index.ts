/**
 * The fused kernels of @rnnlm/kernels for models: one op runs a layer's whole recurrence (forward, and
 * backward through time) in WebAssembly SIMD instead of a dozen tfjs ops per time step, and one op
 * the loss with its gradient.
 *
 * They run on the backends whose tensors live in CPU memory, `wasm` and `cpu`, reading inputs straight
 * from the backend's memory and writing outputs into it; and on any backend for which every op here is
 * registered under the same kernel name (webgpu: @rnnlm/backend's WGSL kernels). Elsewhere (WebGL,
 * native TensorFlow, or an engine without WebAssembly SIMD) the op-by-op forms run instead;
 * `recurrence: 'fused'` makes that an error instead (see mode.ts).
 *
 * The tfjs glue is one file an op: sequence-op.ts (with the activations its gradient takes back,
 * stash.ts), cross-entropy-op.ts and embedding-op.ts, over host-memory.ts.
 */
import type { CellKind, LstmGateOrder } from '@rnnlm/kernels';
import type * as tf from '@tensorflow/tfjs-core';
import { runSequenceOp, type SequenceAttrs } from './sequence-op.js';

export { fusedCrossEntropy } from './cross-entropy-op.js';
export { stackLossAndGradients } from './direct-step.js';
export { fusedEmbeddingLookup } from './embedding-op.js';
export { HOST_BACKENDS, overwriteFloats, readFloats, writeFloats } from './host-memory.js';
export {
  FUSED_KERNEL_NAMES,
  FUSED_MODES,
  type FusedMode,
  fusedUnavailableReason,
  recurrenceOption,
  useFused,
} from './mode.js';
export { savedActivationSets } from './stash.js';

/** What a fused layer returns: every step's hidden state and the final state. */
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

/** A layer's input for the fused ops: time-major token ids [T*B], or a dense input [T*B, Wx rows]. */
export type FusedLayerInput = { ids: tf.Tensor1D } | { x: tf.Tensor2D };

/**
 * One layer's recurrence in one op. Shapes as in sequence.ts (already checked there): xProj [T, B, G*H],
 * h0 and c0 [B, H], W [H, G*H]; outputs [T, B, H] in input order.
 */
export function fusedSequence(xProj: tf.Tensor3D, r: Recurrence): FusedSequenceResult {
  const { first, ...states } = run(r, { xProj }, 'none', false, xProj.shape[0]);
  return { outputs: first as tf.Tensor3D, ...states };
}

/**
 * A whole layer in one op: the input projection of every step (rows of Wx gathered by token id, or a
 * dense input times Wx), plus b, then the recurrence. `ids` are time-major [T*B] int32, each in
 * [0, Wx rows); `x` is [T*B, Wx rows]. The model checks shapes and ids before it calls this.
 */
export function fusedLayer(
  input: FusedLayerInput,
  Wx: tf.Tensor2D,
  b: tf.Tensor1D,
  r: Recurrence,
): FusedSequenceResult {
  const projection = 'ids' in input ? 'ids' : 'dense';
  const { first, ...states } = run(r, layerInputs(input, Wx, b), projection, false, stepsOf(input, r));
  return { outputs: first as tf.Tensor3D, ...states };
}

/** What `fusedHeadLayer` returns: the logits of every step and the final state. */
export interface FusedHeadResult {
  /** [T*B, V], time-major rows. */
  logits: tf.Tensor2D;
  h: tf.Tensor2D;
  c?: tf.Tensor2D;
}

/**
 * A model's top layer and its output head in one op: as fusedLayer, then logits = outputs Wq + bq
 * (Wq [H, V], bq [V]); the layer's outputs never leave the kernel (the gradient keeps them by handle).
 * With `mask` (dropout in training: [T*B, H], or [B, H] shared by every step, values 0 or 1/(1-p)) the
 * head reads outputs ⊙ mask, and the outputs' gradient from the head passes the same mask.
 */
export function fusedHeadLayer(
  input: FusedLayerInput,
  Wx: tf.Tensor2D,
  b: tf.Tensor1D,
  r: Recurrence,
  head: { W: tf.Tensor2D; b: tf.Tensor1D; mask?: tf.Tensor2D },
): FusedHeadResult {
  const inputs: tf.NamedTensorMap = { ...layerInputs(input, Wx, b), Wq: head.W, bq: head.b };
  if (head.mask) inputs.headMask = head.mask;
  const { first, ...states } = run(r, inputs, 'ids' in input ? 'ids' : 'dense', true, stepsOf(input, r));
  return { logits: first as tf.Tensor2D, ...states };
}

function layerInputs(input: FusedLayerInput, Wx: tf.Tensor2D, b: tf.Tensor1D): tf.NamedTensorMap {
  return 'ids' in input ? { ids: input.ids, Wx, b } : { x: input.x, Wx, b };
}

function stepsOf(input: FusedLayerInput, r: Recurrence): number {
  const rows = 'ids' in input ? input.ids.shape[0] : input.x.shape[0];
  return rows / r.h0.shape[0];
}

function run(
  r: Recurrence,
  layerInputs: tf.NamedTensorMap,
  projection: SequenceAttrs['projection'],
  head: boolean,
  steps: number,
): { first: tf.Tensor; h: tf.Tensor2D; c?: tf.Tensor2D } {
  // The gradient saves the inputs by name, whatever their order here.
  const inputs: tf.NamedTensorMap = { ...layerInputs, h0: r.h0, W: r.W };
  if (r.cell === 'lstm') inputs.c0 = r.c0!;
  const attrs: SequenceAttrs = {
    cell: r.cell,
    projection,
    head,
    steps,
    reverse: r.reverse,
    gateOrder: r.gateOrder ?? 'ifoc',
  };
  // The layer's outputs, or with a head the logits; then the final states.
  const [first, h, c] = runSequenceOp(inputs, attrs);
  return { first: first!, h: h as tf.Tensor2D, ...(r.cell === 'lstm' ? { c: c as tf.Tensor2D } : {}) };
}
