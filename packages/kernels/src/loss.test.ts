import { describe, expect, it } from 'vitest';
import { crossEntropyWithGrad } from './index.js';
import { maxDiff, startRuntimes, uniform } from './test-utils/helpers.js';

const runtimes = startRuntimes();

describe('crossEntropyWithGrad', () => {
  it('equals log-softmax written out in float64, with the gradient (softmax - onehot) / N', () => {
    const r = uniform(3);
    for (const [N, V] of [
      [1, 1],
      [7, 5],
      // A character model's batch (32 x 35 steps, 28 characters): shared out over the threads.
      [1120, 28],
      [40, 4580],
    ] as const) {
      // Large logits too: the max is subtracted before exp.
      const logits = Float32Array.from({ length: N * V }, () => r(30));
      const labels = Int32Array.from({ length: N }, (_, n) => (n * 31) % V);
      let loss = 0;
      const grad = new Float64Array(N * V);
      for (let n = 0; n < N; n++) {
        const row = Array.from(logits.subarray(n * V, (n + 1) * V));
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
        loss += (lse - row[labels[n]!]!) / N;
        for (let j = 0; j < V; j++)
          grad[n * V + j] = (Math.exp(row[j]! - lse) - (j === labels[n] ? 1 : 0)) / N;
      }
      for (const rt of [runtimes.single, runtimes.threaded]) {
        const got = crossEntropyWithGrad(rt, logits, labels, N, V);
        expect(Math.abs(got.loss - loss) / Math.max(1, loss)).toBeLessThan(1e-6);
        expect(maxDiff(got.grad, grad)).toBeLessThan(1e-7);
      }
    }
  });

  it('rejects labels outside the vocabulary', () => {
    expect(() => crossEntropyWithGrad(runtimes.single, new Float32Array(6), [0, 3], 2, 3)).toThrow(
      /token id 3 at position 1/,
    );
  });
});
