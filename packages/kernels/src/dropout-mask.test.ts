import { describe, expect, it } from 'vitest';
import { dropoutMaskValues, maskBits, maskThreshold } from './index.js';
import { startRuntimes } from './test-utils/helpers.js';

const runtimes = startRuntimes();

/** splitmix32's output for state key + (index + 1) * golden, in BigInt arithmetic mod 2^32. */
function splitmix32(key: number, index: number): number {
  const M = 0xffffffffn;
  let z = (BigInt(key >>> 0) + BigInt(index + 1) * 0x9e3779b9n) & M;
  z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M;
  z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M;
  return Number(z ^ (z >> 16n));
}

describe('dropout mask values', () => {
  it('are splitmix32 of the key and the index, dropped below rate * 2^32', () => {
    for (const key of [0, 1, 0x7fffffff, 0xdeadbeef]) {
      for (let i = 0; i < 200; i += 7) expect(maskBits(key, i)).toBe(splitmix32(key, i));
      expect(maskBits(key, 4_000_000)).toBe(splitmix32(key, 4_000_000));
    }
    expect(maskThreshold(0)).toBe(0);
    expect(maskThreshold(0.5)).toBe(2 ** 31);
    expect(maskThreshold(0.3)).toBe(Math.ceil(0.3 * 2 ** 32));
    expect(maskThreshold(1 - 2 ** -40)).toBe(2 ** 32 - 1);
    expect(() => maskThreshold(1)).toThrow(/dropout rate is in \[0, 1\), got 1/);
    const values = dropoutMaskValues(0xdeadbeef, 0.3, 1000);
    const keep = Math.fround(1 / 0.7);
    for (const [i, v] of values.entries())
      expect(v).toBe(splitmix32(0xdeadbeef, i) < 0.3 * 2 ** 32 ? 0 : keep);
  });

  it('drawn in the kernels, on one thread or two, equal those drawn in JavaScript bit for bit', () => {
    // Sizes with tails (not multiples of 4) and one large enough for the threads to share.
    for (const count of [0, 1, 5, 1023, 300_001]) {
      for (const [key, rate] of [
        [12345, 0.3],
        [0xfedcba98, 0.5],
        [7, 0],
        [99, 0.9],
      ] as const) {
        const js = dropoutMaskValues(key, rate, count);
        for (const rt of [runtimes.single, runtimes.threaded]) {
          const kernel = dropoutMaskValues(key, rate, count, rt);
          expect(kernel.length).toBe(count);
          expect(Buffer.from(kernel.buffer).equals(Buffer.from(js.buffer)), `${count} ${key} ${rate}`).toBe(
            true,
          );
        }
      }
    }
  });

  it('drop a fraction rate of the values and keep the mean at 1', () => {
    for (const rate of [0.1, 0.3, 0.7]) {
      const values = dropoutMaskValues(42, rate, 200_000, runtimes.threaded);
      let dropped = 0;
      let sum = 0;
      for (const v of values) {
        if (v === 0) dropped++;
        sum += v;
      }
      // Binomial: sd of the fraction sqrt(p(1-p)/n) < 0.0012; allow 4 of them.
      expect(Math.abs(dropped / values.length - rate)).toBeLessThan(0.0048);
      expect(Math.abs(sum / values.length - 1)).toBeLessThan(0.0048 / (1 - rate));
    }
  });
});
