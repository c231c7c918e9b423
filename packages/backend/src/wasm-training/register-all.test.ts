// registerWasmTrainingKernels, and a recurrent training step through all its kernels against cpu.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectSameOnBoth, onWasmWithTrainingKernels, randn, runOn } from '../test-utils/wasm-compare.js';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './register-all.js';

onWasmWithTrainingKernels();

describe('registerWasmTrainingKernels', () => {
  it('registers UnsortedSegmentSum and replaces the slow kernels, once', () => {
    expect(WASM_TRAINING_KERNELS).toEqual({
      added: ['UnsortedSegmentSum'],
      replaced: [
        'BatchMatMul',
        '_FusedMatMul',
        'GatherV2',
        'Slice',
        'SplitV',
        'Unpack',
        'StridedSlice',
        'Identity',
      ],
    });
    const report = registerWasmTrainingKernels();
    expect(report.added).toEqual([...WASM_TRAINING_KERNELS.added]);
    expect(report.replaced).toEqual([...WASM_TRAINING_KERNELS.replaced]);
    for (const name of [...report.added, ...report.replaced])
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    // A second call changes nothing (no double registration warnings, same report).
    expect(registerWasmTrainingKernels()).toBe(report);
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
