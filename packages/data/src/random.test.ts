import { describe, expect, it } from 'vitest';
import { Random } from './random.js';

describe('Random', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const seqA = Array.from({ length: 20 }, () => a.nextUint32());
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.nextUint32())).not.toEqual(seqA);
  });

  it('continues exactly from a saved state', () => {
    const a = new Random(7);
    for (let i = 0; i < 5; i++) a.next();
    const resumed = new Random(a.getState());
    expect(Array.from({ length: 10 }, () => resumed.next())).toEqual(
      Array.from({ length: 10 }, () => a.next()),
    );
  });

  it('draws uniform integers and floats in range with the right moments', () => {
    const r = new Random(1);
    const n = 20000;
    const counts = new Array(10).fill(0);
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const k = r.int(10);
      counts[k]++;
      const f = r.next();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      const z = r.normal();
      sum += z;
      sumSq += z * z;
    }
    for (const count of counts) expect(Math.abs(count - n / 10)).toBeLessThan(n / 10 / 5);
    expect(Math.abs(sum / n)).toBeLessThan(0.05);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.05);
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = new Random(3).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
  });

  it('rejects bad seeds and bounds with a clear message', () => {
    expect(() => new Random(Number.NaN)).toThrow(/finite/);
    expect(() => new Random([0, 0, 0, 0])).toThrow(/not all zero/);
    expect(() => new Random(1).int(0)).toThrow(/positive integer/);
  });
});
