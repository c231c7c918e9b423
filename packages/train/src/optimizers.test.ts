import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { clipByGlobalNorm } from './clip.js';
import { crossEntropy, timeMajor } from './loss.js';
import { Optimizer } from './optimizers.js';

/** Runs `steps` updates on w = [w0, w1] with the fixed gradient function g(w) = 2w - 1 and returns w. */
function run(name: 'sgd' | 'adam' | 'adamw', steps: number, weightDecay?: number): number[] {
  const w = tf.variable(tf.tensor1d([0.5, -1.5]));
  const opt = new Optimizer({ name, lr: 0.1, ...(weightDecay !== undefined ? { weightDecay } : {}) }, [w]);
  for (let i = 0; i < steps; i++) {
    const g = tf.tidy(() => tf.sub(tf.mul(w, 2), 1));
    opt.apply([g]);
    g.dispose();
  }
  const out = Array.from(w.dataSync());
  opt.dispose();
  w.dispose();
  return out;
}

/** The same updates by hand, with PyTorch's formulas. */
function byHand(
  name: 'sgd' | 'adam' | 'adamw',
  steps: number,
  weightDecay = name === 'adamw' ? 0.01 : 0,
): number[] {
  const lr = 0.1;
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  return [0.5, -1.5].map((w0) => {
    let w = w0;
    let m = 0;
    let v = 0;
    for (let t = 1; t <= steps; t++) {
      let g = 2 * w - 1;
      if (name !== 'adamw') g += weightDecay * w;
      if (name === 'sgd') {
        w -= lr * g;
        continue;
      }
      if (name === 'adamw') w *= 1 - lr * weightDecay;
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      const mHat = m / (1 - b1 ** t);
      const vHat = v / (1 - b2 ** t);
      w -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
    return w;
  });
}

describe('Optimizer', () => {
  it.each([
    ['sgd', undefined],
    ['sgd', 0.1],
    ['adam', undefined],
    ['adam', 0.1],
    ['adamw', undefined],
    ['adamw', 0.5],
  ] as const)('%s (weight decay %s) matches a hand computation over 7 steps', (name, weightDecay) => {
    const got = run(name, 7, weightDecay);
    const want = byHand(name, 7, weightDecay);
    for (let i = 0; i < 2; i++) expect(got[i]).toBeCloseTo(want[i]!, 5);
  });

  it('AdamW decays decoupled from the gradient, unlike Adam with L2', () => {
    const adamw = run('adamw', 5, 0.5);
    const adamL2 = run('adam', 5, 0.5);
    expect(Math.abs(adamw[1]! - adamL2[1]!)).toBeGreaterThan(1e-3);
  });

  it('rejects bad settings clearly', () => {
    const w = tf.variable(tf.scalar(1));
    expect(() => new Optimizer({ name: 'rmsprop' as never, lr: 1 }, [w])).toThrow(
      /unknown optimizer "rmsprop"; use one of sgd, adam, adamw/,
    );
    expect(() => new Optimizer({ name: 'sgd', lr: 0 }, [w])).toThrow(
      /learning rate must be a positive number/,
    );
    expect(() => new Optimizer({ name: 'adamw', lr: 1, weightDecay: -1 }, [w])).toThrow(/weight decay/);
    w.dispose();
  });
});

describe('clipByGlobalNorm', () => {
  it('scales all gradients by theta / norm when the global norm exceeds theta', () => {
    const grads = [tf.tensor1d([3, 0]), tf.tensor2d([[0, 4]])]; // global norm 5
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
    expect(Array.from(clipped[0]!.dataSync())).toEqual([expect.closeTo(0.6, 6), 0]);
    expect(Array.from(clipped[1]!.dataSync())).toEqual([0, expect.closeTo(0.8, 6)]);
    const { grads: kept } = clipByGlobalNorm(grads, 10);
    expect(Array.from(kept[0]!.dataSync())).toEqual([3, 0]);
    tf.dispose([...grads, ...clipped, ...kept, norm]);
    expect(() => clipByGlobalNorm([], 0)).toThrow(/positive/);
  });
});

describe.each(['auto', 'ops'] as const)('crossEntropy (mode %s)', (mode) => {
  it('is the mean of -log softmax at the label, against time-major labels', () => {
    // Y is [B=2, T=3] row-major; time-major order is y00, y10, y01, y11, y02, y12.
    expect(Array.from(timeMajor(Int32Array.from([1, 2, 3, 4, 5, 6]), 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
    const logits = [
      [1, 2, 0],
      [0.5, -1, 3],
    ];
    const labels = [2, 0];
    const want =
      labels.reduce((sum, y, i) => {
        const row = logits[i]!;
        const logZ = Math.log(row.reduce((s, l) => s + Math.exp(l), 0));
        return sum + (logZ - row[y]!);
      }, 0) / 2;
    const got = tf.tidy(
      () => crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), { mode }).dataSync()[0]!,
    );
    expect(got).toBeCloseTo(want, 5);
  });

  it('has the gradient of its value (central differences) and leaks no tensor', () => {
    const rows = 4;
    const vocab = 5;
    const values = Array.from({ length: rows * vocab }, (_, i) => Math.sin(3 * i) * 2);
    const labels = tf.tensor1d([0, 3, 4, 3], 'int32');
    const lossAt = (v: number[]) =>
      tf.tidy(() => crossEntropy(tf.tensor2d(v, [rows, vocab]), labels, { mode }).dataSync()[0]!);
    const before = tf.memory().numTensors;
    const grad = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, labels, { mode }))(
          tf.tensor2d(values, [rows, vocab]),
        )
        .dataSync(),
    );
    expect(tf.memory().numTensors).toBe(before);
    const eps = 1e-2;
    for (let i = 0; i < values.length; i++) {
      const plus = values.slice();
      const minus = values.slice();
      plus[i]! += eps;
      minus[i]! -= eps;
      expect(grad[i]).toBeCloseTo((lossAt(plus) - lossAt(minus)) / (2 * eps), 3);
    }
    labels.dispose();
  });

  it('scales its gradient by the gradient that reaches it, as the op path does', () => {
    const rows = 6;
    const vocab = 7;
    const logits = tf.tensor2d(
      Array.from({ length: rows * vocab }, (_, i) => Math.cos(5 * i) * 3),
      [rows, vocab],
    );
    const labels = tf.tensor1d([1, 6, 0, 2, 2, 5], 'int32');
    // A weighted loss (as a loss term in a sum would be): the gradient reaching crossEntropy is 2.5, not 1.
    const gradOf = (k: 'auto' | 'ops', weight: number) =>
      tf.tidy(() =>
        tf
          .grad((x: tf.Tensor) => tf.mul(crossEntropy(x as tf.Tensor2D, labels, { mode: k }), weight))(logits)
          .dataSync(),
      );
    const before = tf.memory().numTensors;
    const weighted = gradOf(mode, 2.5);
    const plain = gradOf(mode, 1);
    const reference = gradOf('ops', 2.5);
    expect(tf.memory().numTensors).toBe(before);
    let moved = 0;
    for (let i = 0; i < weighted.length; i++) {
      expect(Math.abs(weighted[i]! - reference[i]!)).toBeLessThan(1e-6);
      expect(Math.abs(weighted[i]! - 2.5 * plain[i]!)).toBeLessThan(1e-6);
      moved = Math.max(moved, Math.abs(plain[i]!));
    }
    expect(moved).toBeGreaterThan(0.01);
    tf.dispose([logits, labels]);
  });

  it('gives the same loss and gradient both ways, at word-level width', () => {
    const rows = 70;
    const vocab = 1500;
    const logits = tf.tidy(
      () => tf.mul(tf.randomNormal([rows, vocab], 0, 1, 'float32', 5), 8) as tf.Tensor2D,
    );
    const labels = tf.tensor1d(
      Array.from({ length: rows }, (_, i) => (i * 37) % vocab),
      'int32',
    );
    const run = (k: 'auto' | 'ops') =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => crossEntropy(tf.mul(v, 1) as tf.Tensor2D, labels, { mode: k }),
          [v],
        );
        return [value.dataSync()[0]!, grads[v.name]!.dataSync()] as const;
      });
    const v = tf.variable(logits);
    const [lossA, gradA] = run(mode);
    const [lossB, gradB] = run('ops');
    expect(Math.abs(lossA - lossB)).toBeLessThan(1e-4);
    let diff = 0;
    for (let i = 0; i < gradA.length; i++) diff = Math.max(diff, Math.abs(gradA[i]! - gradB[i]!));
    expect(diff).toBeLessThan(1e-7);
    tf.dispose([logits, labels, v]);
  });
});

describe('crossEntropy options', () => {
  it('refuses the option by its old name kernels, saying what to pass', () => {
    const logits = tf.zeros([2, 3]) as tf.Tensor2D;
    const labels = tf.tensor1d([0, 2], 'int32');
    const old = { kernels: 'ops' } as unknown as { mode: 'ops' };
    expect(() => crossEntropy(logits, labels, old)).toThrow(/the option kernels is now called mode/);
    tf.dispose([logits, labels]);
  });
});
