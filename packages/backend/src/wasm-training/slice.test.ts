// Slice, SplitV, Unpack, StridedSlice and Identity on wasm against cpu.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, onWasmWithTrainingKernels, randn } from '../test-utils/wasm-compare.js';

onWasmWithTrainingKernels();

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
