// The machine's WebAssembly SIMD peak for the kernels' kind of arithmetic: f32x4 multiply-adds with no
// loads. Twelve independent chains acc = acc * m + c keep the arithmetic units busy, so the time
// measures arithmetic throughput alone: the ceiling the matrix products are measured against
// (bench:compare reports training as a percentage of it). Two loops: a multiply and an add (plain
// WebAssembly SIMD has no fused multiply-add), and math.ts's `madd`, which in the relaxed-SIMD build is
// one fused multiply-add (and in the plain build the same multiply and add). The chains converge to
// c / (1 - m), so no value overflows or turns denormal.

import { madd } from './math';

/** FLOPs one iteration does: 12 chains x 4 lanes x (1 multiply + 1 add), fused or not. */
// @ts-expect-error: decorator
@inline export const PEAK_FLOPS_PER_ITERATION: i32 = 96;

/**
 * Runs `iterations` rounds of the twelve chains on every thread, with `madd` (fused) or a multiply and
 * an add, and stores thread tid's sum at out + 4 tid, so that the work cannot be optimised away. With
 * threads it also says whether the threads ran at once: it counts the threads started (an i32 at
 * out + 64) and finished (out + 68), each thread waits a while for all to have started, and it
 * stores at out + 128 + 4 tid 1 when no thread had finished as this one started and all had started
 * as it finished, else 0. The caller zeroes out[0..48) first.
 */
export function simdPeak(iterations: i32, fused: bool, out: usize, tid: i32, nt: i32): void {
  let ranTogether = true;
  if (ASC_FEATURE_THREADS) {
    ranTogether = atomic.load<i32>(out + 68) == 0;
    atomic.add<i32>(out + 64, 1);
    // Wait (a while, not for ever) for the others to start: on a busy machine a thread that starts
    // first would otherwise often finish before a worker gets a core, and the run would not count.
    for (let spin = 0; spin < 1 << 24 && atomic.load<i32>(out + 64) < nt; spin++) {}
  }
  const s = fused ? fusedChains(iterations) : separateChains(iterations);
  if (ASC_FEATURE_THREADS) {
    ranTogether = ranTogether && atomic.load<i32>(out + 64) == nt;
    atomic.add<i32>(out + 68, 1);
  }
  store<f32>(out + (<usize>tid << 2), f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  store<i32>(out + 128 + (<usize>tid << 2), ranTogether ? 1 : 0);
}

// @ts-ignore: decorator
@noinline function separateChains(iterations: i32): v128 {
  const m = f32x4.splat(0.999);
  const c = f32x4.splat(0.001);
  let a0 = f32x4.splat(0.1), a1 = f32x4.splat(0.2), a2 = f32x4.splat(0.3), a3 = f32x4.splat(0.4);
  let a4 = f32x4.splat(0.5), a5 = f32x4.splat(0.6), a6 = f32x4.splat(0.7), a7 = f32x4.splat(0.8);
  let a8 = f32x4.splat(0.9), a9 = f32x4.splat(1.0), a10 = f32x4.splat(1.1), a11 = f32x4.splat(1.2);
  for (let i = 0; i < iterations; i++) {
    a0 = f32x4.add(f32x4.mul(a0, m), c);
    a1 = f32x4.add(f32x4.mul(a1, m), c);
    a2 = f32x4.add(f32x4.mul(a2, m), c);
    a3 = f32x4.add(f32x4.mul(a3, m), c);
    a4 = f32x4.add(f32x4.mul(a4, m), c);
    a5 = f32x4.add(f32x4.mul(a5, m), c);
    a6 = f32x4.add(f32x4.mul(a6, m), c);
    a7 = f32x4.add(f32x4.mul(a7, m), c);
    a8 = f32x4.add(f32x4.mul(a8, m), c);
    a9 = f32x4.add(f32x4.mul(a9, m), c);
    a10 = f32x4.add(f32x4.mul(a10, m), c);
    a11 = f32x4.add(f32x4.mul(a11, m), c);
  }
  return sum12(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);
}

// @ts-ignore: decorator
@noinline function fusedChains(iterations: i32): v128 {
  const m = f32x4.splat(0.999);
  const c = f32x4.splat(0.001);
  let a0 = f32x4.splat(0.1), a1 = f32x4.splat(0.2), a2 = f32x4.splat(0.3), a3 = f32x4.splat(0.4);
  let a4 = f32x4.splat(0.5), a5 = f32x4.splat(0.6), a6 = f32x4.splat(0.7), a7 = f32x4.splat(0.8);
  let a8 = f32x4.splat(0.9), a9 = f32x4.splat(1.0), a10 = f32x4.splat(1.1), a11 = f32x4.splat(1.2);
  for (let i = 0; i < iterations; i++) {
    a0 = madd(c, a0, m);
    a1 = madd(c, a1, m);
    a2 = madd(c, a2, m);
    a3 = madd(c, a3, m);
    a4 = madd(c, a4, m);
    a5 = madd(c, a5, m);
    a6 = madd(c, a6, m);
    a7 = madd(c, a7, m);
    a8 = madd(c, a8, m);
    a9 = madd(c, a9, m);
    a10 = madd(c, a10, m);
    a11 = madd(c, a11, m);
  }
  return sum12(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);
}

// @ts-expect-error: decorator
@inline function sum12(
  a0: v128, a1: v128, a2: v128, a3: v128, a4: v128, a5: v128, a6: v128, a7: v128, a8: v128, a9: v128, a10: v128, a11: v128,
): v128 {
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)));
}
