/**
 * A model's layer stack, written once for every model that keeps its weights as tfjs tensors (the
 * scratch models here, and the layers models of @rnnlm/layers on their fused path): layers bottom
 * first, each one direction or two (the backward one walking the steps from last to first from its own
 * initial state), the state threaded through in the `State` layout, then the output head over all
 * steps in one product.
 */
import type { CellKind, LstmGateOrder } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { statesPerCell } from './config.js';
import { applyDropout, DROPOUT_INPUT_SITE, type DropoutMasks, layerOutputSite } from './dropout.js';
import { type FusedLayerInput, fusedEmbeddingLookup, fusedHeadLayer, fusedLayer } from './fused/index.js';
import type { ForwardResult, State } from './model.js';
import { gruSequence, lstmSequence, rnnSequence } from './sequence.js';

/** One direction of one layer: input weight Wx [in, G*H], bias b [G*H], recurrent weight W [H, G*H]. */
export interface DirectionWeights {
  Wx: tf.Tensor2D;
  W: tf.Tensor2D;
  b: tf.Tensor1D;
}

/**
 * The weights `forwardStack` runs: the token embedding (when there is one), every layer's directions,
 * the head, and the LSTM gate order.
 */
export interface StackWeights {
  cell: CellKind;
  /**
   * The token embedding [V, E], whose rows (looked up by id) are layer 0's input; absent: layer 0
   * gathers rows of its own Wx [V, G*H] (the one-hot input).
   */
  embedding?: tf.Tensor2D;
  /** Per layer (bottom first), its directions: forward, then backward when bidirectional. */
  layers: readonly (readonly DirectionWeights[])[];
  /**
   * The output head: logits = top outputs W + b, W [H * directions, V], b [V]. W absent: the weights
   * are tied, W is the embedding transposed (so its gradient is the sum of both uses).
   */
  head: { W?: tf.Tensor2D; b: tf.Tensor1D };
  /** LSTM gate blocks in the weights' columns; default d2l's 'ifoc'. */
  gateOrder?: LstmGateOrder;
}

/**
 * The logits of `ids` ([B, T] int32, checked by the caller) and the next state, starting from `state`
 * (checked by the caller). `fused`: each layer in one fused op, and the top layer of a unidirectional
 * model together with the head; otherwise layer 0 gathers rows of Wx (or, with an embedding, projects
 * the embedded tokens), deeper layers project all steps in one matmul, and the recurrences run op by op.
 * `masks` (training with dropout): the embedded tokens, when there are any, and each layer's output
 * sequence are multiplied by their masks on the way up (to the next layer or the head); the fused
 * top-layer-and-head op takes the top layer's mask and applies it inside the kernel.
 */
export function forwardStack(
  stack: StackWeights,
  ids: tf.Tensor2D,
  state: State,
  fused: boolean,
  masks: DropoutMasks | null = null,
): ForwardResult {
  const [batch, steps] = ids.shape;
  const { cell, layers, gateOrder } = stack;
  const perCell = statesPerCell(cell);
  return tf.tidy(() => {
    // Time-major ids, so that step t's rows are contiguous: row t*B + b is step t of sequence b.
    const flatIds = tf.reshape(tf.transpose(ids), [steps * batch]) as tf.Tensor1D;
    const head = { W: stack.head.W ?? tf.transpose(stack.embedding!), b: stack.head.b };
    // [T*B, D] for layers above the first, and for the first when the tokens are embedded.
    let input: tf.Tensor2D | undefined = stack.embedding
      ? applyDropout(embedTokens(stack.embedding, flatIds, fused), masks, DROPOUT_INPUT_SITE, steps, batch)
      : undefined;
    const newState: tf.Tensor2D[] = [];
    let s = 0;
    const top = layers.length - 1;
    for (const [l, directions] of layers.entries()) {
      const outputs: tf.Tensor3D[] = [];
      for (const [d, w] of directions.entries()) {
        // The backward direction walks the steps from last to first, from its own initial state.
        const recurrence = {
          cell,
          h0: state[s]!,
          c0: cell === 'lstm' ? state[s + 1]! : null,
          W: w.W,
          reverse: d === 1,
          ...(gateOrder ? { gateOrder } : {}),
        };
        s += perCell;
        const layerInput: FusedLayerInput = input === undefined ? { ids: flatIds } : { x: input };
        if (fused && l === top && directions.length === 1) {
          // The top layer and the output head in one kernel: its outputs never leave it (nor does
          // their dropout: the kernel multiplies them by the mask on their way to the head).
          const headMask =
            masks && masks.rate > 0
              ? { mask: masks.tensor(layerOutputSite(l), steps, batch, w.W.shape[0]) }
              : {};
          const out = fusedHeadLayer(layerInput, w.Wx, w.b, recurrence, { ...head, ...headMask });
          newState.push(out.h);
          if (out.c) newState.push(out.c);
          return { logits: out.logits, state: newState };
        }
        const result = fused
          ? fusedLayer(layerInput, w.Wx, w.b, recurrence)
          : opsLayer(layerInput, w, recurrence, steps, batch);
        newState.push(result.h);
        if (result.c) newState.push(result.c);
        outputs.push(result.outputs);
      }
      // Per step [forward, backward]: the next layer (or the head) reads H * directions inputs.
      const layerOut = outputs.length === 1 ? outputs[0]! : tf.concat(outputs, 2);
      const flat = tf.reshape(layerOut, [steps * batch, -1]) as tf.Tensor2D;
      input = applyDropout(flat, masks, layerOutputSite(l), steps, batch);
    }
    const logits = tf.add(tf.matMul(input!, head.W), head.b) as tf.Tensor2D;
    return { logits, state: newState };
  });
}

/**
 * The token embedding of time-major `ids` [T*B]: the rows of `table` [V, E], [T*B, E]. The one place
 * the stack looks tokens up, so that what is done to the embedded inputs is done here. Fused: the
 * kernels' row gather, whose gradient runs on the wasm backend too; otherwise tfjs's gather.
 */
export function embedTokens(table: tf.Tensor2D, ids: tf.Tensor1D, fused: boolean): tf.Tensor2D {
  return fused ? fusedEmbeddingLookup(table, ids) : tf.gather(table, ids);
}

/** One direction of a layer op by op: the projection of all steps, then the recurrence. */
function opsLayer(
  input: FusedLayerInput,
  w: DirectionWeights,
  r: { cell: CellKind; h0: tf.Tensor2D; c0: tf.Tensor2D | null; reverse: boolean; gateOrder?: LstmGateOrder },
  steps: number,
  batch: number,
): { outputs: tf.Tensor3D; h: tf.Tensor2D; c?: tf.Tensor2D } {
  // One-hot(x) Wx is row x of Wx: layer 0 gathers rows; deeper layers project all steps at once.
  const projected =
    'ids' in input ? tf.add(tf.gather(w.Wx, input.ids), w.b) : tf.add(tf.matMul(input.x, w.Wx), w.b);
  const xProj = tf.reshape(projected, [steps, batch, -1]) as tf.Tensor3D;
  const options = { reverse: r.reverse, recurrence: 'ops' as const };
  if (r.cell === 'lstm') {
    return lstmSequence(xProj, r.h0, r.c0!, w.W, {
      ...options,
      ...(r.gateOrder ? { gateOrder: r.gateOrder } : {}),
    });
  }
  if (r.cell === 'gru') return gruSequence(xProj, r.h0, w.W, options);
  return rnnSequence(xProj, r.h0, w.W, options);
}
