// BatchMatMul and _FusedMatMul on wasm against cpu: small products (explicit transposes), large ones
// (the GEMM of @rnnlm/kernels), and the cache of transposed weights.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, onWasmWithTrainingKernels, randn } from '../test-utils/wasm-compare.js';
import { clearWasmTransposeCache } from './transpose.js';

onWasmWithTrainingKernels();

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
