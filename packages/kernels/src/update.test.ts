import { describe, expect, it } from 'vitest';
import { parameterUpdate, sumOfSquares } from './index.js';
import { startRuntimes, uniform } from './test-utils/helpers.js';

const runtimes = startRuntimes();
const f = Math.fround;

// Sizes that leave tails (not multiples of 4) and, all together, enough work for the threads to share.
const SIZES = [5, 3001, 20000];

function randomArrays(seed: number, scale: number, positive = false): Float32Array[] {
  const r = uniform(seed);
  return SIZES.map((n) => Float32Array.from({ length: n }, () => (positive ? Math.abs(r(scale)) : r(scale))));
}

describe('sumOfSquares', () => {
  it('equals the float64 sum of the squares over every array', () => {
    const arrays = randomArrays(1, 3);
    let want = 0;
    for (const a of arrays) for (const x of a) want += x * x;
    for (const rt of [runtimes.single, runtimes.threaded]) {
      const got = sumOfSquares(rt, arrays);
      expect(Math.abs(got - want) / want).toBeLessThan(1e-6);
    }
    expect(sumOfSquares(runtimes.single, [])).toBe(0);
  });
});

// The rules written out in scalar float32 arithmetic (fround after every operation), in the op path's order.
function sgdReference(w: number, g: number, scale: number, l2: number, lr: number): number {
  const gg = f(f(g * f(scale)) + f(w * f(l2)));
  return f(w - f(gg * f(lr)));
}

describe('parameterUpdate', () => {
  it('applies SGD with clip scale and L2 decay exactly as float32 arithmetic does', () => {
    const weights = randomArrays(2, 1);
    const grads = randomArrays(3, 0.5);
    const rule = { kind: 'sgd', scale: 0.37, l2: 0.01, lr: 0.5 } as const;
    for (const rt of [runtimes.single, runtimes.threaded]) {
      const got = parameterUpdate(rt, { weights, grads }, rule);
      for (const [i, w] of weights.entries()) {
        const want = w.map((x, j) => sgdReference(x, grads[i]![j]!, rule.scale, rule.l2, rule.lr));
        expect(got.weights[i]).toEqual(want);
      }
      expect(got.m).toEqual([]);
    }
  });

  it('applies Adam (bias correction, L2 or decoupled decay) exactly as float32 arithmetic does', () => {
    const weights = randomArrays(4, 1);
    const grads = randomArrays(5, 0.5);
    const m = randomArrays(6, 0.1);
    const v = randomArrays(7, 0.01, true);
    for (const [l2, decay] of [
      [0, 1],
      [0.1, 1],
      [0, 1 - 0.01 * 0.05],
    ] as const) {
      const rule = {
        kind: 'adam',
        scale: 0.8,
        l2,
        decay,
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        step: 3,
      } as const;
      const bc1 = f(1 - 0.9 ** 3);
      const bc2 = f(1 - 0.999 ** 3);
      for (const rt of [runtimes.single, runtimes.threaded]) {
        const got = parameterUpdate(rt, { weights, grads, m, v }, rule);
        for (const [i, w] of weights.entries()) {
          const n = w.length;
          const [wantW, wantM, wantV] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
          for (let j = 0; j < n; j++) {
            const g = f(f(grads[i]![j]! * f(rule.scale)) + f(w[j]! * f(l2)));
            const mj = f(f(m[i]![j]! * f(0.9)) + f(g * f(1 - 0.9)));
            const vj = f(f(v[i]![j]! * f(0.999)) + f(f(g * g) * f(1 - 0.999)));
            const step = f(f(mj / bc1) / f(f(Math.sqrt(f(vj / bc2))) + f(1e-8)));
            wantW[j] = f(f(w[j]! * f(decay)) - f(step * f(rule.lr)));
            wantM[j] = mj;
            wantV[j] = vj;
          }
          expect(got.weights[i]).toEqual(wantW);
          expect(got.m[i]).toEqual(wantM);
          expect(got.v[i]).toEqual(wantV);
        }
      }
    }
  });

  it('rejects inputs that do not match the weights', () => {
    const weights = [new Float32Array(4)];
    expect(() =>
      parameterUpdate(
        runtimes.single,
        { weights, grads: [new Float32Array(3)] },
        { kind: 'sgd', scale: 1, l2: 0, lr: 1 },
      ),
    ).toThrow(/grads\[0\] has 3 values, its variable 4/);
    expect(() =>
      parameterUpdate(
        runtimes.single,
        { weights, grads: [new Float32Array(4)] },
        { kind: 'adam', scale: 1, l2: 0, decay: 1, lr: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1 },
      ),
    ).toThrow(/Adam needs its moments/);
  });
});
