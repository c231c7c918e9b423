// The machine's WebAssembly SIMD peak for the kernels' kind of arithmetic: f32x4 multiplies and adds
// (wasm SIMD has no fused multiply-add). Twelve independent chains acc = acc * m + c keep the
// multiply and add units busy without loads, so the time measures arithmetic throughput alone: the
// ceiling the matrix products are measured against (bench:compare reports training as a percentage
// of it). The chains converge to c / (1 - m), so no value overflows or turns denormal.

/** FLOPs one iteration does: 12 chains x 4 lanes x (1 multiply + 1 add). */
// @ts-expect-error: decorator
@inline export const PEAK_FLOPS_PER_ITERATION: i32 = 96;

/**
 * Runs `iterations` rounds of the twelve chains on every thread and stores thread tid's sum at
 * out + 4 tid, so that the work cannot be optimised away.
 */
export function simdPeak(iterations: i32, out: usize, tid: i32, nt: i32): void {
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
  let s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  s = f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)));
  store<f32>(out + (<usize>tid << 2), f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  // nt is part of every job's signature; one thread's work does not depend on it.
  if (nt < 0) unreachable();
}
