/**
 * The machine's WebAssembly SIMD peak (assembly/peak.ts): f32x4 multiply and add throughput with no
 * loads, on every thread of a runtime at once. Benchmarks report the kernels' speed as a share of it.
 */
import type { KernelRuntime } from './runtime.js';

/** FLOPs of one iteration of assembly/peak.ts's loop (12 chains x 4 lanes x a multiply and an add). */
const FLOPS_PER_ITERATION = 96;

/** What `measureSimdPeak` found. */
export interface SimdPeak {
  /** Threads that ran at once (the runtime's). */
  threads: number;
  /** GFLOP/s of all of them together: the best of the rounds. */
  gflops: number;
  /** gflops / threads. */
  gflopsPerThread: number;
}

/**
 * Times `rounds` runs of the peak loop on all of `rt`'s threads together, each about `ms`
 * milliseconds, and keeps the fastest (on a shared machine the slow ones measure the neighbours).
 */
export function measureSimdPeak(rt: KernelRuntime, { rounds = 5, ms = 100 } = {}): SimdPeak {
  if (!(rounds >= 1 && ms > 0))
    throw new Error('rnnlm kernels: measureSimdPeak needs rounds >= 1 and ms > 0');
  const threads = rt.threads;
  const a = rt.begin();
  const out = a.alloc(threads);
  const run = (iterations: number) => {
    const started = performance.now();
    // work: far above the threshold for sharing a call out, so that every thread runs the loop.
    rt.run('simdPeak', { iterations, out }, Number.MAX_SAFE_INTEGER);
    return performance.now() - started;
  };
  // Calibrate the iteration count to the time asked for (the first run also warms up the code).
  let iterations = 100_000;
  for (let elapsed = run(iterations); elapsed < ms / 2; elapsed = run(iterations)) {
    iterations = Math.min(2 ** 30, Math.ceil(iterations * Math.max(2, ms / Math.max(elapsed, 0.01))));
  }
  iterations = Math.min(2 ** 30, Math.round(iterations * (ms / Math.max(run(iterations), 0.01))));
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const seconds = run(iterations) / 1000;
    best = Math.max(best, (iterations * FLOPS_PER_ITERATION * threads) / seconds / 1e9);
  }
  const sums = a.f32(out, threads);
  if (!sums.every(Number.isFinite))
    throw new Error('rnnlm kernels: the peak loop produced non-finite values');
  return { threads, gflops: best, gflopsPerThread: best / threads };
}
