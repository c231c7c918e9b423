// GatherV2 and its gradient, UnsortedSegmentSum, on wasm against cpu.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, onWasmWithTrainingKernels, randn, runOn } from '../test-utils/wasm-compare.js';

onWasmWithTrainingKernels();

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
