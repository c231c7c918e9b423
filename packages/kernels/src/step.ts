/**
 * Token-by-token inference for generation (assembly/step.ts): a stack's weights copied once into
 * WebAssembly memory, then one call per token for every sequence of the batch, which returns the
 * logits. Nothing goes through tfjs, so a token costs the matrix products alone.
 *
 * The weights must stay put between tokens, while every operation of the shared runtime resets its
 * scratch memory: a `StepModel` keeps them in an instance of its own (one thread), or, when the
 * kernels run on threads, in a held block of the running runtime's memory, whose threads then share
 * each step (`dispose` gives the block back): a batch of more than 4 sequences by groups of 4 rows,
 * a smaller one by columns (assembly/step.ts).
 */
import { kernelBinary } from './binary.js';
import { type CellKind, gatesPerCell, type LstmGateOrder } from './cells.js';
import { type KernelExports, positional } from './exports.js';
import { mayCompileSync, runningRuntime } from './instance.js';
import { Arena, lineFloats } from './memory.js';
import { SPLIT_TABLE_BYTES } from './pool.js';
import { type JobRunner, runPackB } from './products.js';
import type { KernelRuntime } from './runtime.js';
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

/** Where a `StepModel` runs. */
export interface StepModelOptions {
  /**
   * A runtime whose memory holds the weights and whose threads share each step: a batch of more than 4
   * sequences by groups of 4 rows, a smaller one by columns where each phase is work enough (see
   * COLUMN_PHASE_MIN), else it runs on the calling thread; null: an instance of the model's own, on one
   * thread. Default: the running runtime (see `startKernels`) when it has threads and they would share
   * the step, else an instance of its own.
   */
  runtime?: KernelRuntime | null;
}

const CELL_CODES: Record<CellKind, number> = { rnn: 0, gru: 1, lstm: 2 };
/**
 * Sequences a thread takes at a time (assembly/threads.ts: rowRange); a batch of at most this many
 * has one group of rows, and shares columns instead.
 */
const ROW_GROUP = 4;
/**
 * Multiply-adds a phase of the column step needs for a second thread to pay: each phase ends with a
 * wait for all threads, which with the hand-over measured about 1.2 µs on the 2-core machine. Batch 1,
 * hidden 256, own instance against two threads: the LSTM's step 19.5 -> 14.6 µs (90k a phase), two
 * layers' 62 -> 38 (159k), the 2-layer GRU's 44 -> 37 (66k); the GRU's 14.2 -> 15.1 (41k), the
 * 2-layer RNN's 13.5 -> 13.0 (41k) and the RNN's (24k) no faster or slower.
 */
const COLUMN_PHASE_MIN = 50_000;

/** How a threaded runtime shares a step of `batch` sequences: by rows, by columns, or not at all. */
type Sharing = 'rows' | 'columns' | 'none';

function sharing(weights: StepModelWeights, batch: number): Sharing {
  if (batch > ROW_GROUP) return 'rows';
  // The phases of assembly/step.ts's stackStepColumns.
  const phases = weights.layers.length * (weights.cell === 'gru' ? 4 : 2) + 1;
  return stepWork(weights, batch) / phases >= COLUMN_PHASE_MIN ? 'columns' : 'none';
}

/** Multiply-adds of a step: each layer's products (layer 0's input is a table row) and the head's. */
function stepWork({ cell, hidden: H, vocabSize: V, layers }: StepModelWeights, batch: number): number {
  const G = gatesPerCell(cell) * H;
  return batch * ((2 * layers.length - 1) * H * G + H * V);
}
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

/** The memory a `StepModel` lives in, and how its jobs run there. */
/** Runs jobs on this memory (on the runtime's threads, or the own instance's one). */
interface Home extends JobRunner {
  /**
   * One token step, shared as `how` says, without `run`'s by-name arguments where it runs on one
   * thread (put in order and spread into the call, they cost a batch-1 step of the default LSTM 12%).
   * sync: the counters of `stackStepColumns`, zeroed here when it runs.
   */
  step(plan: number, ids: number, B: number, sync: Int32Array, work: number, how: Sharing): void;
  /** Floats of W [K, N] packed into panels. */
  packedFloats(K: number, N: number): number;
  /** The runtime whose memory this is, when it is not an instance of the model's own. */
  runtime: KernelRuntime | null;
}

/** An instance of the kernels of the model's own, on one thread. */
function ownInstance(): Home {
  compiled ??= new WebAssembly.Module(kernelBinary('simd'));
  const memory = new WebAssembly.Memory({ initial: 2 });
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  const exports = instance.exports as unknown as KernelExports;
  // The table of share boundaries (zeros: one thread) at the heap's start, as the runtime leaves it.
  const arena = new Arena(memory, exports.heapBase() + SPLIT_TABLE_BYTES);
  return {
    arena,
    threads: 1,
    run: (fn, args) => exports[fn](...positional(fn, args), 0, 1),
    step: (plan, ids, B) => exports.stackStep(plan, ids, B, 0, 1),
    packedFloats: (K, N) => exports.packedBytes(K, N) / 4,
    runtime: null,
  };
}

function onRuntime(runtime: KernelRuntime): Home {
  return {
    arena: runtime.arena,
    threads: runtime.threads,
    run: (fn, args, work) => runtime.run(fn, args, work),
    step: (plan, ids, B, sync, work, how) => {
      if (how === 'columns') {
        sync.fill(0);
        runtime.run('stackStepColumns', { plan, ids, B, sync: sync.byteOffset }, Number.MAX_SAFE_INTEGER);
      } else runtime.run('stackStep', { plan, ids, B }, how === 'rows' ? work : 0);
    },
    packedFloats: (K, N) => runtime.packedBytes(K, N) / 4,
    runtime,
  };
}

/** Byte addresses in a `StepModel`'s block of what each step reads or writes besides the weights. */
interface Placed {
  plan: number;
  ids: number;
  sync: number;
  logits: number;
}

/** Held blocks of a runtime's memory given back when their `StepModel` is collected undisposed. */
const collected =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<{ arena: Arena; ptr: number }>(({ arena, ptr }) => {
        // Never throws from a finalizer (the block can only be gone if `dispose` ran, which unregisters).
        try {
          arena.release(ptr);
        } catch {}
      })
    : null;

/** A stack's weights in WebAssembly memory with the state of `batch` sequences. */
export class StepModel {
  /** Sequences advanced by each step. */
  readonly batch: number;
  /** Logits per sequence (V). */
  readonly vocabSize: number;
  /** Units per layer (H). */
  readonly hidden: number;
  /** Threads that share each step. */
  readonly threads: number;
  readonly #home: Home;
  /** The block that holds everything (plan, weights, state, ids, logits), and its bytes. */
  readonly #block: number;
  readonly #bytes: number;
  readonly #plan: number;
  /** Multiply-adds of one step (the runtime runs small ones on the calling thread). */
  readonly #work: number;
  /** How the runtime's threads share a step (an own instance: 'none'). */
  readonly #sharing: Sharing;
  /**
   * The ids [batch], logits [batch, V] and the column step's counters: byte addresses, and views made
   * again when memory grows.
   */
  readonly #ids: number;
  readonly #logits: number;
  readonly #sync: number;
  readonly #syncInts: number;
  #views: { buffer: ArrayBufferLike; ids: Int32Array; logits: Float32Array; sync: Int32Array } | null = null;
  /** h (and c for LSTM) of each layer, bottom first: byte addresses of [batch, hidden]. */
  readonly #states: number[] = [];
  #disposed = false;

  private constructor(home: Home, weights: StepModelWeights, batch: number) {
    this.#home = home;
    this.batch = batch;
    this.#sharing = home.runtime && home.runtime.threads > 1 ? sharing(weights, batch) : 'none';
    this.threads = this.#sharing === 'none' ? 1 : home.runtime!.threads;
    const { cell, hidden: H, vocabSize: V, layers } = weights;
    this.vocabSize = V;
    this.hidden = H;
    const G = gatesPerCell(cell) * H;
    check(layers.length >= 1, 'a stack needs at least one layer');
    check(weights.table.length % G === 0, `the input table must have rows of ${G} values`);
    check(weights.head.W.length === H * V && weights.head.b.length === V, `the head must be [${H}, ${V}]`);
    for (const [l, layer] of layers.entries()) {
      check(layer.W.length === H * G && layer.b.length === G, `layer ${l}'s weights must be [${H}, ${G}]`);
      if (l > 0) check(layer.Wx?.length === H * G, `layer ${l}'s input weight must be [${H}, ${G}]`);
    }
    // Everything in one held block, laid out by #fill; the weights' row-major copies that
    // packing reads go to the scratch space above it.
    const packed = (K: number, N: number) => home.packedFloats(K, N);
    const recurrent = cell === 'gru' ? packed(H, 2 * H) + packed(H, H) : packed(H, G);
    const perLayer = (l: number) =>
      (l > 0 ? lineFloats(packed(H, G)) : 0) +
      lineFloats(recurrent) +
      lineFloats(G) +
      lineFloats(batch * H) * (cell === 'lstm' ? 2 : 1);
    const words = PLAN_WORDS + LAYER_WORDS * layers.length;
    // stackStepColumns' counters: two a phase, at most 4 phases a layer and the head's.
    this.#syncInts = 2 * (4 * layers.length + 1);
    const total =
      lineFloats(words) +
      lineFloats(weights.table.length) +
      lineFloats(packed(H, V)) +
      lineFloats(V) +
      lineFloats(batch * V) +
      lineFloats(batch * G) +
      lineFloats(batch * H) +
      layers.reduce((sum, _, l) => sum + perLayer(l), 0) +
      lineFloats(batch) +
      lineFloats(this.#syncInts);
    const a = home.runtime ? home.runtime.begin() : home.arena;
    this.#block = a.hold(total);
    this.#bytes = total * 4;
    let placed: Placed;
    try {
      placed = this.#fill(a, weights, batch, words);
    } catch (error) {
      // No memory for the row-major copies: nobody else could give the block back.
      a.release(this.#block);
      throw error;
    }
    this.#plan = placed.plan;
    this.#ids = placed.ids;
    this.#sync = placed.sync;
    this.#logits = placed.logits;
    this.#work = stepWork(weights, batch);
    a.reset(); // the row-major copies
    if (home.runtime) collected?.register(this, { arena: a, ptr: this.#block }, this);
    this.reset();
  }

  /** Lays out and fills the block: the plan, the weights (packed), the state, ids and logits. */
  #fill(a: Arena, weights: StepModelWeights, batch: number, words: number): Placed {
    const home = this.#home;
    const { cell, hidden: H, vocabSize: V, layers } = weights;
    const G = gatesPerCell(cell) * H;
    const packed = (K: number, N: number) => home.packedFloats(K, N);
    let at = this.#block;
    const take = (floats: number) => {
      const ptr = at;
      at += lineFloats(floats) * 4;
      return ptr;
    };
    const put = (values: Float32Array) => {
      const ptr = take(values.length);
      a.write(ptr, values, values.length);
      return ptr;
    };
    /** Packs columns [col0, col0 + N) of a row-major [K, ld] matrix into the block. */
    const pack = (values: Float32Array, K: number, N: number, ld = N, col0 = 0) => {
      const dst = take(packed(K, N));
      const src = a.allocFrom(values, values.length);
      runPackB(home, { src: src + col0 * 4, rowStride: ld * 4, colStride: 4, K, N, dst }, K * N * 2);
      return dst;
    };
    const plan: number[] = new Array(words).fill(0);
    const planAt = take(words);
    const { gi, gf, go, gg } = lstmGates(weights.gateOrder);
    Object.assign(plan, [CELL_CODES[cell], layers.length, H, V, gi, gf, go, gg]);
    plan[8] = put(weights.table);
    plan[9] = pack(weights.head.W, H, V);
    plan[10] = put(weights.head.b);
    plan[11] = take(batch * V);
    plan[12] = take(batch * G);
    plan[13] = take(batch * H);
    for (const [l, layer] of layers.entries()) {
      const w = PLAN_WORDS + LAYER_WORDS * l;
      if (l > 0) plan[w] = pack(layer.Wx!, H, G);
      if (cell === 'gru') {
        // The z and r columns, then the candidate's, each packed apart (the candidate reads R ⊙ H).
        plan[w + 1] = pack(layer.W, H, 2 * H, G, 0);
        plan[w + 2] = pack(layer.W, H, H, G, 2 * H);
      } else plan[w + 1] = pack(layer.W, H, G);
      plan[w + 3] = put(layer.b);
      plan[w + 4] = take(batch * H);
      this.#states.push(plan[w + 4]!);
      if (cell === 'lstm') {
        plan[w + 5] = take(batch * H);
        this.#states.push(plan[w + 5]!);
      }
    }
    const ids = take(batch);
    const sync = take(this.#syncInts);
    new Int32Array(a.memory.buffer, planAt, words).set(plan);
    return { plan: planAt, ids, sync, logits: plan[11]! };
  }

  /**
   * Copies `weights` into kernel memory with a zero state for `batch` sequences (see
   * `StepModelOptions` for where). Synchronous: in a page's main thread, `await prepareStepModels()`
   * first.
   */
  static create(weights: StepModelWeights, batch = 1, options: StepModelOptions = {}): StepModel {
    check(Number.isInteger(batch) && batch >= 1, `batch must be a positive integer, got ${batch}`);
    let runtime = options.runtime;
    if (runtime === undefined) {
      const running = runningRuntime();
      runtime = running && running.threads > 1 && sharing(weights, batch) !== 'none' ? running : null;
    }
    if (runtime) return new StepModel(onRuntime(runtime), weights, batch);
    const why = stepModelsUnavailable();
    if (why) throw new Error(`rnnlm kernels: ${why}`);
    return new StepModel(ownInstance(), weights, batch);
  }

  /** Bytes of WebAssembly memory the weights and state take. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Sets every sequence's state to zero. */
  reset(): void {
    this.#live();
    for (const s of this.#states) this.#home.arena.write(s, null, this.batch * this.hidden);
  }

  /**
   * Feeds one token to each sequence (`ids[b]` to sequence b), advances their states, and returns the
   * logits [batch, V] row-major: a view of kernel memory, overwritten by the next step.
   */
  step(ids: ArrayLike<number>): Float32Array {
    this.#live();
    const { batch, vocabSize } = this;
    if (ids.length !== batch) throw new Error(`step: expected ${batch} ids, got ${ids.length}`);
    const views = this.#viewsNow();
    const view = views.ids;
    for (let b = 0; b < batch; b++) {
      const id = ids[b]!;
      if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
        throw new Error(`step: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
      }
      view[b] = id;
    }
    this.#home.step(this.#plan, this.#ids, batch, views.sync, this.#work, this.#sharing);
    return views.logits;
  }

  /** Views of the ids and logits on the memory's current buffer (a runtime's memory grows). */
  #viewsNow() {
    const { buffer } = this.#home.arena.memory;
    if (this.#views?.buffer !== buffer) {
      this.#views = {
        buffer,
        ids: new Int32Array(buffer, this.#ids, this.batch),
        logits: new Float32Array(buffer, this.#logits, this.batch * this.vocabSize),
        sync: new Int32Array(buffer, this.#sync, this.#syncInts),
      };
    }
    return this.#views;
  }

  /** A copy of the state, as models lay it out: per layer h [batch, hidden], then c for LSTM. */
  state(): Float32Array[] {
    this.#live();
    return this.#states.map((s) => this.#home.arena.f32(s, this.batch * this.hidden).slice());
  }

  /**
   * Gives the memory back: a runtime's held block at once (else when the model is collected); an
   * instance of its own goes with the model. Later calls do nothing; steps after it are an error.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#home.runtime) {
      collected?.unregister(this);
      this.#home.arena.release(this.#block);
    }
  }

  #live(): void {
    if (this.#disposed) throw new Error('rnnlm kernels: this StepModel has been disposed');
  }
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(`rnnlm kernels: ${message}`);
}
