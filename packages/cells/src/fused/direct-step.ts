/**
 * A training step's loss and gradients for a layer stack in the kernels, without tfjs's tape. Under
 * `tf.variableGrads` a step of the fused path is the same kernel calls wrapped in tfjs: each op copies
 * its inputs for the tape (the weights included), writes its outputs into new tensors that the next op
 * reads back, the loss keeps two copies of the logits' gradient, and the tape, the scopes and the
 * gradient bookkeeping run in between. On a 256-unit character model that was 1.5-2 ms of a 9 ms batch
 * (packages/train/bench/step-profile.mjs, its `gaps`). Here the kernels run back to back on the
 * tensors' own memory: layer by layer up with their activations held in kernel memory, the loss and
 * the logits' gradient in one pass, layer by layer down, and only the gradients and the final state
 * become tensors. Every value is computed by the same kernel calls on the same inputs as the tape's
 * path, so both give the same loss, gradients and state bit for bit (a test compares them).
 *
 * It covers unidirectional stacks of any depth, with one-hot or embedded inputs and a head of their
 * own, trained without dropout. Elsewhere (dropout, bidirectional layers, a head tied to the
 * embedding, a backend whose tensors are not in CPU memory, kernel memory too small to hold every
 * layer's activations) it returns null and the caller takes the tape.
 */
import {
  crossEntropyWithGrad,
  embeddingGrad,
  embeddingLookup,
  type HeldActivations,
  KernelMemoryError,
  kernelRuntime,
  type SequenceForwardInputs,
  sequenceBackward,
  sequenceForward,
} from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { statesPerCell } from '../config.js';
import { timeMajor } from '../ids.js';
import type { LabelledBatch, LossAndGradients, State } from '../model.js';
import type { StackWeights } from '../stack.js';
import { HOST_BACKENDS, newFloats, readFloats } from './host-memory.js';
import { releaseFinished } from './stash.js';

/**
 * Per stack, the arrays its steps copy kernel results into, by role, reused from one step to the next
 * (a step keeps none of them): a word-level model's logits and their gradient are tens of megabytes a
 * batch, which fresh arrays would leave for the garbage collector every time.
 */
const scratch = new WeakMap<StackWeights, Map<string, Float32Array>>();

/**
 * A copy of a view of kernel memory (which the next kernel call overwrites) in the stack's array for
 * `role`, valid until the next copy for the same role.
 */
function copy(stack: StackWeights, role: string, view: Float32Array): Float32Array {
  let arrays = scratch.get(stack);
  if (!arrays) {
    arrays = new Map();
    scratch.set(stack, arrays);
  }
  let array = arrays.get(role);
  if (!array || array.length < view.length) {
    array = new Float32Array(view.length);
    arrays.set(role, array);
  }
  const out = array.subarray(0, view.length);
  // set() rather than slice(): slice() of a shared-memory view copies slowly.
  out.set(view);
  return out;
}

/**
 * The mean cross-entropy of `batch` and the gradient of each of `variables` (in their order), with the
 * state after the last step; null where the stack or the backend is not covered (see above). `stack`
 * holds the model's variables themselves (those of `variables`, each once); `state` is checked by the
 * caller, as are the ids and labels (in [0, vocabulary)).
 */
export function stackLossAndGradients(
  stack: StackWeights,
  variables: readonly tf.Variable[],
  batch: LabelledBatch,
  state: State,
): LossAndGradients | null {
  const rt = kernelRuntime();
  if (rt === null || !(HOST_BACKENDS as readonly string[]).includes(tf.getBackend())) return null;
  const headW = stack.head.W;
  if (headW === undefined || stack.layers.some((directions) => directions.length !== 1)) return null;
  // Where each weight's gradient goes: the stack must be exactly the variables.
  const slot = new Map<tf.Tensor, number>(variables.map((v, i) => [v, i]));
  const weights = [
    ...(stack.embedding ? [stack.embedding] : []),
    ...stack.layers.flatMap(([w]) => [w!.Wx, w!.W, w!.b]),
    headW,
    stack.head.b,
  ];
  if (weights.length !== variables.length || new Set(weights).size !== weights.length) return null;
  if (weights.some((w) => !slot.has(w))) return null;

  const { cell, gateOrder } = stack;
  const { batchSize: B, numSteps: T } = batch;
  const N = T * B;
  const backend = tf.backend();
  const ids = timeMajor(batch.ids, B, T);
  const labels = timeMajor(batch.labels, B, T);
  const V = headW.shape[1]!;
  const perCell = statesPerCell(cell);
  const top = stack.layers.length - 1;
  releaseFinished();
  // The tensors it returns are made first, and written in place: views of the tensors' memory stay
  // valid while no tensor is made, so none is made after the views are taken.
  const stateShapes = stack.layers.flatMap(([w]) =>
    Array.from({ length: perCell }, () => [B, w!.W.shape[0]]),
  );
  const made = [...variables.map((v) => v.shape), ...stateShapes].map((shape) =>
    tf.engine().makeTensorFromTensorInfo(newFloats(backend, shape)),
  );
  const held: (HeldActivations | undefined)[] = [];
  try {
    const values = (t: tf.Tensor) => readFloats(backend, t);
    const gradOf = (weight: tf.Tensor) => values(made[slot.get(weight)!]!);
    const stateViews = made.slice(variables.length).map(values);
    // Up: each layer's activations held for its backward pass, its outputs the next layer's input.
    const layerInputs: SequenceForwardInputs[] = [];
    const shapes = [];
    let x = stack.embedding
      ? copy(
          stack,
          'x0',
          embeddingLookup(
            rt,
            values(stack.embedding),
            ids,
            stack.embedding.shape[0],
            stack.embedding.shape[1],
          ),
        )
      : null;
    let logits: Float32Array | null = null;
    for (const [l, [w]] of stack.layers.entries()) {
      const { Wx, W, b } = w!;
      const H = W.shape[0];
      const shape = { cell, T, B, H, reverse: false, ...(gateOrder ? { gateOrder } : {}) };
      const inputSize = Wx.shape[0];
      const s = l * perCell;
      const inputs: SequenceForwardInputs = {
        input:
          x === null
            ? { ids, inputSize, Wx: values(Wx), b: values(b) }
            : { x, inputSize, Wx: values(Wx), b: values(b) },
        ...(l === top ? { head: { W: values(headW), b: values(stack.head.b), V } } : {}),
        h0: values(state[s]!),
        ...(cell === 'lstm' ? { c0: values(state[s + 1]!) } : {}),
        W: values(W),
      };
      const r = sequenceForward(rt, shape, inputs, { hold: true });
      held.push(r.held);
      stateViews[s]!.set(r.h);
      if (r.c) stateViews[s + 1]!.set(r.c);
      if (l === top) logits = copy(stack, 'logits', r.logits!);
      else x = copy(stack, `x${l + 1}`, r.outputs);
      layerInputs.push(inputs);
      shapes.push(shape);
    }
    const loss = crossEntropyWithGrad(rt, logits!, labels, N, V);
    const lossValue = Math.fround(loss.loss);
    let dOutputs = copy(stack, 'dLogits', loss.grad);

    // Down: each layer's backward pass releases its held activations.
    for (let l = top; l >= 0; l--) {
      const { Wx, W, b } = stack.layers[l]![0]!;
      const fromAbove = l === top ? { dOutputs: null, dLogits: dOutputs } : { dOutputs };
      const g = sequenceBackward(rt, shapes[l]!, {
        ...layerInputs[l]!,
        held: held[l],
        ...fromAbove,
        dh: null,
        ...(cell === 'lstm' ? { dc: null } : {}),
      });
      held[l] = undefined;
      gradOf(Wx).set(g.dWx!);
      gradOf(b).set(g.db!);
      gradOf(W).set(g.dW);
      if (l === top) {
        gradOf(headW).set(g.dWq!);
        gradOf(stack.head.b).set(g.dbq!);
      }
      if (l > 0 || stack.embedding) dOutputs = copy(stack, 'dx', g.dx!);
    }
    if (stack.embedding) {
      const [rows, E] = stack.embedding.shape;
      gradOf(stack.embedding).set(embeddingGrad(rt, dOutputs, ids, rows, E));
    }
    return {
      loss: lossValue,
      grads: made.slice(0, variables.length),
      state: made.slice(variables.length) as tf.Tensor2D[],
    };
  } catch (error) {
    // Bad input and full memory alike: nothing held stays behind. Full memory is the tape's to handle
    // (its ops recompute what they cannot hold).
    for (const h of held) h?.release();
    tf.dispose(made);
    if (error instanceof KernelMemoryError) return null;
    throw error;
  }
}
