import { describe, expect, it } from 'vitest';
import { formatCount } from './format.js';

describe('formatCount', () => {
  it('writes what toLocaleString("en-US") writes, for whole and rounded numbers of any size and sign', () => {
    const values = [0, 1, 12, 999, 1000, 1234.4, 99_999.5, 1_000_000, 958_126_241, -1234, -999, 2 ** 53 - 1];
    for (let v = 1; v < 1e15; v *= 7) values.push(v, -v);
    for (const value of values) {
      expect(formatCount(value)).toBe(Math.round(value).toLocaleString('en-US'));
    }
  });
});
