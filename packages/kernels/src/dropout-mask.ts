/**
 * Dropout masks from a counter-based hash: value i of the mask with key `key` is 0 when
 * `maskBits(key, i)` falls below `maskThreshold(rate)`, else 1/(1-rate) as a float32. Each value is a
 * function of (key, i) alone, so a mask can be drawn in pieces, on any number of threads, in any
 * language, and come out the same: here in JavaScript, and in the kernels (assembly/dropout.ts, SIMD
 * on every thread) when they run.
 */
import type { KernelRuntime } from './runtime.js';

/**
 * The 32 random bits of value `index` of the mask with key `key`: splitmix32's output function on the
 * key plus (index + 1) times the golden ratio, mod 2^32.
 */
export function maskBits(key: number, index: number): number {
  let z = (key + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A value is dropped when its bits are below this: rate * 2^32 rounded up (a whole number of the 2^32
 * draws, so the chance is rate to within 2^-32), at most 2^32 - 1.
 */
export function maskThreshold(rate: number): number {
  if (!(rate >= 0 && rate < 1)) throw new Error(`rnnlm kernels: a dropout rate is in [0, 1), got ${rate}`);
  return Math.min(Math.ceil(rate * 4294967296), 4294967295);
}

/**
 * The first `count` values of the mask with key `key` (a 32-bit integer) and drop rate `rate`; in the
 * kernels when `rt` is given, else in JavaScript. The result is the caller's own (not kernel memory).
 */
export function dropoutMaskValues(
  key: number,
  rate: number,
  count: number,
  rt: KernelRuntime | null = null,
): Float32Array {
  if (rt === null) {
    const threshold = maskThreshold(rate);
    const keep = Math.fround(1 / (1 - rate));
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = maskBits(key, i) < threshold ? 0 : keep;
    return out;
  }
  // Copied out with set: slice on a view of shared (threaded) memory takes a slow path in V8.
  const values = new Float32Array(count);
  values.set(dropoutMaskView(rt, key, rate, count));
  return values;
}

/**
 * `dropoutMaskValues` drawn in the kernels, as a view of their memory: valid until the next operation
 * on `rt` (copy it where it is needed, once).
 */
export function dropoutMaskView(rt: KernelRuntime, key: number, rate: number, count: number): Float32Array {
  const threshold = maskThreshold(rate);
  const keep = Math.fround(1 / (1 - rate));
  const a = rt.begin();
  const out = a.alloc(count);
  const keepBits = new Int32Array(Float32Array.of(keep).buffer)[0]!;
  // A hash is about 8 integer operations a value.
  rt.run('dropoutMask', { key: key | 0, threshold: threshold | 0, keepBits, N: count, out }, count * 8);
  return a.f32(out, count);
}
