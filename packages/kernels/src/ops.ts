/**
 * The kernels' operations on plain Float32Arrays. Each copies its inputs into the kernels' memory,
 * runs, and returns views of its results in that memory: they stay valid until the next operation on
 * the same runtime, so copy out what you keep.
 *
 * Shapes follow @rnnlm/cells: the inputs of all steps arrive projected (`xProj` [T, B, G*H], input bias
 * included), states are [B, H], the recurrent weight W [H, G*H] with gates fused in columns, outputs
 * [T, B, H] in input order (also for `reverse`, which walks the steps from last to first).
 */
import type { KernelRuntime } from './runtime.js';

export type CellKind = 'rnn' | 'gru' | 'lstm';

/** Gate blocks of a fused LSTM weight, by position: d2l's (i, f, o, c~) or tfjs-layers' (i, f, c~, o). */
export type LstmGateOrder = 'ifoc' | 'ifco';

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
}

export interface SequenceForwardInputs {
  input: LayerInput;
  head?: OutputHead;
  h0: ArrayLike<number>;
  /** LSTM only. */
  c0?: ArrayLike<number>;
  W: ArrayLike<number>;
}

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
}

export interface SequenceBackwardInputs extends SequenceForwardInputs {
  outputs: ArrayLike<number>;
  saved: ArrayLike<number>[];
  /** Gradients of the outputs [T, B, H] and of the final states [B, H]; null means zero. */
  dOutputs: ArrayLike<number> | null;
  /** With a head, the gradient of the logits [T*B, V] instead of dOutputs. */
  dLogits?: ArrayLike<number>;
  dh: ArrayLike<number> | null;
  dc?: ArrayLike<number> | null;
}

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

export function gatesOf(cell: CellKind): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

function lstmGates(order: LstmGateOrder | undefined): [number, number, number, number] {
  // Block numbers of i, f, o, c~.
  return order === 'ifco' ? [0, 1, 3, 2] : [0, 1, 2, 3];
}

/** Packs W [K, N] (row-major, at ptr) into panels; transposed: packs W^T ([N, K] source, [K', N'] = [N, K]). */
function pack(rt: KernelRuntime, src: number, ld: number, K: number, N: number, transposed: boolean): number {
  const dst = rt.arena.alloc(rt.exports.packedBytes(K, N) / 4);
  const [rowStride, colStride] = transposed ? [4, ld * 4] : [ld * 4, 4];
  // A copy: worth sharing out only when large (waking the workers costs about as much as 64K values).
  rt.run('packB', [src, rowStride, colStride, K, N, dst], K * N * 2);
  return dst;
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
    reverse: back,
    G: gatesOf(cell) * H,
    slot: B * H,
    initial: back ? T : 0,
    first: back ? 0 : 1,
    /** Slot of the state after the last step processed. */
    last: back ? 0 : T,
  };
}

export function sequenceForward(
  rt: KernelRuntime,
  shape: SequenceShape,
  inputs: SequenceForwardInputs,
): SequenceForwardResult {
  const placed = recurrenceForward(rt, shape, inputs);
  const a = rt.arena;
  let logits: Region | null = null;
  if (inputs.head) {
    const { T, B, H } = shape;
    const { V } = inputs.head;
    const N = T * B;
    // logits = outputs W + b, the outputs read where the recurrence left them (time-major rows).
    const wq = pack(rt, a.allocFrom(inputs.head.W, H * V), V, H, V, false);
    const z = a.alloc(N * V);
    rt.run('fillRows', [a.allocFrom(inputs.head.b, V), V, N, z], N * V);
    const splitRows = V < 64 * rt.threads ? 1 : 0;
    rt.run('gemm', [placed.outputs[0], H * 4, 4, wq, H, N, V, z, V, 1, splitRows], N * H * V);
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

function recurrenceForward(
  rt: KernelRuntime,
  shape: SequenceShape,
  inputs: SequenceForwardInputs,
): PlacedForward {
  const { cell, T, B, H } = shape;
  const { reverse, G, slot, initial, first, last } = layout(shape);
  const a = rt.begin();
  const x = project(rt, inputs.input, T, B, G);
  const hbuf = a.alloc((T + 1) * slot);
  a.write(hbuf + initial * slot * 4, inputs.h0, slot);
  const w = a.allocFrom(inputs.W, H * G);
  const work = T * B * H * G;
  const states = (buf: number) => ({
    outputs: [buf + first * slot * 4, T * slot] as const,
    final: [buf + last * slot * 4, slot] as const,
  });
  const hs = states(hbuf);
  if (cell === 'lstm') {
    const cbuf = a.alloc((T + 1) * slot);
    a.write(cbuf + initial * slot * 4, inputs.c0 ?? null, slot);
    const wp = pack(rt, w, G, H, G, false);
    rt.run('lstmForward', [x, hbuf, cbuf, wp, T, B, H, reverse, ...lstmGates(shape.gateOrder)], work);
    const cs = states(cbuf);
    return { outputs: hs.outputs, h: hs.final, c: cs.final, saved: [[x, T * B * G], cs.outputs] };
  }
  if (cell === 'gru') {
    const rh = a.alloc(T * slot);
    const wzr = pack(rt, w, G, H, 2 * H, false);
    const whh = pack(rt, w + 2 * H * 4, G, H, H, false);
    rt.run('gruForward', [x, hbuf, rh, wzr, whh, T, B, H, reverse], work);
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
  rt.run('rnnForward', [x, hbuf, wp, T, B, H, reverse, scratch], work);
  return { outputs: hs.outputs, h: hs.final, saved: [] };
}

export function sequenceBackward(
  rt: KernelRuntime,
  shape: SequenceShape,
  inputs: SequenceBackwardInputs,
): SequenceBackwardResult {
  const { cell, T, B, H } = shape;
  const { reverse, G, slot, initial, first } = layout(shape);
  const a = rt.begin();
  const hbuf = a.alloc((T + 1) * slot);
  a.write(hbuf + initial * slot * 4, inputs.h0, slot);
  a.write(hbuf + first * slot * 4, inputs.outputs, T * slot);
  const head = inputs.head
    ? headGrads(rt, inputs.head, inputs.dLogits!, hbuf + first * slot * 4, T * B, H)
    : null;
  const dbuf = head ? head.dOutputs : a.allocFrom(inputs.dOutputs, T * slot);
  const dhT = a.allocFrom(inputs.dh, slot);
  const dh0 = a.alloc(slot);
  const w = a.allocFrom(inputs.W, H * G);
  const work = T * B * H * G;
  // The states each step read, [T*B, H] in a row: slots 0..T-1 forwards, 1..T backwards.
  const hPrev = hbuf + (reverse ? 1 : 0) * slot * 4;
  let x: number;
  let dc0 = 0; // the memory cell's gradient, LSTM only
  const dW = a.alloc(H * G);
  if (cell === 'lstm') {
    x = a.allocFrom(inputs.saved[0]!, T * B * G);
    const cbuf = a.alloc((T + 1) * slot);
    a.write(cbuf + initial * slot * 4, inputs.c0 ?? null, slot);
    a.write(cbuf + first * slot * 4, inputs.saved[1]!, T * slot);
    const dc = a.allocFrom(inputs.dc ?? null, slot);
    const wtp = pack(rt, w, G, G, H, true);
    rt.run(
      'lstmBackward',
      [x, hbuf, cbuf, dbuf, dhT, dc, wtp, dh0, T, B, H, reverse, ...lstmGates(shape.gateOrder)],
      2 * work,
    );
    weightGrad(rt, hPrev, H, x, G, T * B, H, G, dW, G);
    dc0 = dc;
  } else if (cell === 'gru') {
    x = a.allocFrom(inputs.saved[0]!, T * B * G);
    const rh = a.allocFrom(inputs.saved[1]!, T * slot);
    const drh = a.alloc(slot);
    const wzrT = pack(rt, w, G, 2 * H, H, true);
    const whhT = pack(rt, w + 2 * H * 4, G, H, H, true);
    rt.run('gruBackward', [x, hbuf, dbuf, dhT, wzrT, whhT, drh, dh0, T, B, H, reverse], 2 * work);
    weightGrad(rt, hPrev, H, x, G, T * B, H, 2 * H, dW, G);
    weightGrad(rt, rh, H, x + 2 * H * 4, G, T * B, H, H, dW + 2 * H * 4, G);
  } else {
    // The pre-activations are recomputed from nothing: tanh' needs only the outputs.
    x = a.alloc(T * B * G);
    const wtp = pack(rt, w, H, H, H, true);
    const scratch = a.alloc(32 * rt.threads);
    rt.run('rnnBackward', [x, hbuf, dbuf, dhT, wtp, dh0, T, B, H, reverse, scratch], 2 * work);
    weightGrad(rt, hPrev, H, x, G, T * B, H, H, dW, G);
  }
  const grads = projectionGrads(rt, inputs.input, x, T * B, G);
  // Views only now: an allocation (as in projectionGrads) can grow the memory and detach earlier ones.
  return {
    ...grads,
    dh0: a.f32(dh0, slot),
    ...(dc0 ? { dc0: a.f32(dc0, slot) } : {}),
    dW: a.f32(dW, H * G),
    ...(head ? { dWq: a.f32(head.dWq, H * head.V), dbq: a.f32(head.dbq, head.V) } : {}),
  };
}

/**
 * The head's part of the backward pass, from dLogits [N, V]: dOutputs = dLogits W^T (where the
 * recurrence's backward pass reads its output gradient), dW = outputs^T dLogits, db = its column sums.
 */
function headGrads(
  rt: KernelRuntime,
  head: OutputHead,
  dLogits: ArrayLike<number>,
  outputs: number,
  N: number,
  H: number,
) {
  const a = rt.arena;
  const { V } = head;
  const dl = a.allocFrom(dLogits, N * V);
  const wqT = pack(rt, a.allocFrom(head.W, H * V), V, V, H, true);
  const dOutputs = a.alloc(N * H);
  rt.run('gemm', [dl, V * 4, 4, wqT, V, N, H, dOutputs, H, 0, 1], N * H * V);
  const dWq = a.alloc(H * V);
  weightGrad(rt, outputs, H, dl, V, N, H, V, dWq, V);
  const dbq = a.alloc(V);
  rt.run('projectionGrad', [0, dl, V, N, 0, 0, dbq], N * V);
  return { dOutputs, dWq, dbq, V };
}

function checkIds(ids: ArrayLike<number>, size: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < size && Number.isInteger(id))) {
      throw new Error(`rnnlm kernels: token id ${id} at position ${i} is not in [0, ${size})`);
    }
  }
}

/** Writes the projected inputs of every step ([N, G], bias included) into new kernel memory. */
function project(rt: KernelRuntime, input: LayerInput, T: number, B: number, G: number): number {
  const N = T * B;
  const a = rt.arena;
  if ('xProj' in input) return a.allocFrom(input.xProj, N * G);
  const x = a.alloc(N * G);
  const b = a.allocFrom(input.b, G);
  const D = input.inputSize;
  if ('ids' in input) {
    if (input.ids.length !== N) throw new Error(`rnnlm kernels: expected ${N} ids, got ${input.ids.length}`);
    checkIds(input.ids, D);
    const ids = a.allocInts(input.ids);
    const wx = a.allocFrom(input.Wx, D * G);
    rt.run('gatherRows', [ids, wx, b, G, T, B, x], N * G);
    return x;
  }
  const X = a.allocFrom(input.x, N * D);
  const wxp = pack(rt, a.allocFrom(input.Wx, D * G), G, D, G, false);
  rt.run('fillRows', [b, G, N, x], N * G);
  rt.run('gemm', [X, D * 4, 4, wxp, D, N, G, x, G, 1, 1], N * D * G);
  return x;
}

/** From dG [N, G] at x: the gradient of xProj, or of Wx, b (and a dense input). */
function projectionGrads(rt: KernelRuntime, input: LayerInput, x: number, N: number, G: number) {
  const a = rt.arena;
  if ('xProj' in input) return { dxProj: a.f32(x, N * G) };
  const D = input.inputSize;
  const dWx = a.alloc(D * G);
  const db = a.alloc(G);
  if ('ids' in input) {
    const ids = a.allocInts(input.ids);
    rt.run('projectionGrad', [ids, x, G, N, D, dWx, db], N * G);
    return { dWx: a.f32(dWx, D * G), db: a.f32(db, G) };
  }
  rt.run('projectionGrad', [0, x, G, N, D, 0, db], N * G);
  const X = a.allocFrom(input.x, N * D);
  weightGrad(rt, X, D, x, G, N, D, G, dWx, G);
  // dX = dG Wx^T
  const wxT = pack(rt, a.allocFrom(input.Wx, D * G), G, G, D, true);
  const dx = a.alloc(N * D);
  rt.run('gemm', [x, G * 4, 4, wxT, G, N, D, dx, D, 0, 1], N * D * G);
  return { dWx: a.f32(dWx, D * G), db: a.f32(db, G), dx: a.f32(dx, N * D) };
}

/**
 * dW (ldc) = A^T D for A [rows, M] (lda) and D [rows, N] (ldd), both row-major at byte addresses: the
 * weight gradient summed over every step and sequence in one product.
 */
function weightGrad(
  rt: KernelRuntime,
  A: number,
  lda: number,
  D: number,
  ldd: number,
  rows: number,
  M: number,
  N: number,
  C: number,
  ldc: number,
): void {
  const dp = pack(rt, D, ldd, rows, N, false);
  rt.run('gemm', [A, 4, lda * 4, dp, rows, M, N, C, ldc, 0, 0], rows * M * N);
}

export interface MatMulInputs {
  /** [M, K] row-major, or [K, M] when transposeA. */
  a: ArrayLike<number>;
  /** [K, N] row-major, or [N, K] when transposeB. */
  b: ArrayLike<number>;
  M: number;
  N: number;
  K: number;
  transposeA?: boolean;
  transposeB?: boolean;
  /** [N], added to every row of the product. */
  bias?: ArrayLike<number>;
}

/** C [M, N] = op(A) op(B) (+ bias on every row). */
export function matMul(rt: KernelRuntime, m: MatMulInputs): Float32Array {
  const { M, N, K } = m;
  const a = rt.begin();
  const A = a.allocFrom(m.a, M * K);
  const B = a.allocFrom(m.b, K * N);
  const bp = pack(rt, B, m.transposeB ? K : N, K, N, m.transposeB ?? false);
  const C = a.alloc(M * N);
  if (m.bias) rt.run('fillRows', [a.allocFrom(m.bias, N), N, M, C], M * N);
  const [aRow, aK] = m.transposeA ? [4, M * 4] : [K * 4, 4];
  // Narrow products share out rows, wide ones column panels.
  const splitRows = N < 64 * rt.threads ? 1 : 0;
  rt.run('gemm', [A, aRow, aK, bp, K, M, N, C, N, m.bias ? 1 : 0, splitRows], M * N * K);
  return a.f32(C, M * N);
}

export interface CrossEntropyResult {
  /** The mean over the rows of -log softmax(logits)[label]. */
  loss: number;
  /** Its gradient with respect to the logits, (softmax - onehot) / N, [N, V]: a view (copy it out). */
  grad: Float32Array;
}

/** Softmax cross-entropy of logits [N, V] against labels [N] (each in [0, V)), with its gradient. */
export function crossEntropy(
  rt: KernelRuntime,
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  N: number,
  V: number,
): CrossEntropyResult {
  if (labels.length !== N) throw new Error(`rnnlm kernels: expected ${N} labels, got ${labels.length}`);
  checkIds(labels, V);
  const a = rt.begin();
  const x = a.allocFrom(logits, N * V);
  const y = a.allocInts(labels);
  const grad = a.alloc(N * V);
  const losses = a.alloc(N);
  rt.run('crossEntropyRows', [x, y, N, V, grad, losses], N * V * 8);
  let sum = 0;
  for (const l of a.f32(losses, N)) sum += l;
  return { loss: sum / N, grad: a.f32(grad, N * V) };
}
