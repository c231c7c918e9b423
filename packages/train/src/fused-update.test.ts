import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { clipByGlobalNorm, clipScale, globalNorm } from './clip.js';
import { hostKernels } from './fused-update.js';
import { Optimizer, type OptimizerConfig } from './optimizers.js';

const SHAPES = [[7, 5], [33], [4, 3, 2]];
const THETA = 1;

/** Largest |a - b| over max(1, |b|) across the pairs of tensors. */
function maxRelDiff(a: tf.Tensor[], b: tf.Tensor[]): number {
  let worst = 0;
  for (const [i, x] of a.entries()) {
    const want = b[i]!.dataSync();
    for (const [j, got] of x.dataSync().entries()) {
      worst = Math.max(worst, Math.abs(got - want[j]!) / Math.max(1, Math.abs(want[j]!)));
    }
  }
  return worst;
}

/**
 * Runs the same steps through the fused path (norm read back, clip scale passed to the update) and the
 * op path (clipByGlobalNorm, then the update op by op), with random gradients, some steps far over the
 * clip threshold and some under it, and a learning rate that changes every step as a schedule's does.
 */
function compare(config: OptimizerConfig, clip: number | null, steps = 12) {
  const initial = SHAPES.map((shape, i) => tf.randomNormal(shape, 0, 1, 'float32', 10 + i));
  const fusedVars = initial.map((t) => tf.variable(t.clone()));
  const opsVars = initial.map((t) => tf.variable(t.clone()));
  tf.dispose(initial);
  const fused = new Optimizer(config, fusedVars);
  const ops = new Optimizer(config, opsVars, 'ops');
  let clipped = 0;
  let worstNorm = 0;
  const before = tf.memory().numTensors;
  for (let s = 0; s < steps; s++) {
    // Gradient norms of about 0.06 to 7 against a threshold of 1.
    const size = s % 3 === 0 ? 0.01 : 1.2;
    const grads = SHAPES.map((shape, i) => tf.randomNormal(shape, 0, size, 'float32', 100 * s + i));
    const lr = config.lr * (1 - s / (2 * steps));
    fused.setLearningRate(lr);
    ops.setLearningRate(lr);

    const norm = globalNorm(grads);
    const normValue = norm.dataSync()[0]!;
    norm.dispose();
    fused.apply(grads, clip === null ? 1 : clipScale(normValue, clip));

    const opNorm = globalNorm(grads, 'ops');
    worstNorm = Math.max(worstNorm, Math.abs(normValue - opNorm.dataSync()[0]!) / normValue);
    opNorm.dispose();
    if (clip === null) ops.apply(grads);
    else {
      const result = clipByGlobalNorm(grads, clip);
      ops.apply(result.grads);
      tf.dispose([...result.grads, result.norm]);
    }
    if (normValue > THETA) clipped++;
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
  }
  const slots = (o: Optimizer) => o.slots().map((slot) => slot.tensor);
  expect(fused.slots().map((slot) => slot.name)).toEqual(ops.slots().map((slot) => slot.name));
  const result = {
    clipped,
    worstNorm,
    variables: maxRelDiff(fusedVars, opsVars),
    slots: maxRelDiff(slots(fused), slots(ops)),
    exact:
      fusedVars.every((v, i) => v.dataSync().every((x, j) => x === opsVars[i]!.dataSync()[j])) &&
      slots(fused).every((t, i) => t.dataSync().every((x, j) => x === slots(ops)[i]!.dataSync()[j])),
    moved: maxRelDiff(
      fusedVars,
      fusedVars.map((v) => tf.zerosLike(v)),
    ),
  };
  fused.dispose();
  ops.dispose();
  tf.dispose([...fusedVars, ...opsVars]);
  return result;
}

const CONFIGS: OptimizerConfig[] = [
  { name: 'sgd', lr: 0.5 },
  { name: 'sgd', lr: 0.5, weightDecay: 0.05 },
  { name: 'adam', lr: 0.01 },
  { name: 'adam', lr: 0.01, weightDecay: 0.05 },
  { name: 'adamw', lr: 0.01 },
  { name: 'adamw', lr: 0.01, weightDecay: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 },
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`the fused update on ${backend}`, () => {
    it.each(
      CONFIGS.flatMap((config) => [
        [config, null],
        [config, THETA],
      ]) as Array<[OptimizerConfig, number | null]>,
    )('%o, clip %s: equals the op path, every variable and slot', async (config, clip) => {
      await tf.setBackend(backend);
      try {
        expect(hostKernels()).not.toBeNull();
        const r = compare(config, clip);
        // The steps cover the clip both active and inactive.
        expect(r.clipped).toBeGreaterThan(0);
        expect(r.clipped).toBeLessThan(12);
        expect(r.moved).toBeGreaterThan(0.01);
        expect(r.worstNorm).toBeLessThan(1e-6);
        if (clip === null) {
          // Without clipping both paths do the same float32 operations in the same order: bit for bit.
          expect(r.exact).toBe(true);
        }
        expect(r.variables).toBeLessThan(1e-5);
        expect(r.slots).toBeLessThan(1e-5);
      } finally {
        await tf.setBackend('cpu');
      }
    });
  });
}

describe('the fused update writes the new values', () => {
  it('on wasm in place when only the variable holds them; a view taken before keeps the old ones', async () => {
    await tf.setBackend('wasm');
    try {
      // tidy frees the initial tensor, which would otherwise share the variable's values.
      const w = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3, 4])));
      const optimizer = new Optimizer({ name: 'sgd', lr: 0.5 }, [w]);
      const grad = tf.tensor1d([2, 4, 6, 8]);
      const before = tf.memory().numTensors;
      const storage = w.dataId;
      optimizer.apply([grad]);
      // Only the variable held its values: they were overwritten where they lay.
      expect(w.dataId).toBe(storage);
      expect(Array.from(w.dataSync())).toEqual([0, 0, 0, 0]);
      // A reshape shares the variable's values: the update must give the variable new ones instead.
      const view = tf.reshape(w, [2, 2]);
      expect(view.dataId).toBe(storage);
      optimizer.apply([grad]);
      expect(w.dataId).not.toBe(storage);
      expect(Array.from(w.dataSync())).toEqual([-1, -2, -3, -4]);
      expect(Array.from(view.dataSync())).toEqual([0, 0, 0, 0]);
      view.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([grad, w]);
      optimizer.dispose();
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('on cpu as new tensors: an array read before the update (cpu hands out its own) keeps its values', () => {
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3, 4])));
    const optimizer = new Optimizer({ name: 'sgd', lr: 0.5 }, [w]);
    const grad = tf.tensor1d([2, 4, 6, 8]);
    const read = w.dataSync();
    optimizer.apply([grad]);
    expect(Array.from(w.dataSync())).toEqual([0, 0, 0, 0]);
    expect(Array.from(read)).toEqual([1, 2, 3, 4]);
    tf.dispose([grad, w]);
    optimizer.dispose();
  });
});

describe('clipScale', () => {
  it('is 1 up to the threshold and theta / norm above it', () => {
    expect(clipScale(0.5, 1)).toBe(1);
    expect(clipScale(1, 1)).toBe(1);
    expect(clipScale(4, 2)).toBe(0.5);
    expect(() => clipScale(1, 0)).toThrow(/clip threshold must be a positive number, got 0/);
  });
});

describe('other backends', () => {
  it('keep the op path', async () => {
    // A backend under another name, as WebGL or WebGPU would be.
    tf.registerBackend('rnnlm-test-other', () => tf.findBackend('cpu')!);
    try {
      expect(await tf.setBackend('rnnlm-test-other')).toBe(true);
      expect(hostKernels()).toBeNull();
    } finally {
      await tf.setBackend('cpu');
      tf.removeBackend('rnnlm-test-other');
    }
    expect(hostKernels()).not.toBeNull();
  });
});
