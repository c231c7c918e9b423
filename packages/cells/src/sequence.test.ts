import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { gruSequence, lstmSequence, rnnSequence } from './sequence.js';

const [T, B, H] = [4, 2, 3];
const random = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 0.7, 'float32', seed);

describe('sequence functions', () => {
  it.each([
    ['rnn', 1],
    ['gru', 3],
    ['lstm', 4],
  ] as const)(
    '%s with reverse equals the forward run over reversed steps, outputs re-reversed',
    (cell, gates) => {
      tf.tidy(() => {
        const xProj = random([T, B, gates * H], 1) as tf.Tensor3D;
        const h0 = random([B, H], 2) as tf.Tensor2D;
        const c0 = random([B, H], 3) as tf.Tensor2D;
        const W_h = random([H, gates * H], 4) as tf.Tensor2D;
        const run = (x: tf.Tensor3D, reverse: boolean) =>
          cell === 'lstm'
            ? lstmSequence(x, h0, c0, W_h, { reverse })
            : cell === 'gru'
              ? gruSequence(x, h0, W_h, { reverse })
              : rnnSequence(x, h0, W_h, { reverse });
        const backward = run(xProj, true);
        const reference = run(tf.reverse(xProj, 0), false);
        const diff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
        expect(backward.outputs.shape).toEqual([T, B, H]);
        expect(diff(backward.outputs, tf.reverse(reference.outputs, 0))).toBe(0);
        expect(diff(backward.h, reference.h)).toBe(0);
        // The last state of a reversed run is the output at step 0, not at step T-1.
        expect(diff(backward.h, tf.squeeze(tf.slice(backward.outputs, [0, 0, 0], [1, B, H]), [0]))).toBe(0);
        expect(diff(backward.h, run(xProj, false).h)).toBeGreaterThan(1e-3);
      });
    },
  );

  it('names the wrong argument when shapes do not fit', () => {
    tf.tidy(() => {
      const h0 = tf.zeros([B, H]) as tf.Tensor2D;
      expect(() => lstmSequence(tf.zeros([T, B, 3 * H]), h0, h0, tf.zeros([H, 4 * H]))).toThrow(
        /lstmSequence: xProj must be \[T >= 1, B = 2, 4H = 12\].*got \[4, 2, 9\]/,
      );
      expect(() => gruSequence(tf.zeros([T, B, 3 * H]), h0, tf.zeros([H, 4 * H]))).toThrow(
        /gruSequence: the recurrent weight must be \[H = 3, 3H = 9\], got \[3, 12\]/,
      );
      expect(() => rnnSequence(tf.zeros([T, B + 1, H]), h0, tf.zeros([H, H]))).toThrow(/B = 2/);
      expect(() =>
        lstmSequence(tf.zeros([T, B, 4 * H]), h0, tf.zeros([B, H + 1]), tf.zeros([H, 4 * H])),
      ).toThrow(/initial states must be \[B, H\] and alike/);
      expect(() => rnnSequence(tf.zeros([0, B, H]), h0, tf.zeros([H, H]))).toThrow(/T >= 1/);
    });
  });
});
