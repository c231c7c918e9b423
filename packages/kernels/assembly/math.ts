// exp, sigmoid and tanh for 4 lanes at once, and the same formulas for one lane (the scalar tails of
// rows whose width is not a multiple of 4), so that a value gets the same result in either path.
//
// exp is Cephes' expf: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two parts for exactness), a
// degree-6 polynomial for e^r, and 2^n built in the exponent bits; relative error about 1e-7 over the
// clamped range [-87.3, 88.3] (beyond it sigmoid and tanh are 0, 1 or -1 to float precision anyway).

// @ts-expect-error: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// @ts-expect-error: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-expect-error: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;
// @ts-expect-error: decorator
@inline const P0: f32 = 1.9875691500e-4;
// @ts-expect-error: decorator
@inline const P1: f32 = 1.3981999507e-3;
// @ts-expect-error: decorator
@inline const P2: f32 = 8.3334519073e-3;
// @ts-expect-error: decorator
@inline const P3: f32 = 4.1665795894e-2;
// @ts-expect-error: decorator
@inline const P4: f32 = 1.6666665459e-1;
// @ts-expect-error: decorator
@inline const P5: f32 = 5.0000001201e-1;
// @ts-expect-error: decorator
@inline const LO: f32 = -87.3;
// @ts-expect-error: decorator
@inline const HI: f32 = 88.3;

/**
 * 1.5 * 2^23: a float of [2^23, 2^24) has a unit last place, so adding it rounds to an integer (to
 * nearest, ties to even, as f32x4.nearest does) and leaves that integer in the low bits.
 */
// @ts-expect-error: decorator
@inline const ROUNDER: f32 = 12582912.0;

// Vector exp takes n and 2^n from ROUNDER's sum: the same values as nearest and an integer conversion
// (n is -126 to 127 after the clamp), in two additions, where V8 makes i32x4.trunc_sat_f32x4_s five
// instructions (its NaN and overflow fixes) and nearest one more.
// @ts-expect-error: decorator
@inline export function expv(x: v128): v128 {
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(LO)), f32x4.splat(HI));
  const m = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(ROUNDER));
  const n = f32x4.sub(m, f32x4.splat(ROUNDER));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.add(f32x4.mul(f32x4.splat(P0), r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  p = f32x4.add(f32x4.mul(f32x4.mul(p, r), r), f32x4.add(r, f32x4.splat(1)));
  // m's bits are ROUNDER's (0x4b400000) plus n: less those, plus the exponent bias, is 2^n's exponent.
  const scale = i32x4.shl(i32x4.add(m, i32x4.splat(127 - 0x4b400000)), 23);
  return f32x4.mul(p, scale);
}

// @ts-expect-error: decorator
@inline export function exps(x: f32): f32 {
  const xc = min(max(x, LO), HI);
  const n = nearest<f32>(xc * LOG2E);
  let r = xc - n * LN2_HI;
  r = r - n * LN2_LO;
  let p = P0 * r + P1;
  p = p * r + P2;
  p = p * r + P3;
  p = p * r + P4;
  p = p * r + P5;
  p = p * r * r + (r + 1);
  return p * reinterpret<f32>((<i32>n + 127) << 23);
}

/** 1 / (1 + e^-x). */
// @ts-expect-error: decorator
@inline export function sigmoidv(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, expv(f32x4.neg(x))));
}

// @ts-expect-error: decorator
@inline export function sigmoids(x: f32): f32 {
  return 1 / (1 + exps(-x));
}

/** 1 - 2 / (e^2x + 1): exact at the saturated ends, absolute error about 1e-7 near 0. */
// @ts-expect-error: decorator
@inline export function tanhv(x: v128): v128 {
  const one = f32x4.splat(1);
  const e = expv(f32x4.add(x, x));
  return f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(e, one)));
}

// @ts-expect-error: decorator
@inline export function tanhs(x: f32): f32 {
  return 1 - 2 / (exps(x + x) + 1);
}

/**
 * acc + x * y for 4 lanes, the kernels' products' step. In the relaxed-SIMD build (scripts/build-wasm.mjs)
 * one f32x4.relaxed_madd: a fused multiply-add, rounded once, where the CPU has one (V8 emits vfmadd on
 * x64 with FMA), else a multiply and an add; in the plain build a multiply and an add (WebAssembly SIMD
 * itself has no fused multiply-add). The two builds' results differ by rounding only.
 */
// @ts-expect-error: decorator
@inline export function madd(acc: v128, x: v128, y: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, y, acc);
  return f32x4.add(acc, f32x4.mul(x, y));
}
