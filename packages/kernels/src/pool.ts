/**
 * Threads for the kernels: workers that share the kernels' memory and run their share of each call.
 *
 * A call is one job for all threads: the caller writes the job into a control block in shared memory,
 * wakes the workers, runs share 0 itself and waits until every worker has reported. Workers spin for
 * a few milliseconds of the clock before they sleep, because calls come in quick succession during a
 * training step (the longest gap, the optimizer and the next batch's start, is 1-3 ms of tfjs work);
 * a count of spins instead lasts as long as the core makes it (400,000 loads: 2.2 ms of CPU on the
 * shared 2-core machine, 4-7 ms of its clock), and where it ran short a worker would sleep at every
 * batch and the next call wait for its wake-up; the caller spins while it waits (a browser's main thread may not block; and waking a
 * blocked thread costs more than the wait), and sleeps in short slices only after a long one.
 */

import { JOB_FUNCTIONS } from './exports.js';

// Control block, in i32 slots.
const SEQ = 0; // job counter: a new value starts a job
const DONE = 1; // workers finished with the current job
const FN = 2;
const NARGS = 3;
const FAILED = 4; // a worker's share threw
const STOP = 5;
/**
 * The shares taken, a bit a thread: a worker sets its bit as it starts its share, and the caller, once
 * its own share is done, sets the bit of every share no worker has started and runs that share itself
 * (whoever sets a bit first runs the share). A worker that lost its core (a busy machine, or one asleep)
 * then costs the job its share's time on the caller instead of a wait for the scheduler: measured on
 * the shared 2-core machine, each call waited about 6 ms that way, and two threads ran a batch 4 times
 * slower than one.
 */
const CLAIMED = 6;
const ARGS = 8;
export const MAX_ARGS = 24;
export const CONTROL_INTS = ARGS + MAX_ARGS;
/** Bytes of the control block: the ints above, then each thread's time for the last job (f32). */
export const CONTROL_BYTES = 256;
/**
 * Bytes at the start of the heap for the share boundaries and the shares taken (see
 * assembly/threads.ts), 16 threads at most, then a flag that stops threads taking each other's pieces.
 */
export const SPLIT_TABLE_BYTES = 192;
/** Where the flag lies, from the heap's start (assembly/threads.ts's NO_TAKING). */
export const NO_TAKING_BYTE = 128;
const MAX_THREADS = 16;

/** What a worker gets in its first message. */
interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  tid: number;
  nt: number;
  functions: readonly string[];
}

/**
 * The worker's whole program, run as source text in a worker (so that no file has to be located, in
 * Node or a bundle). It must not refer to anything outside itself.
 */
function workerMain(
  post: (message: unknown) => void,
  onFirstMessage: (cb: (init: WorkerInit) => void) => void,
) {
  onFirstMessage((init) => {
    const { module, memory, control, tid, nt, functions } = init;
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const fns = functions.map((name) => instance.exports[name] as (...args: number[]) => void);
    const ctrl = new Int32Array(memory.buffer, control, 32);
    const times = new Float32Array(memory.buffer, control + 128, 32);
    // The job counter is read before saying ready: a job started the moment the pool is (as soon as
    // `ready` arrives) would otherwise be taken for the current value and never run.
    let seen = Atomics.load(ctrl, 0);
    post({ ready: true });
    for (;;) {
      let seq = Atomics.load(ctrl, 0);
      if (seq === seen) {
        // 4 ms (a literal: this function may not refer to anything outside itself), the clock read
        // once every 1024 spins.
        const until = performance.now() + 4;
        for (let spin = 1; seq === seen; spin++) {
          seq = Atomics.load(ctrl, 0);
          if ((spin & 1023) === 0 && performance.now() > until) break;
        }
      }
      if (seq === seen) {
        Atomics.wait(ctrl, 0, seen);
        continue;
      }
      seen = seq;
      if (Atomics.load(ctrl, 5) !== 0) return;
      // The share, unless the caller took it (it then also counted it done). Claimed before the
      // arguments are read: a claim that succeeds sees the arguments of the job it claims, even when
      // the counter read above was the previous job's.
      if ((Atomics.or(ctrl, 6, 1 << tid) & (1 << tid)) !== 0) continue;
      const n = ctrl[3]!;
      const args: number[] = [];
      for (let i = 0; i < n; i++) args.push(ctrl[8 + i]!);
      const started = performance.now();
      try {
        fns[ctrl[2]!]!(...args, tid, nt);
      } catch (error) {
        Atomics.store(ctrl, 4, 1);
        post({ error: String(error) });
      }
      times[tid] = performance.now() - started;
      Atomics.add(ctrl, 1, 1);
      Atomics.notify(ctrl, 1);
    }
  });
}

interface WorkerHandle {
  terminate(): unknown;
}

/** Starts a worker running `workerMain`, in Node (worker_threads) or a browser (a blob URL). */
async function spawn(onMessage: (message: { ready?: boolean; error?: string }) => void, init: WorkerInit) {
  const body = `(${workerMain.toString()})`;
  if (typeof process !== 'undefined' && process.versions?.node && typeof window === 'undefined') {
    const { Worker } = await import('node:worker_threads');
    const source =
      `const { parentPort } = require('node:worker_threads');\n` +
      `${body}((m) => parentPort.postMessage(m), (cb) => parentPort.once('message', cb));`;
    const worker = new Worker(source, { eval: true });
    worker.on('message', (message: { ready?: boolean; error?: string }) => {
      // Once running, a sleeping kernel thread must not keep the process alive.
      if (message.ready) worker.unref();
      onMessage(message);
    });
    worker.postMessage(init);
    return worker as WorkerHandle;
  }
  const source = `${body}((m) => self.postMessage(m), (cb) => { self.onmessage = (e) => { self.onmessage = null; cb(e.data); }; });`;
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  worker.onmessage = (event) => onMessage(event.data);
  worker.postMessage(init);
  return worker as WorkerHandle;
}

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export class ThreadPool {
  readonly #ctrl: Int32Array;
  /** Each thread's time (ms) for the last job, and the share of it each took. */
  readonly #times: Float32Array;
  readonly #shares: Float32Array;
  /** Share boundaries, read by the kernels' splitRange: boundary t at index t (0 and nt implied). */
  readonly #split: Float32Array;
  readonly #noTaking: Int32Array;
  /** Each thread's speed (share of a job per millisecond), averaged over recent jobs. */
  readonly #speed: Float64Array;
  readonly #workers: WorkerHandle[];
  readonly #canBlock = canBlock();
  #errors: string[] = [];
  #fixed = false;
  #taken = 0;
  /** The caller's time in its share of the last call, or -1 when it also ran a worker's. */
  #lastLocalMs = -1;

  private constructor(
    memory: WebAssembly.Memory,
    control: number,
    splitTable: number,
    workers: WorkerHandle[],
    errors: string[],
  ) {
    this.#ctrl = new Int32Array(memory.buffer, control, CONTROL_INTS);
    this.#times = new Float32Array(memory.buffer, control + 128, MAX_THREADS);
    this.#split = new Float32Array(memory.buffer, splitTable, MAX_THREADS);
    this.#shares = new Float32Array(memory.buffer, splitTable + 64, MAX_THREADS);
    this.#noTaking = new Int32Array(memory.buffer, splitTable + NO_TAKING_BYTE, 1);
    this.#workers = workers;
    this.#errors = errors;
    this.#speed = new Float64Array(workers.length + 1);
  }

  /** Threads in all, the caller's included. */
  get size(): number {
    return this.#workers.length + 1;
  }

  /** Workers' shares the caller ran because no worker had started them (see CLAIMED), since the start. */
  get sharesTaken(): number {
    return this.#taken;
  }

  /**
   * Each thread's milliseconds in its share of the last call (the caller's first), or null when the
   * caller ran a worker's share itself. Against the call's wall time, what one thread waited for another.
   */
  get lastThreadMs(): number[] | null {
    // Made when asked: a training step makes a dozen calls a batch, which need none of it.
    if (this.#lastLocalMs < 0) return null;
    return [this.#lastLocalMs, ...this.#times.subarray(1, this.#workers.length + 1)];
  }

  /** Starts `threads - 1` workers on `module` and `memory` (shared); resolves once all are ready. */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    control: number,
    splitTable: number,
    threads: number,
  ): Promise<ThreadPool> {
    if (threads > MAX_THREADS) throw new Error(`rnnlm kernels: at most ${MAX_THREADS} threads`);
    const errors: string[] = [];
    const workers: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    try {
      for (let tid = 1; tid < threads; tid++) {
        let resolveReady!: () => void;
        ready.push(new Promise<void>((resolve) => (resolveReady = resolve)));
        const init: WorkerInit = { module, memory, control, tid, nt: threads, functions: JOB_FUNCTIONS };
        workers.push(
          await spawn((message) => {
            if (message.ready) resolveReady();
            if (message.error) errors.push(message.error);
          }, init),
        );
      }
      await Promise.all(ready);
    } catch (error) {
      for (const w of workers) w.terminate();
      throw error;
    }
    return new ThreadPool(memory, control, splitTable, workers, errors);
  }

  /**
   * Runs `fn(...args, tid, nt)` on every thread: share 0 here, the others in the workers; returns when
   * all are done. `local` is the caller's own function for `fn` (the same export of its instance).
   */
  run(fnIndex: number, args: readonly number[], local: (...args: number[]) => void): void {
    const ctrl = this.#ctrl;
    const workers = this.#workers.length;
    if (args.length > MAX_ARGS) throw new Error(`rnnlm kernels: too many arguments (${args.length})`);
    ctrl[FN] = fnIndex;
    ctrl[NARGS] = args.length;
    for (let i = 0; i < args.length; i++) ctrl[ARGS + i] = args[i]!;
    // Cleared before the job starts: each thread writes the share it takes as it starts.
    this.#shares.fill(0, 0, workers + 1);
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, FAILED, 0);
    // The arguments are written before the claims are cleared: a worker that claims sees them.
    Atomics.store(ctrl, CLAIMED, 0);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    let localError: unknown;
    const started = performance.now();
    try {
      local(...args, 0, workers + 1);
    } catch (error) {
      localError = error;
    }
    const localTime = performance.now() - started;
    // The shares no worker has started: run here, one after another (see CLAIMED).
    let taken = 0;
    for (let tid = 1; tid <= workers; tid++) {
      if ((Atomics.or(ctrl, CLAIMED, 1 << tid) & (1 << tid)) !== 0) continue;
      taken++;
      try {
        local(...args, tid, workers + 1);
      } catch (error) {
        localError ??= error;
      }
    }
    this.#taken += taken;
    // Spin, and block only when a share runs long: waking a blocked thread goes through the scheduler
    // (and on a virtual machine the hypervisor), measured here at about 1 ms, longer than most waits.
    let done = Atomics.load(ctrl, DONE);
    for (let spin = 0; done < workers - taken; spin++) {
      if (this.#canBlock && spin > 20_000_000) Atomics.wait(ctrl, DONE, done, 1);
      done = Atomics.load(ctrl, DONE);
    }
    this.#lastLocalMs = taken === 0 ? localTime : -1;
    // A share run here says nothing of its thread's speed.
    if (taken === 0) this.#balance(localTime);
    if (localError !== undefined) throw localError;
    if (Atomics.load(ctrl, FAILED) !== 0) {
      throw new Error(
        `rnnlm kernels: a kernel thread failed${this.#errors.length ? `: ${this.#errors.at(-1)}` : ''}`,
      );
    }
  }

  /**
   * Moves the share boundaries towards each thread's speed in the job just done, so that the threads
   * finish together: a core slowed down by a busy neighbour gets less of the next jobs (on a shared
   * machine one core ran half as fast as the other for minutes at a time). Short jobs say more about
   * start-up than about speed and are left out.
   */
  #balance(localTime: number): void {
    const nt = this.#workers.length + 1;
    if (this.#fixed || localTime < 0.5) return;
    const speeds: number[] = [];
    for (let t = 0; t < nt; t++) {
      const time = t === 0 ? localTime : this.#times[t]!;
      const share = this.#shares[t]!;
      if (!(time > 0.05) || !(share > 0)) return;
      speeds.push(share / time);
    }
    let total = 0;
    for (const [t, speed] of speeds.entries()) {
      const s = this.#speed[t]! > 0 ? 0.7 * this.#speed[t]! + 0.3 * speed : speed;
      this.#speed[t] = s;
      total += s;
    }
    // Cumulative shares, each between half and twice an even one.
    let boundary = 0;
    for (let t = 0; t < nt - 1; t++) {
      boundary += Math.min(2 / nt, Math.max(0.5 / nt, this.#speed[t]! / total));
      this.#split[t + 1] = Math.min(boundary, 1 - (nt - 1 - t) * (0.5 / nt));
    }
  }

  /**
   * Fixes the share boundaries (fractions, one between each pair of threads) and stops the balancing,
   * or with null lets it resume from an even split. For tests and measurements.
   */
  fixShares(boundaries: readonly number[] | null): void {
    const nt = this.#workers.length + 1;
    this.#fixed = boundaries !== null;
    this.#speed.fill(0);
    for (let t = 1; t < nt; t++) this.#split[t] = boundaries ? boundaries[t - 1]! : 0;
  }

  /**
   * Lets the threads take each other's pieces of a call (the default), or not: for measurements.
   * Results do not depend on it.
   */
  allowTaking(allowed: boolean): void {
    this.#noTaking[0] = allowed ? 0 : 1;
  }

  /**
   * Wakes sleeping workers without giving them a job, so that they are spinning, ready, by the time
   * the next job comes: an operation calls this before copying its inputs in. Waking takes a few
   * hundred microseconds here; the copies hide it.
   */
  wake(): void {
    Atomics.notify(this.#ctrl, SEQ);
  }

  /** Ends the workers. */
  stop(): void {
    Atomics.store(this.#ctrl, STOP, 1);
    Atomics.add(this.#ctrl, SEQ, 1);
    Atomics.notify(this.#ctrl, SEQ);
    for (const w of this.#workers) w.terminate();
    this.#workers.length = 0;
  }
}
