import { describe, expect, it } from 'vitest';
import { embeddingGrad, embeddingLookup } from './index.js';
import { maxDiff, startRuntimes, uniform } from './test-utils/helpers.js';

const runtimes = startRuntimes();

describe('embeddingLookup and embeddingGrad', () => {
  it('gather rows by id, and sum gradient rows back into the rows of their ids', () => {
    const r = uniform(5);
    // Small, and large enough that the threaded runtime shares the work out: by columns (a table too
    // large for a copy per part of the rows) and by parts of the rows (a character vocabulary).
    for (const [V, E, N] of [
      [3, 1, 4],
      [11, 7, 13],
      [500, 130, 2100],
      [28, 256, 1120],
    ] as const) {
      const table = Float32Array.from({ length: V * E }, () => r(1));
      // Repeated ids (their gradients must add up) and some rows never looked up (their gradient is 0).
      const ids = Int32Array.from({ length: N }, (_, n) => (n * 7 + (n >> 1)) % Math.max(1, V - 1));
      const dy = Float32Array.from({ length: N * E }, () => r(1));
      const rows = new Float64Array(N * E);
      const dTable = new Float64Array(V * E);
      for (let n = 0; n < N; n++) {
        for (let e = 0; e < E; e++) {
          rows[n * E + e] = table[ids[n]! * E + e]!;
          dTable[ids[n]! * E + e]! += dy[n * E + e]!;
        }
      }
      for (const rt of [runtimes.single, runtimes.threaded]) {
        expect(maxDiff(Float32Array.from(embeddingLookup(rt, table, ids, V, E)), rows)).toBe(0);
        expect(maxDiff(Float32Array.from(embeddingGrad(rt, dy, ids, V, E)), dTable)).toBeLessThan(1e-5);
      }
      // The same sums in the same order however many threads share them.
      const single = embeddingGrad(runtimes.single, dy, ids, V, E).slice();
      expect(maxDiff(embeddingGrad(runtimes.threaded, dy, ids, V, E), single)).toBe(0);
      // The last row is never looked up: its gradient is exactly zero, not left-over memory.
      const grad = embeddingGrad(runtimes.threaded, dy, ids, V, E);
      expect(Array.from(grad.subarray((V - 1) * E)).every((g) => g === 0)).toBe(true);
    }
  });

  it('rejects ids outside the table', () => {
    expect(() => embeddingLookup(runtimes.single, new Float32Array(6), [0, 3], 3, 2)).toThrow(
      /token id 3 at position 1/,
    );
    expect(() => embeddingGrad(runtimes.single, new Float32Array(4), [-1, 0], 3, 2)).toThrow(
      /token id -1 at position 0/,
    );
  });
});
