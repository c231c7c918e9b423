// The wasm kernels added or replaced by registerWasmTrainingKernels, checked against the pure-JS cpu
// backend (an independent implementation of every op): forward values, gradients, and that neither
// tensors nor wasm buffers leak.
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clearWasmTransposeCache,
  registerWasmTrainingKernels,
  WASM_TRAINING_KERNELS,
} from './wasm-kernels.js';

/** Deterministic values in [-1, 1) so both backends see the same inputs. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

function randn(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(values(tf.util.sizeFromShape(shape), seed), shape);
}

type Computation = () => tf.Tensor | tf.Tensor[];

/** Runs `f` on a backend and returns its outputs as plain arrays with their shapes. */
async function runOn(backendName: string, f: Computation): Promise<{ shape: number[]; data: number[] }[]> {
  if (!(await tf.setBackend(backendName))) throw new Error(`backend ${backendName} did not start`);
  const outs = tf.tidy(() => {
    const r = f();
    return Array.isArray(r) ? r : [r];
  });
  const result = outs.map((t) => ({ shape: t.shape, data: Array.from(t.dataSync()) }));
  tf.dispose(outs);
  return result;
}

/** Asserts that `f` gives the same shapes and values on wasm as on cpu. */
async function expectSameOnBoth(f: Computation, tolerance = 1e-5): Promise<void> {
  const expected = await runOn('cpu', f);
  const actual = await runOn('wasm', f);
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(actual[i]!.shape).toEqual(expected[i]!.shape);
    const e = expected[i]!.data;
    const a = actual[i]!.data;
    expect(a.length).toBe(e.length);
    let maxDiff = 0;
    for (let j = 0; j < e.length; j++) maxDiff = Math.max(maxDiff, Math.abs(a[j]! - e[j]!));
    expect(maxDiff).toBeLessThanOrEqual(tolerance);
  }
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('registerWasmTrainingKernels', () => {
  it('registers UnsortedSegmentSum and replaces the slow kernels, once', () => {
    const report = registerWasmTrainingKernels();
    expect(report.added).toEqual([...WASM_TRAINING_KERNELS.added]);
    expect(report.replaced).toEqual([...WASM_TRAINING_KERNELS.replaced]);
    for (const name of [...report.added, ...report.replaced])
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    // A second call changes nothing (no double registration warnings, same report).
    expect(registerWasmTrainingKernels()).toBe(report);
  });
});

describe('gather on wasm', () => {
  const ids = [3, 0, 3, 1, 4, 4, 2, 0];
  it('forward matches cpu along axis 0 and 1, with 1-D and 2-D indices', async () => {
    await expectSameOnBoth(() => tf.gather(randn([5, 7], 1), tf.tensor1d(ids, 'int32'), 0));
    await expectSameOnBoth(() => tf.gather(randn([5, 7], 2), tf.tensor2d(ids, [2, 4], 'int32'), 0));
    await expectSameOnBoth(() => tf.gather(randn([2, 5, 3], 3), tf.tensor1d(ids, 'int32'), 1));
    await expectSameOnBoth(() => tf.gather(randn([5], 4), tf.tensor1d(ids, 'int32'), 0));
    await expectSameOnBoth(() => tf.gather(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), [2, 0, 2]));
  });

  it('gradient (UnsortedSegmentSum) matches cpu, repeated indices summed', async () => {
    for (const axis of [0, 1]) {
      await expectSameOnBoth(() => {
        const x = randn(axis === 0 ? [5, 6] : [6, 5], 5);
        const idx = tf.tensor2d(ids, [2, 4], 'int32');
        const weight = randn(axis === 0 ? [2, 4, 6] : [6, 2, 4], 6);
        return tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, idx, axis), weight)))(x);
      });
    }
  });

  it('gradient equals the literal one-hot form', async () => {
    // d/dE sum(gather(E, ids) * W) = onehot(ids)^T W, computed on wasm both ways.
    const onWasm = await runOn('wasm', () => {
      const emb = randn([5, 3], 7);
      const weight = randn([ids.length, 3], 8);
      const idx = tf.tensor1d(ids, 'int32');
      const viaGather = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, idx), weight)))(emb);
      const viaOneHot = tf.matMul(tf.oneHot(idx, 5), weight as tf.Tensor2D, true, false);
      return [viaGather, viaOneHot];
    });
    const [a, b] = onWasm;
    for (let i = 0; i < a!.data.length; i++) expect(a!.data[i]).toBeCloseTo(b!.data[i]!, 5);
  });

  it('rejects an index out of range with a clear error', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([3, 2]);
    expect(() => tf.gather(x, tf.tensor1d([0, 3], 'int32'))).toThrow(/index value 3 is not in \[0, 2\]/);
    x.dispose();
  });
});

describe('UnsortedSegmentSum on wasm', () => {
  it('matches cpu, dropping ids outside [0, numSegments)', async () => {
    await expectSameOnBoth(() =>
      tf.unsortedSegmentSum(randn([6, 4], 9), tf.tensor1d([2, -1, 0, 2, 7, 1], 'int32'), 3),
    );
    await expectSameOnBoth(() =>
      tf.unsortedSegmentSum(randn([6], 10), tf.tensor1d([0, 0, 1, 1, 1, 3], 'int32'), 4),
    );
    await expectSameOnBoth(() =>
      tf.unsortedSegmentSum(
        tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'),
        tf.tensor1d([1, 1, 0], 'int32'),
        2,
      ),
    );
  });
});

describe('matMul on wasm', () => {
  const cases: [boolean, boolean][] = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];
  for (const [ta, tb] of cases) {
    it(`transposeA=${ta} transposeB=${tb}: forward and gradients match cpu (2-D, batched, broadcast)`, async () => {
      const [m, k, n] = [5, 7, 3];
      const aShape = ta ? [k, m] : [m, k];
      const bShape = tb ? [n, k] : [k, n];
      await expectSameOnBoth(() => tf.matMul(randn(aShape, 11), randn(bShape, 12), ta, tb));
      await expectSameOnBoth(() => tf.matMul(randn([4, ...aShape], 13), randn([4, ...bShape], 14), ta, tb));
      await expectSameOnBoth(() => tf.matMul(randn([4, ...aShape], 15), randn([1, ...bShape], 16), ta, tb));
      await expectSameOnBoth(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b, ta, tb))));
        return g([randn(aShape, 17), randn(bShape, 18)]);
      }, 1e-4);
      await expectSameOnBoth(
        () =>
          tf.fused.matMul({
            a: randn(aShape, 19) as tf.Tensor2D,
            b: randn(bShape, 20) as tf.Tensor2D,
            transposeA: ta,
            transposeB: tb,
            bias: randn([n], 21),
            activation: 'relu',
          }),
        1e-5,
      );
    });
  }
});

describe('large products on wasm (in the GEMM of @rnnlm/kernels)', () => {
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`transposeA=${ta} transposeB=${tb}: 2-D and batched, forward and gradients match cpu`, async () => {
      // Over a million multiply-adds, odd sizes: the kernels' edge tiles run too.
      const [m, k, n] = [67, 130, 121];
      const aShape = ta ? [k, m] : [m, k];
      const bShape = tb ? [n, k] : [k, n];
      await expectSameOnBoth(() => tf.matMul(randn(aShape, 41), randn(bShape, 42), ta, tb), 1e-4);
      await expectSameOnBoth(
        () => tf.matMul(randn([2, ...aShape], 43), randn([2, ...bShape], 44), ta, tb),
        1e-4,
      );
      await expectSameOnBoth(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.sin(tf.matMul(a, b, ta, tb))));
        return g([randn(aShape, 45), randn(bShape, 46)]);
      }, 1e-4);
      // With a bias fused in, as a tfjs-layers dense layer computes, and its gradients.
      await expectSameOnBoth(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
          tf.sum(
            tf.sin(
              tf.fused.matMul({
                a: a as tf.Tensor2D,
                b: b as tf.Tensor2D,
                bias,
                transposeA: ta,
                transposeB: tb,
              }),
            ),
          ),
        );
        return [
          tf.fused.matMul({
            a: randn(aShape, 49) as tf.Tensor2D,
            b: randn(bShape, 50) as tf.Tensor2D,
            bias: randn([n], 51),
            transposeA: ta,
            transposeB: tb,
          }),
          ...g([randn(aShape, 52), randn(bShape, 53), randn([n], 54)]),
        ];
      }, 1e-4);
    });
  }

  it('leaks neither tensors nor wasm buffers', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const a = randn([200, 100], 47);
    const b = randn([100, 120], 48);
    tf.tidy(() => tf.matMul(a, b));
    const tensors = tf.memory().numTensors;
    const buffers = backend.numDataIds();
    for (let i = 0; i < 5; i++)
      tf.dispose(tf.tidy(() => tf.grads((x: tf.Tensor) => tf.sum(tf.matMul(x, b)))([a])));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(buffers);
    tf.dispose([a, b]);
  });
});

describe('the cache of transposed weights', () => {
  it('never serves a stale transpose: a variable assigned new values multiplies by the new ones', async () => {
    await expectSameOnBoth(() => {
      const w = tf.variable(randn([6, 5], 50));
      const g = randn([3, 5], 51);
      const before = tf.matMul(g, w, false, true);
      w.assign(randn([6, 5], 52));
      const after = tf.matMul(g, w, false, true);
      w.dispose();
      return [before, after];
    });
  });

  it('frees the copies of disposed weights and keeps at most a few', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    clearWasmTransposeCache();
    const g = randn([3, 5], 53);
    const buffersBefore = backend.numDataIds();
    for (let i = 0; i < 10; i++) {
      const w = randn([6, 5], 54 + i);
      tf.matMul(g, w, false, true).dispose();
      w.dispose();
    }
    // The copy of the last weight is freed by the next matmul, which finds its source gone.
    tf.matMul(g, g, false, true).dispose();
    expect(backend.numDataIds() - buffersBefore).toBe(1); // only the copy of g itself remains
    const kept = Array.from({ length: 8 }, (_, i) => randn([6, 5], 70 + i));
    for (const w of kept) tf.matMul(g, w, false, true).dispose();
    expect(backend.numDataIds() - buffersBefore).toBe(kept.length + 4);
    tf.dispose(kept);
    clearWasmTransposeCache();
    g.dispose();
    expect(backend.numDataIds()).toBe(buffersBefore - 1);
  });
});

describe('slicing on wasm', () => {
  it('slice matches cpu for every rank, whole and partial boxes', async () => {
    await expectSameOnBoth(() => tf.slice(randn([9], 22), [2], [5]));
    await expectSameOnBoth(() => tf.slice(randn([4, 6], 23), [1, 2], [2, 3]));
    await expectSameOnBoth(() => tf.slice(randn([4, 6], 24), [1, 0], [2, 6]));
    await expectSameOnBoth(() => tf.slice(randn([3, 4, 5], 25), [0, 1, 0], [3, 2, 5]));
    await expectSameOnBoth(() => tf.slice(randn([3, 4, 5, 2], 26), [1, 1, 2, 0], [2, 3, 2, 2]));
    await expectSameOnBoth(() => tf.slice(randn([2, 3, 4, 5, 2], 27), [1, 0, 1, 1, 1], [1, 3, 2, -1, 1]));
    await expectSameOnBoth(() => tf.slice(randn([4, 6], 28), [1, 2], [0, 3]));
    await expectSameOnBoth(() => tf.slice(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [0, 1], [2, 2]));
  });

  it('split, unstack and strided slices match cpu, gradients included', async () => {
    await expectSameOnBoth(() => tf.split(randn([3, 12], 29), 4, 1));
    await expectSameOnBoth(() => tf.split(randn([6, 5], 30), [1, 2, 3], 0));
    for (const axis of [0, 1, 2]) await expectSameOnBoth(() => tf.unstack(randn([3, 4, 5], 31), axis));
    await expectSameOnBoth(() => tf.stridedSlice(randn([4, 6], 32), [1, 0], [3, 6], [1, 1]));
    await expectSameOnBoth(() => tf.stridedSlice(randn([4, 6], 33), [0, 1], [4, 5], [1, 2]));
    await expectSameOnBoth(() => tf.stridedSlice(randn([4, 6], 34), [1, 0], [2, 6], [1, 1], 0, 0, 0, 0, 1));
    await expectSameOnBoth(() =>
      tf.grad((x: tf.Tensor) => {
        const parts = tf.split(x, 4, 1);
        const rows = tf.unstack(x, 0);
        return tf.add(tf.sum(tf.mul(parts[1]!, parts[3]!)), tf.sum(tf.square(rows[2]!)));
      })(randn([3, 8], 35)),
    );
  });
});

describe('identity (clone) on wasm', () => {
  it('shares the data instead of copying it, and each holder frees only its own reference', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const x = randn([4, 5], 31);
    const want = Array.from(x.dataSync());
    const buffers = backend.numDataIds();
    const copy = tf.clone(x);
    // One buffer for both: a clone made no copy.
    expect(backend.numDataIds()).toBe(buffers);
    expect(Array.from(copy.dataSync())).toEqual(want);
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual(want);
    expect(backend.numDataIds()).toBe(buffers);
    copy.dispose();
    expect(backend.numDataIds()).toBe(buffers - 1);
  });

  it('keeps saved tensors right through a gradient', async () => {
    await expectSameOnBoth(() => {
      const x = randn([3, 4], 32);
      const w = randn([4, 2], 33);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b))))([x, w]);
    });
  });
});

describe('a recurrent training step on wasm', () => {
  it('matches cpu and leaks neither tensors nor wasm buffers', async () => {
    // One fused-gate LSTM layer over 4 steps: gather, matmul, split, unstack, concat and their
    // gradients, the kernels a language model's step runs.
    const [vocab, hidden, batch, steps] = [6, 4, 3, 4];
    const step = () => {
      const emb = randn([vocab, 4 * hidden], 40);
      const wh = randn([hidden, 4 * hidden], 41);
      const head = randn([hidden, vocab], 42);
      const ids = tf.tensor2d([0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0], [batch, steps], 'int32');
      const loss = (e: tf.Tensor, w: tf.Tensor, q: tf.Tensor) => {
        const xs = tf.unstack(tf.gather(e, tf.transpose(ids)), 0); // steps x [batch, 4H]
        let h = tf.zeros([batch, hidden]);
        let c = tf.zeros([batch, hidden]);
        const outs: tf.Tensor[] = [];
        for (const x of xs) {
          const [i, f, o, g] = tf.split(tf.add(x, tf.matMul(h, w)), 4, 1);
          c = tf.add(tf.mul(tf.sigmoid(f!), c), tf.mul(tf.sigmoid(i!), tf.tanh(g!)));
          h = tf.mul(tf.sigmoid(o!), tf.tanh(c));
          outs.push(h);
        }
        const logits = tf.matMul(tf.concat(outs, 0), q);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(tf.transpose(ids), [-1]), vocab), logits);
      };
      return tf.grads(loss)([emb, wh, head]);
    };
    await expectSameOnBoth(step, 1e-5);

    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    await runOn('wasm', step); // warm up
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = backend.numDataIds();
    for (let i = 0; i < 5; i++) await runOn('wasm', step);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backend.numDataIds()).toBe(buffersBefore);
  });
});
