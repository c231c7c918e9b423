/**
 * Token-by-token inference for generation (assembly/step.ts): a stack's weights copied once into a
 * WebAssembly instance of its own, then one call per token for every sequence of the batch, which
 * returns the logits. Nothing goes through tfjs, so a token costs the matrix products alone.
 *
 * Its own instance (not the shared runtime's): the runtime's memory is reset by every operation, and
 * the weights must stay put between tokens. One instance per `StepModel`; the memory goes with it.
 */
import { kernelBinary } from './binary.js';
import { type CellKind, gatesPerCell, type LstmGateOrder } from './cells.js';
import type { KernelExports } from './exports.js';
import { mayCompileSync } from './instance.js';
import { Arena } from './memory.js';
import { SPLIT_TABLE_BYTES } from './pool.js';
import { lstmGates } from './sequence.js';

/** One layer's weights (row-major): input W_x [in, G*H] (unused for layer 0), W_h [H, G*H], bias [G*H]. */
export interface StepLayerWeights {
  Wx: Float32Array | null;
  W: Float32Array;
  b: Float32Array;
}

/** What a `StepModel` runs: a unidirectional stack, its first layer's input table, and the head. */
export interface StepModelWeights {
  cell: CellKind;
  hidden: number;
  vocabSize: number;
  /** LSTM gate blocks in the weights' columns (default d2l's 'ifoc'). */
  gateOrder?: LstmGateOrder;
  /**
   * Layer 0's input by token id, [rows, G*H] without the bias: one-hot times W_x is W_x itself; with
   * an embedding E, the product E W_x (any table whose row `id` is what the first layer adds).
   */
  table: Float32Array;
  /** Bottom first. */
  layers: readonly StepLayerWeights[];
  /** logits = top h W + b: W [H, V], b [V]. */
  head: { W: Float32Array; b: Float32Array };
}

const CELL_CODES: Record<CellKind, number> = { rnn: 0, gru: 1, lstm: 2 };
const PLAN_WORDS = 16;
const LAYER_WORDS = 8;

let compiled: WebAssembly.Module | null = null;
/** Why this engine cannot run the kernels (checked once), or null; undefined until checked. */
let engineProblem: string | null | undefined;

/** Compiles the kernels for `StepModel.create` where a synchronous compile is not allowed (a page). */
export async function prepareStepModels(): Promise<void> {
  compiled ??= await WebAssembly.compile(kernelBinary('simd'));
}

/** Whether `StepModel.create` can run now: WebAssembly SIMD, compiled or compilable synchronously. */
export function stepModelsUnavailable(): string | null {
  if (compiled) return null;
  engineProblem ??=
    typeof WebAssembly !== 'object'
      ? 'this JavaScript engine has no WebAssembly'
      : WebAssembly.validate(kernelBinary('simd'))
        ? null
        : 'this JavaScript engine has no WebAssembly SIMD';
  if (engineProblem) return engineProblem;
  if (!mayCompileSync()) return 'the kernels are not compiled yet on this page (await prepareStepModels())';
  return null;
}

/** A stack's weights in WebAssembly memory with the state of `batch` sequences. */
export class StepModel {
  /** Sequences advanced by each step. */
  readonly batch: number;
  /** Logits per sequence (V). */
  readonly vocabSize: number;
  /** Units per layer (H). */
  readonly hidden: number;
  readonly #exports: KernelExports;
  readonly #arena: Arena;
  readonly #plan: number;
  /** Views of the ids [batch] and logits [batch, V] (the memory never grows after the constructor). */
  readonly #ids: Int32Array;
  readonly #logits: Float32Array;
  /** h (and c for LSTM) of each layer, bottom first: byte addresses of [batch, hidden]. */
  readonly #states: number[] = [];

  private constructor(exports: KernelExports, arena: Arena, weights: StepModelWeights, batch: number) {
    this.#exports = exports;
    this.#arena = arena;
    this.batch = batch;
    const { cell, hidden: H, vocabSize: V, layers } = weights;
    this.vocabSize = V;
    this.hidden = H;
    const G = gatesPerCell(cell) * H;
    check(layers.length >= 1, 'a stack needs at least one layer');
    check(weights.table.length % G === 0, `the input table must have rows of ${G} values`);
    check(weights.head.W.length === H * V && weights.head.b.length === V, `the head must be [${H}, ${V}]`);
    const a = arena;
    const words: number[] = new Array(PLAN_WORDS + LAYER_WORDS * layers.length).fill(0);
    const plan = a.alloc(words.length);
    const { gi, gf, go, gg } = lstmGates(weights.gateOrder);
    Object.assign(words, [CELL_CODES[cell], layers.length, H, V, gi, gf, go, gg]);
    words[8] = a.allocFrom(weights.table, weights.table.length);
    words[9] = this.#pack(weights.head.W, H, V);
    words[10] = a.allocFrom(weights.head.b, V);
    words[11] = a.alloc(batch * V);
    words[12] = a.alloc(batch * G);
    words[13] = a.alloc(batch * H);
    for (const [l, layer] of layers.entries()) {
      const at = PLAN_WORDS + LAYER_WORDS * l;
      check(layer.W.length === H * G && layer.b.length === G, `layer ${l}'s weights must be [${H}, ${G}]`);
      if (l > 0) {
        check(layer.Wx?.length === H * G, `layer ${l}'s input weight must be [${H}, ${G}]`);
        words[at] = this.#pack(layer.Wx!, H, G);
      }
      if (cell === 'gru') {
        // The z and r columns, then the candidate's, each packed apart (the candidate reads R ⊙ H).
        words[at + 1] = this.#pack(layer.W, H, 2 * H, G, 0);
        words[at + 2] = this.#pack(layer.W, H, H, G, 2 * H);
      } else words[at + 1] = this.#pack(layer.W, H, G);
      words[at + 3] = a.allocFrom(layer.b, G);
      words[at + 4] = a.alloc(batch * H);
      this.#states.push(words[at + 4]!);
      if (cell === 'lstm') {
        words[at + 5] = a.alloc(batch * H);
        this.#states.push(words[at + 5]!);
      }
    }
    const ids = a.alloc(batch);
    new Int32Array(a.memory.buffer, plan, words.length).set(words);
    this.#plan = plan;
    this.#ids = new Int32Array(a.memory.buffer, ids, batch);
    this.#logits = a.f32(words[11]!, batch * V);
    this.reset();
  }

  /**
   * Copies `weights` into a new instance with a zero state for `batch` sequences. Synchronous: in a
   * page's main thread, `await prepareStepModels()` first.
   */
  static create(weights: StepModelWeights, batch = 1): StepModel {
    const why = stepModelsUnavailable();
    if (why) throw new Error(`rnnlm kernels: ${why}`);
    check(Number.isInteger(batch) && batch >= 1, `batch must be a positive integer, got ${batch}`);
    compiled ??= new WebAssembly.Module(kernelBinary('simd'));
    const memory = new WebAssembly.Memory({ initial: 2 });
    const instance = new WebAssembly.Instance(compiled, { env: { memory } });
    const exports = instance.exports as unknown as KernelExports;
    // The table of share boundaries (zeros: one thread) at the heap's start, as the runtime leaves it.
    const arena = new Arena(memory, exports.heapBase() + SPLIT_TABLE_BYTES);
    return new StepModel(exports, arena, weights, batch);
  }

  /** Bytes of WebAssembly memory the weights and state take. */
  get bytes(): number {
    return this.#arena.used;
  }

  /** Sets every sequence's state to zero. */
  reset(): void {
    for (const s of this.#states) this.#arena.write(s, null, this.batch * this.hidden);
  }

  /**
   * Feeds one token to each sequence (`ids[b]` to sequence b), advances their states, and returns the
   * logits [batch, V] row-major: a view of the instance's memory, overwritten by the next step.
   */
  step(ids: ArrayLike<number>): Float32Array {
    const { batch, vocabSize } = this;
    if (ids.length !== batch) throw new Error(`step: expected ${batch} ids, got ${ids.length}`);
    const view = this.#ids;
    for (let b = 0; b < batch; b++) {
      const id = ids[b]!;
      if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
        throw new Error(`step: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
      }
      view[b] = id;
    }
    this.#exports.stackStep(this.#plan, view.byteOffset, batch, 0, 1);
    return this.#logits;
  }

  /** A copy of the state, as models lay it out: per layer h [batch, hidden], then c for LSTM. */
  state(): Float32Array[] {
    return this.#states.map((s) => this.#arena.f32(s, this.batch * this.hidden).slice());
  }

  /** Packs columns [col0, col0 + N) of a row-major [K, ld] matrix for the products. */
  #pack(values: Float32Array, K: number, N: number, ld = N, col0 = 0): number {
    const a = this.#arena;
    const src = a.allocFrom(values, values.length);
    const dst = a.alloc(this.#exports.packedBytes(K, N) / 4);
    this.#exports.packB(src + col0 * 4, ld * 4, 4, K, N, dst, 0, 1);
    return dst;
  }
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`rnnlm kernels: ${message}`);
}
