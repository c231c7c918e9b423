import { defaultFlavour, kernelBinary, loadKernelBinaries, type SimdFlavour } from './binary.js';
import { JOB_FUNCTIONS, type JobArgs, type JobFunction, type KernelExports, positional } from './exports.js';
import { Arena } from './memory.js';
import { CONTROL_BYTES, SPLIT_TABLE_BYTES, ThreadPool } from './pool.js';

/** Below this many multiply-adds a call runs on the calling thread alone (waking workers costs more). */
const PARALLEL_MIN_WORK = 1 << 18;

/**
 * One instance of the kernels: its memory, its allocator and, with threads, its workers. The
 * operations in sequence.ts, products.ts and loss.ts run on it.
 */
export class KernelRuntime {
  readonly #exports: KernelExports;
  #lastOnThreads = false;
  readonly arena: Arena;
  readonly #pool: ThreadPool | null;
  /** The build that runs: relaxed SIMD (fused multiply-add) or plain SIMD (see binary.ts). */
  readonly simd: SimdFlavour;

  private constructor(
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
    pool: ThreadPool | null,
    base: number,
    simd: SimdFlavour,
  ) {
    this.#exports = instance.exports as unknown as KernelExports;
    this.arena = new Arena(memory, base);
    this.#pool = pool;
    this.simd = simd;
  }

  /** Threads that share each call. */
  get threads(): number {
    return this.#pool?.size ?? 1;
  }

  /**
   * Single-threaded, compiled and instantiated synchronously (fine in Node and in workers). `simd`:
   * the build, by default the process's (binary.ts; another must be loaded by loadKernelBinaries).
   */
  static createSync(simd: SimdFlavour = defaultFlavour): KernelRuntime {
    const module = new WebAssembly.Module(kernelBinary('simd', simd));
    const memory = new WebAssembly.Memory({ initial: 2 });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const base = (instance.exports as unknown as KernelExports).heapBase();
    // The table of share boundaries (unused by one thread) comes first.
    return new KernelRuntime(instance, memory, null, base + SPLIT_TABLE_BYTES, simd);
  }

  /**
   * With `threads` > 1, a shared memory and `threads - 1` workers; otherwise as createSync, but async
   * (and loading the `simd` build if it is not yet).
   */
  static async create(threads: number, simd: SimdFlavour = defaultFlavour): Promise<KernelRuntime> {
    await loadKernelBinaries(simd);
    if (threads <= 1) {
      const module = await WebAssembly.compile(kernelBinary('simd', simd));
      const memory = new WebAssembly.Memory({ initial: 2 });
      const instance = await WebAssembly.instantiate(module, { env: { memory } });
      const base = (instance.exports as unknown as KernelExports).heapBase();
      return new KernelRuntime(instance, memory, null, base + SPLIT_TABLE_BYTES, simd);
    }
    const module = await WebAssembly.compile(kernelBinary('threads', simd));
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const heapBase = (instance.exports as unknown as KernelExports).heapBase();
    // The table of share boundaries at the heap's start (where the kernels read it), then the control
    // block on its own cache lines, then the allocator's region.
    const control = (heapBase + SPLIT_TABLE_BYTES + 63) & ~63;
    new Uint8Array(memory.buffer, heapBase, control + CONTROL_BYTES - heapBase).fill(0);
    const pool = await ThreadPool.start(module, memory, control, heapBase, threads);
    return new KernelRuntime(instance, memory, pool, control + CONTROL_BYTES, simd);
  }

  /**
   * Starts an operation: frees what the previous one allocated, and wakes the workers while the
   * operation copies its inputs in.
   */
  begin(): Arena {
    this.arena.reset();
    this.#pool?.wake();
    return this.arena;
  }

  /**
   * Runs a kernel on all threads, or on this one when `work` (multiply-adds) is small. The arguments
   * come by name (see exports.ts).
   */
  run<F extends JobFunction>(fn: F, args: JobArgs<F>, work: number): void {
    const local = this.#exports[fn];
    const values = positional(fn, args);
    this.#lastOnThreads = false;
    if (this.#pool === null || work < PARALLEL_MIN_WORK) {
      local(...values, 0, 1);
      return;
    }
    this.#pool.run(JOB_FUNCTIONS.indexOf(fn), values, local);
    this.#lastOnThreads = true;
  }

  /**
   * Workers' shares of calls that this thread ran itself because no worker had started them once its
   * own share was done (a worker asleep, or without a core on a busy machine), since the start.
   */
  get sharesTaken(): number {
    return this.#pool?.sharesTaken ?? 0;
  }

  /**
   * Each thread's milliseconds in its share of the last call run on the threads (this thread's first),
   * or null when that call ran on this thread alone or this thread ran a worker's share: for
   * measurements (packages/train/bench/step-profile.mjs sets them against each call's wall time).
   */
  get lastThreadMs(): number[] | null {
    return this.#lastOnThreads ? (this.#pool?.lastThreadMs ?? null) : null;
  }

  /** Bytes that W [K, N] takes once packed into panels (by the packB job). */
  packedBytes(K: number, N: number): number {
    return this.#exports.packedBytes(K, N);
  }

  /** The first byte after the module's own static data (the table of share boundaries starts there). */
  heapBase(): number {
    return this.#exports.heapBase();
  }

  /**
   * Fixes how the threads share each call (boundaries as fractions, one between each pair of threads),
   * turning off the balancing by speed, or with null turns it back on. Results do not depend on it.
   */
  fixShares(boundaries: readonly number[] | null): void {
    this.#pool?.fixShares(boundaries);
  }

  /**
   * Lets the threads take each other's pieces of a call (the default), or not (assembly/threads.ts's
   * nextPiece): for measurements, as fixShares. Results do not depend on it.
   */
  allowTaking(allowed: boolean): void {
    this.#pool?.allowTaking(allowed);
  }

  /** Stops the workers (the runtime then runs on one thread). */
  dispose(): void {
    this.#pool?.stop();
  }
}
