/**
 * The machine's WebAssembly SIMD peak (assembly/peak.ts): f32x4 multiply-add throughput with no loads,
 * on every thread of a runtime at once, for a multiply and an add (plain SIMD) and, in the relaxed-SIMD
 * build, for a fused multiply-add. Benchmarks report the kernels' speed as a share of the peak of the
 * build that runs.
 */
import type { SimdFlavour } from './binary.js';
import type { KernelRuntime } from './runtime.js';

/** FLOPs of one iteration of assembly/peak.ts's loops (12 chains x 4 lanes x a multiply and an add). */
const FLOPS_PER_ITERATION = 96;
/** Floats the loop's results take: 16 sums, the two counters, then 16 flags (see assembly/peak.ts). */
const OUT_FLOATS = 48;
/** Runs tried for each round kept, at most, before giving up on the threads running at once. */
const TRIES_PER_ROUND = 50;

/** What `measureSimdPeak` found. */
export interface SimdPeak {
  /** Threads that ran at once (the runtime's). */
  threads: number;
  /** The runtime's build: `relaxed` (gflops is the fused multiply-add peak) or `plain`. */
  simd: SimdFlavour;
  /** GFLOP/s of all threads together, the best of the rounds, in the runtime's build: its ceiling. */
  gflops: number;
  /** gflops / threads. */
  gflopsPerThread: number;
  /** The same for a multiply and an add (the plain build's ceiling), measured on the same threads. */
  plainGflops: number;
  /** The same for relaxed SIMD's fused multiply-add; null in the plain build. */
  fmaGflops: number | null;
}

/**
 * Times `rounds` runs of each peak loop on all of `rt`'s threads together, each about `ms`
 * milliseconds, and keeps the fastest (on a shared machine the slow ones measure the neighbours). With
 * threads, a round counts only when all of them ran it at the same time (a thread the system had not
 * scheduled yet would run its share after another's and the round would measure fewer threads); it
 * tries up to 50 times as many rounds, then fails saying so.
 */
export function measureSimdPeak(rt: KernelRuntime, { rounds = 5, ms = 100 } = {}): SimdPeak {
  if (!(rounds >= 1 && ms > 0))
    throw new Error('rnnlm kernels: measureSimdPeak needs rounds >= 1 and ms > 0');
  const threads = rt.threads;
  const plainGflops = peakOf(rt, false, rounds, ms);
  const fmaGflops = rt.simd === 'relaxed' ? peakOf(rt, true, rounds, ms) : null;
  const gflops = fmaGflops ?? plainGflops;
  return { threads, simd: rt.simd, gflops, gflopsPerThread: gflops / threads, plainGflops, fmaGflops };
}

function peakOf(rt: KernelRuntime, fused: boolean, rounds: number, ms: number): number {
  const threads = rt.threads;
  const a = rt.begin();
  const out = a.alloc(OUT_FLOATS);
  const results = a.f32(out, OUT_FLOATS);
  const flags = new Int32Array(results.buffer, results.byteOffset + 128, threads);
  /** Milliseconds one run took, and whether the threads all ran it at the same time. */
  const run = (iterations: number) => {
    results.fill(0);
    const started = performance.now();
    // work: far above the threshold for sharing a call out, so that every thread runs the loop.
    rt.run('simdPeak', { iterations, fused, out }, Number.MAX_SAFE_INTEGER);
    const elapsed = performance.now() - started;
    return { elapsed, together: flags.every((f) => f === 1) };
  };
  let tries = 0;
  /** The time of a run on all threads at once, retried while they were not. */
  const together = (iterations: number): number => {
    for (;;) {
      const { elapsed, together } = run(iterations);
      if (together) return elapsed;
      if (++tries > TRIES_PER_ROUND * rounds) {
        throw new Error(
          `rnnlm kernels: measureSimdPeak: the ${threads} threads never ran the peak loop at the same time ` +
            `in ${tries} tries (the machine is busy): measure again later or on fewer threads`,
        );
      }
    }
  };
  // Calibrate the iteration count to the time asked for (the first run also warms up the code). Runs
  // this short may end before a sleeping worker wakes: only the time counts here.
  let iterations = 100_000;
  for (let { elapsed } = run(iterations); elapsed < ms / 2; { elapsed } = run(iterations)) {
    iterations = Math.min(2 ** 30, Math.ceil(iterations * Math.max(2, ms / Math.max(elapsed, 0.01))));
  }
  iterations = Math.min(2 ** 30, Math.round(iterations * (ms / Math.max(run(iterations).elapsed, 0.01))));
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const seconds = together(iterations) / 1000;
    best = Math.max(best, (iterations * FLOPS_PER_ITERATION * threads) / seconds / 1e9);
  }
  if (!results.subarray(0, threads).every(Number.isFinite))
    throw new Error('rnnlm kernels: the peak loop produced non-finite values');
  return best;
}
