import { describe, expect, it } from 'vitest';
import { matMul } from './index.js';
import { maxDiff, startRuntimes, uniform } from './test-utils/helpers.js';

const runtimes = startRuntimes();

describe('matMul', () => {
  const naive = (
    a: Float32Array,
    b: Float32Array,
    M: number,
    N: number,
    K: number,
    tA: boolean,
    tB: boolean,
  ) => {
    const c = new Float64Array(M * N);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[tA ? k * M + i : i * K + k]! * b[tB ? j * K + k : k * N + j]!;
        c[i * N + j] = s;
      }
    return c;
  };
  it('adds a bias to every row', () => {
    const r = uniform(77);
    const [M, N, K] = [70, 150, 33];
    const a = Float32Array.from({ length: M * K }, () => r(1));
    const b = Float32Array.from({ length: K * N }, () => r(1));
    const bias = Float32Array.from({ length: N }, () => r(1));
    const want = naive(a, b, M, N, K, false, false).map((v, i) => v + bias[i % N]!);
    for (const rt of [runtimes.single, runtimes.threaded])
      expect(maxDiff(matMul(rt, { a, b, M, N, K, bias }), want)).toBeLessThan(1e-4);
  });

  for (const [M, N, K] of [
    [1, 1, 1],
    [7, 13, 5],
    [33, 70, 300],
    [130, 9, 600],
    // A and B wide enough that a transposed A is packed, and A large enough that two threads share
    // the packing; A's last group of rows (521 = 130 * 4 + 1) is partly padding.
    [521, 520, 260],
  ] as const) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        it(`[${M} x ${K}] x [${K} x ${N}]${tA ? ', A transposed' : ''}${tB ? ', B transposed' : ''}`, () => {
          const r = uniform(M * 1000 + N * 10 + K);
          const a = Float32Array.from({ length: M * K }, () => r(1));
          const b = Float32Array.from({ length: K * N }, () => r(1));
          const want = naive(a, b, M, N, K, tA, tB);
          const [single, threaded] = [runtimes.single, runtimes.threaded].map((rt) => {
            const got = matMul(rt, { a, b, M, N, K, transposeA: tA, transposeB: tB });
            expect(maxDiff(got, want)).toBeLessThan(1e-5 * Math.sqrt(K));
            return got;
          });
          // Every value is computed the same way whatever the threads' shares.
          expect(threaded).toEqual(single);
        });
      }
    }
  }
});
