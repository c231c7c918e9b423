/**
 * The recurrences on plain Float32Arrays. Each copies its inputs into the kernels' memory,
 * runs, and returns views of its results in that memory: they stay valid until the next operation on
 * the same runtime, so copy out what you keep. What a backward pass reads can instead stay in kernel
 * memory from the forward pass to the backward one (held.ts).
 *
 * Shapes follow @rnnlm/cells: the inputs of all steps arrive projected (`xProj` [T, B, G*H], input bias
 * included), states are [B, H], the recurrent weight W [H, G*H] with gates fused in columns, outputs
 * [T, B, H] in input order (also for `reverse`, which walks the steps from last to first).
 */
import { type CellKind, gatesPerCell, type LstmGateOrder } from './cells.js';
import { checkHeadMask, type HeadMask, maskedCopy } from './head-mask.js';
import { HeldActivations, type HeldKey, type HeldRegions, holdRegions } from './held.js';
import { pack, rowMajorA, runGemm, schedule, weightGrad } from './products.js';
import { headGrads, place, project, projectionGrads } from './projection.js';
import type { KernelRuntime } from './runtime.js';

/** The sizes of one layer's recurrence, its cell, and which way it walks the steps. */
export interface SequenceShape {
  cell: CellKind;
  /** Steps, batch, hidden units. */
  T: number;
  B: number;
  H: number;
  reverse?: boolean;
  /** LSTM only; default 'ifoc'. */
  gateOrder?: LstmGateOrder;
}

/**
 * A layer's input: already projected (`xProj` [T, B, G*H], bias included), or projected here, from
 * token ids (`ids` [T*B], time-major, each in [0, inputSize): the rows of Wx are gathered) or from a
 * dense input (`x` [T*B, inputSize], the layer below's outputs), with Wx [inputSize, G*H] and b [G*H].
 */
export type LayerInput =
  | { xProj: ArrayLike<number> }
  | { ids: ArrayLike<number>; inputSize: number; Wx: ArrayLike<number>; b: ArrayLike<number> }
  | { x: ArrayLike<number>; inputSize: number; Wx: ArrayLike<number>; b: ArrayLike<number> };

/**
 * An output head on a layer's outputs: logits [T*B, V] = outputs W + b, with W [H, V] and b [V]. With
 * it, the forward pass returns the logits too and the backward pass takes their gradient (dLogits)
 * instead of the outputs': a top layer and the model's head in one call.
 */
export interface OutputHead {
  W: ArrayLike<number>;
  b: ArrayLike<number>;
  V: number;
  /** Dropout between the outputs and the head: it reads outputs ⊙ mask (see head-mask.ts). */
  mask?: HeadMask;
}

/** The inputs of `sequenceForward`: the layer's input, the initial states, the recurrent weight. */
export interface SequenceForwardInputs {
  input: LayerInput;
  head?: OutputHead;
  h0: ArrayLike<number>;
  /** LSTM only. */
  c0?: ArrayLike<number>;
  W: ArrayLike<number>;
}

/** What `sequenceForward` returns: views of kernel memory, valid until the next call (copy them out). */
export interface SequenceForwardResult {
  /** [T, B, H] */
  outputs: Float32Array;
  /** With a head: [T*B, V]. */
  logits?: Float32Array;
  /** [B, H], the state after the last step processed. */
  h: Float32Array;
  /** LSTM: [B, H]. */
  c?: Float32Array;
  /**
   * What the backward pass needs besides the inputs and outputs: LSTM the gate activations [T, B, 4H]
   * and memory cells [T, B, H]; GRU the gate activations [T, B, 3H] and R ⊙ H_{t-1} [T, B, H]; RNN
   * nothing.
   */
  saved: Float32Array[];
  /** With `{ hold: true }`: all the backward pass reads, left in kernel memory for it. */
  held?: HeldActivations;
}

/** How `sequenceForward` runs. */
export interface SequenceForwardOptions {
  /**
   * Hold the activations (and the copies of the weights and dense input) in kernel memory for the
   * backward pass, which takes them as `held` instead of copies of `outputs` and `saved`. Until the
   * backward pass releases them, or their owner does (`held.release()`), they take memory.
   */
  hold?: boolean;
}

/**
 * The inputs of `sequenceBackward`: the forward pass's inputs, and its activations, either held in
 * kernel memory (`held`) or as copies (`outputs` and `saved`), and the gradients reaching it.
 */
export interface SequenceBackwardInputs extends SequenceForwardInputs {
  /**
   * The forward pass's held activations (on the same runtime, same sizes): read in place and
   * released. The values of the inputs it holds (W, h0, c0, a dense x and Wx, a head's W) are then
   * taken from it, so they must be the ones that forward pass had.
   */
  held?: HeldActivations;
  /** Without `held`: the forward pass's outputs and saved values. */
  outputs?: ArrayLike<number>;
  saved?: ArrayLike<number>[];
  /** Gradients of the outputs [T, B, H] and of the final states [B, H]; null means zero. */
  dOutputs: ArrayLike<number> | null;
  /** With a head, the gradient of the logits [T*B, V] instead of dOutputs. */
  dLogits?: ArrayLike<number>;
  dh: ArrayLike<number> | null;
  dc?: ArrayLike<number> | null;
}

/** What `sequenceBackward` returns: the gradient of every input, as views of kernel memory. */
export interface SequenceBackwardResult {
  /** The gradient of xProj [T, B, G*H] when the input came projected. */
  dxProj?: Float32Array;
  /** With a projection here: the gradients of Wx and b, and of a dense input x. */
  dWx?: Float32Array;
  db?: Float32Array;
  dx?: Float32Array;
  dh0: Float32Array;
  dc0?: Float32Array;
  dW: Float32Array;
  /** With a head: the gradients of its W and b. */
  dWq?: Float32Array;
  dbq?: Float32Array;
}

/** Block numbers of i, f, o and c~ in an LSTM's fused weight. */
export function lstmGates(order: LstmGateOrder | undefined) {
  return order === 'ifco' ? { gi: 0, gf: 1, go: 3, gg: 2 } : { gi: 0, gf: 1, go: 2, gg: 3 };
}

/** A result region of kernel memory: [byte address, floats]. */
type Region = readonly [number, number];

interface PlacedForward {
  outputs: Region;
  h: Region;
  c?: Region;
  saved: Region[];
}

/**
 * Where one layer's buffers sit: hbuf (and cbuf) hold T + 1 states, the initial one in slot `initial`
 * (0, or T when walking backwards), the output of step t in slot t + `first`.
 */
function layout({ cell, T, B, H, reverse }: SequenceShape) {
  const back = reverse ? 1 : 0;
  return {
    reverse: back === 1,
    G: gatesPerCell(cell) * H,
    slot: B * H,
    initial: back ? T : 0,
    first: back ? 0 : 1,
    /** Slot of the state after the last step processed. */
    last: back ? 0 : T,
  };
}

/** The sizes that lay out a pass's held block. */
function heldKey({ cell, T, B, H }: SequenceShape, inputs: SequenceForwardInputs): HeldKey {
  return { cell, T, B, H, D: 'x' in inputs.input ? inputs.input.inputSize : 0, V: inputs.head?.V ?? 0 };
}

/**
 * One layer's recurrence over all steps (with the input projection, and the head when given) in one
 * call; the results are views of kernel memory, valid until the next operation on `rt`. With
 * `{ hold: true }` the forward kernel writes what the backward pass reads straight into a held block.
 */
export function sequenceForward(
  rt: KernelRuntime,
  shape: SequenceShape,
  inputs: SequenceForwardInputs,
  options: SequenceForwardOptions = {},
): SequenceForwardResult {
  const a = rt.begin();
  const key = heldKey(shape, inputs);
  const held = options.hold ? holdRegions(a, key) : null;
  try {
    const result = runForward(rt, shape, inputs, held?.regions ?? null);
    return held ? { ...result, held: new HeldActivations(rt, key, held.regions, held.ptr) } : result;
  } catch (error) {
    // Bad input (or no memory) after the block was held: nobody else could give it back.
    if (held) a.release(held.ptr);
    throw error;
  }
}

function runForward(
  rt: KernelRuntime,
  shape: SequenceShape,
  inputs: SequenceForwardInputs,
  r: HeldRegions | null,
): SequenceForwardResult {
  const a = rt.arena;
  const placed = recurrenceForward(rt, shape, inputs, r);
  let logits: Region | null = null;
  if (inputs.head) {
    const { T, B, H } = shape;
    const { V } = inputs.head;
    const N = T * B;
    const { mask } = inputs.head;
    if (mask) checkHeadMask(mask, N, B, H);
    // logits = outputs W + b, the outputs read where the recurrence left them (time-major rows), or
    // their masked copy.
    const read = mask ? maskedCopy(a, placed.outputs[0], mask, N, H) : placed.outputs[0];
    const wq = pack(rt, place(a, r?.wq ?? 0, inputs.head.W, H * V), V, H, V, false);
    const z = a.alloc(N * V);
    rt.run('fillRows', { b: a.allocFrom(inputs.head.b, V), G: V, N, xg: z }, N * V);
    const splitRows = V < 64 * rt.threads;
    runGemm(
      rt,
      {
        ...rowMajorA(read, H),
        bp: wq,
        K: H,
        M: N,
        N: V,
        c: z,
        ldc: V,
        accumulate: true,
        splitRows,
      },
      N * H * V,
    );
    logits = [z, N * V];
  }
  // Views only now, after the last allocation: growing the memory detaches views made before.
  const view = ([ptr, floats]: Region) => a.f32(ptr, floats);
  return {
    outputs: view(placed.outputs),
    h: view(placed.h),
    ...(placed.c ? { c: view(placed.c) } : {}),
    saved: placed.saved.map(view),
    ...(logits ? { logits: view(logits) } : {}),
  };
}

/** A recurrence's schedule: its steps over B rows in groups of 4 (assembly/threads.ts's nextRowSteps). */
function rowSteps(rt: KernelRuntime, B: number): number {
  return schedule(rt, (B + 3) >> 2);
}

/** The recurrence, its buffers in the held regions `r` when given, else in scratch memory. */
function recurrenceForward(
  rt: KernelRuntime,
  shape: SequenceShape,
  inputs: SequenceForwardInputs,
  r: HeldRegions | null,
): PlacedForward {
  const { cell, T, B, H } = shape;
  const { reverse, G, slot, initial, first, last } = layout(shape);
  const a = rt.arena;
  const { x, ...gathered } = project(rt, inputs.input, T, B, G, r);
  const hbuf = r?.hbuf || a.alloc((T + 1) * slot);
  a.write(hbuf + initial * slot * 4, inputs.h0, slot);
  const w = place(a, r?.w ?? 0, inputs.W, H * G);
  const work = T * B * H * G;
  const states = (buf: number) => ({
    outputs: [buf + first * slot * 4, T * slot] as const,
    final: [buf + last * slot * 4, slot] as const,
  });
  const hs = states(hbuf);
  if (cell === 'lstm') {
    const cbuf = r?.second || a.alloc((T + 1) * slot);
    a.write(cbuf + initial * slot * 4, inputs.c0 ?? null, slot);
    const wp = pack(rt, w, G, H, G, false);
    rt.run(
      'lstmForward',
      {
        xg: x,
        ...gathered,
        hbuf,
        cbuf,
        wp,
        T,
        B,
        H,
        reverse,
        ...lstmGates(shape.gateOrder),
        sched: rowSteps(rt, B),
      },
      work,
    );
    const cs = states(cbuf);
    return { outputs: hs.outputs, h: hs.final, c: cs.final, saved: [[x, T * B * G], cs.outputs] };
  }
  if (cell === 'gru') {
    const rh = r?.second || a.alloc(T * slot);
    const wzr = pack(rt, w, G, H, 2 * H, false);
    const whh = pack(rt, w + 2 * H * 4, G, H, H, false);
    rt.run(
      'gruForward',
      { xg: x, ...gathered, hbuf, rh, wzr, whh, T, B, H, reverse, sched: rowSteps(rt, B) },
      work,
    );
    return {
      outputs: hs.outputs,
      h: hs.final,
      saved: [
        [x, T * B * G],
        [rh, T * slot],
      ],
    };
  }
  const wp = pack(rt, w, H, H, H, false);
  const scratch = a.alloc(32 * rt.threads);
  rt.run(
    'rnnForward',
    { xp: x, ...gathered, hbuf, wp, T, B, H, reverse, scratch, sched: rowSteps(rt, B) },
    work,
  );
  return { outputs: hs.outputs, h: hs.final, saved: [] };
}

/**
 * Backpropagation through time of one layer (and its projection and head): the gradients of every
 * input, from those of the outputs (or logits) and final states. Held activations are read in place
 * (the gate activations overwritten by their gradients) and released, also when this throws.
 */
export function sequenceBackward(
  rt: KernelRuntime,
  shape: SequenceShape,
  inputs: SequenceBackwardInputs,
): SequenceBackwardResult {
  const { held } = inputs;
  try {
    if (held && !held.fits(rt, heldKey(shape, inputs))) {
      throw new Error(
        'rnnlm kernels: the held activations are of another runtime or other sizes, or already released',
      );
    }
    return backward(rt, shape, inputs, held?.regions ?? null);
  } finally {
    held?.release();
  }
}

function backward(
  rt: KernelRuntime,
  shape: SequenceShape,
  inputs: SequenceBackwardInputs,
  r: HeldRegions | null,
): SequenceBackwardResult {
  const { cell, T, B, H } = shape;
  const { reverse, G, slot, initial, first } = layout(shape);
  const { saved } = inputs;
  if (!r && (!inputs.outputs || !saved)) {
    throw new Error(
      'rnnlm kernels: sequenceBackward needs held activations, or the outputs and saved values',
    );
  }
  const a = rt.begin();
  let hbuf = r?.hbuf ?? 0;
  if (!r) {
    hbuf = a.alloc((T + 1) * slot);
    a.write(hbuf + initial * slot * 4, inputs.h0, slot);
    a.write(hbuf + first * slot * 4, inputs.outputs!, T * slot);
  }
  const head = inputs.head
    ? headGrads(rt, inputs.head, inputs.dLogits!, hbuf + first * slot * 4, T * B, B, H, r?.wq ?? 0)
    : null;
  const dbuf = head ? head.dOutputs : a.allocFrom(inputs.dOutputs, T * slot);
  const dhT = a.allocFrom(inputs.dh, slot);
  const dh0 = a.alloc(slot);
  const w = r?.w || a.allocFrom(inputs.W, H * G);
  const work = T * B * H * G;
  // The states each step read, [T*B, H] in a row: slots 0..T-1 forwards, 1..T backwards.
  const hPrev = hbuf + (reverse ? 1 : 0) * slot * 4;
  let x: number;
  let dc0 = 0; // the memory cell's gradient, LSTM only
  const dW = a.alloc(H * G);
  if (cell === 'lstm') {
    x = r?.x || a.allocFrom(saved![0]!, T * B * G);
    let cbuf = r?.second ?? 0;
    if (!r) {
      cbuf = a.alloc((T + 1) * slot);
      a.write(cbuf + initial * slot * 4, inputs.c0 ?? null, slot);
      a.write(cbuf + first * slot * 4, saved![1]!, T * slot);
    }
    const dc = a.allocFrom(inputs.dc ?? null, slot);
    const wtp = pack(rt, w, G, G, H, true);
    rt.run(
      'lstmBackward',
      {
        ...{ xg: x, hbuf, cbuf, dbuf, dhT, dc, wtp, dh0, T, B, H, reverse, ...lstmGates(shape.gateOrder) },
        sched: rowSteps(rt, B),
      },
      2 * work,
    );
    weightGrad(rt, hPrev, H, x, G, T * B, H, G, dW, G);
    dc0 = dc;
  } else if (cell === 'gru') {
    x = r?.x || a.allocFrom(saved![0]!, T * B * G);
    const rh = r?.second || a.allocFrom(saved![1]!, T * slot);
    const drh = a.alloc(slot);
    const wzrT = pack(rt, w, G, 2 * H, H, true);
    const whhT = pack(rt, w + 2 * H * 4, G, H, H, true);
    rt.run(
      'gruBackward',
      { xg: x, hbuf, dbuf, dhT, wzrT, whhT, drh, dh0, T, B, H, reverse, sched: rowSteps(rt, B) },
      2 * work,
    );
    weightGrad(rt, hPrev, H, x, G, T * B, H, 2 * H, dW, G);
    weightGrad(rt, rh, H, x + 2 * H * 4, G, T * B, H, H, dW + 2 * H * 4, G);
  } else {
    // The pre-activations are recomputed from nothing: tanh' needs only the outputs.
    x = r?.x || a.alloc(T * B * G);
    const wtp = pack(rt, w, H, H, H, true);
    const scratch = a.alloc(32 * rt.threads);
    rt.run(
      'rnnBackward',
      { xp: x, hbuf, dbuf, dhT, wtp, dh0, T, B, H, reverse, scratch, sched: rowSteps(rt, B) },
      2 * work,
    );
    weightGrad(rt, hPrev, H, x, G, T * B, H, H, dW, G);
  }
  const grads = projectionGrads(rt, inputs.input, x, T * B, G, r);
  // Views only now: an allocation (as in projectionGrads) can grow the memory and detach earlier ones.
  return {
    ...grads,
    dh0: a.f32(dh0, slot),
    ...(dc0 ? { dc0: a.f32(dc0, slot) } : {}),
    dW: a.f32(dW, H * G),
    ...(head ? { dWq: a.f32(head.dWq, H * head.V), dbq: a.f32(head.dbq, head.V) } : {}),
  };
}
