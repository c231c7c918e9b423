// Dropout masks: value i of a mask is 0 or `keep` (1/(1-p)) from a counter-based hash of the mask's
// key and i, written out in src/dropout-mask.ts (maskBits), which this must equal bit for bit.

import { splitRange } from './threads';

// splitmix32: the key plus (i + 1) times the golden ratio, then its output function.
const GOLDEN: i32 = 0x9e3779b9;
const MIX1: i32 = 0x85ebca6b;
const MIX2: i32 = 0xc2b2ae35;

// @ts-ignore: decorator
@inline function bits(key: u32, i: u32): u32 {
  let z: u32 = key + (i + 1) * <u32>GOLDEN;
  z = (z ^ (z >>> 16)) * <u32>MIX1;
  z = (z ^ (z >>> 13)) * <u32>MIX2;
  return z ^ (z >>> 16);
}

/**
 * out[i] = bits(key, i) < threshold ? 0 : keep for i in [0, N), with threshold an unsigned 32-bit
 * integer and keep the bits of an f32 (the threads' job arguments are integers). The threads share
 * blocks of 4 values (one SIMD vector).
 */
export function dropoutMask(
  key: i32,
  threshold: i32,
  keepBits: i32,
  N: i32,
  out: usize,
  tid: i32,
  nt: i32,
): void {
  const blocks = (N + 3) >> 2;
  const i0 = splitRange(blocks, tid, nt, 0) << 2;
  const i1 = min(N, splitRange(blocks, tid, nt, 1) << 2);
  const k = i32x4.splat(key);
  const golden = i32x4.splat(GOLDEN);
  const mix1 = i32x4.splat(MIX1);
  const mix2 = i32x4.splat(MIX2);
  const thr = i32x4.splat(threshold);
  const keep = i32x4.splat(keepBits);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const counter = i32x4.add(i32x4.splat(i + 1), i32x4(0, 1, 2, 3));
    let z = i32x4.add(k, i32x4.mul(counter, golden));
    z = i32x4.mul(v128.xor(z, i32x4.shr_u(z, 16)), mix1);
    z = i32x4.mul(v128.xor(z, i32x4.shr_u(z, 13)), mix2);
    z = v128.xor(z, i32x4.shr_u(z, 16));
    // All ones where the value is kept: its lanes keep `keep`, the others become 0.
    v128.store(out + (<usize>i << 2), v128.and(i32x4.ge_u(z, thr), keep));
  }
  for (; i < i1; i++) {
    store<i32>(out + (<usize>i << 2), bits(<u32>key, <u32>i) < <u32>threshold ? 0 : keepBits);
  }
}
