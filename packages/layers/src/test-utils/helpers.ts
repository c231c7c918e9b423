import { CELL_KINDS, type LanguageModel, type ModelConfig, type ModelImpl } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import { loadWeights, type NamedWeights } from '../weights.js';

export const CELLS = CELL_KINDS;

export function tinyConfig(impl: ModelImpl, overrides: Partial<ModelConfig> = {}): ModelConfig {
  return { impl, cell: 'lstm', vocabSize: 7, hidden: 4, layers: 1, bidirectional: false, ...overrides };
}

/**
 * Replaces a model's weights with seeded normal draws of standard deviation `scale`. The notebooks'
 * 0.01 initialisation makes every activation nearly linear and every difference tiny, which would
 * let a wrong gate order pass a 1e-5 comparison; O(1) weights exercise the nonlinearities.
 */
export function randomizeWeights(model: LanguageModel, seed: number, scale = 0.5): void {
  const weights: NamedWeights = {};
  model.weightNames.forEach((name, i) => {
    const variable = model.variables[i] as tf.Variable;
    weights[name] = tf.randomNormal(variable.shape, 0, scale, 'float32', seed + i);
  });
  try {
    loadWeights(model, weights);
  } finally {
    tf.dispose(Object.values(weights));
  }
}

/** Seeded ids in [0, vocabSize), shape [batch, steps]. */
export function randomIds(batch: number, steps: number, vocabSize: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const u = tf.randomUniform([batch, steps], 0, vocabSize, 'float32', seed);
    return tf.cast(tf.clipByValue(tf.floor(u), 0, vocabSize - 1), 'int32') as tf.Tensor2D;
  });
}

/** A seeded non-zero state in the model's layout (so the state-in path is exercised too). */
export function randomState(model: LanguageModel, batch: number, seed: number): tf.Tensor2D[] {
  const zeros = model.beginState(batch);
  const state = zeros.map((z, i) => tf.randomNormal(z.shape, 0, 0.5, 'float32', seed + i) as tf.Tensor2D);
  tf.dispose(zeros);
  return state;
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (!tf.util.arraysEqual(a.shape, b.shape)) {
    throw new Error(`shapes differ: [${a.shape}] vs [${b.shape}]`);
  }
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

/** Mean cross-entropy of time-major logits against next-token labels Y ([B, T]). */
export function lossOf(logits: tf.Tensor2D, labels: tf.Tensor2D, vocabSize: number): tf.Scalar {
  return tf.tidy(() => {
    const flat = tf.reshape(tf.transpose(labels), [-1]);
    const oneHot = tf.oneHot(flat, vocabSize, 1, 0, 'float32');
    return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
  });
}
