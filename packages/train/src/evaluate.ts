import { assertIdsInRange, type LanguageModel } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import { yieldToEventLoop } from './event-loop.js';
import { crossEntropy, perplexity, timeMajor } from './loss.js';

/**
 * Perplexity of a model on a sequence of ids: laid out as up to `batchSize` contiguous rows, walked
 * `numSteps` at a time with the state carried, every predicted token counted once.
 */
export async function evaluatePerplexity(
  model: LanguageModel,
  ids: ArrayLike<number>,
  options: { batchSize: number; numSteps: number },
): Promise<number> {
  if (ids.length < 2) throw new Error(`perplexity needs at least 2 tokens, got ${ids.length}`);
  assertIdsInRange(ids, model.config.vocabSize);
  const rows = Math.max(1, Math.min(options.batchSize, Math.floor((ids.length - 1) / options.numSteps)));
  const rowLength = Math.floor((ids.length - 1) / rows);
  let state = model.beginState(rows);
  let lossSum = 0;
  let count = 0;
  for (let start = 0; start < rowLength; start += options.numSteps) {
    const steps = Math.min(options.numSteps, rowLength - start);
    const X = new Int32Array(rows * steps);
    const Y = new Int32Array(rows * steps);
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < steps; t++) {
        X[r * steps + t] = ids[r * rowLength + start + t]!;
        Y[r * steps + t] = ids[r * rowLength + start + t + 1]!;
      }
    }
    const { loss, next } = tf.tidy(() => {
      const out = model.forward(tf.tensor2d(X, [rows, steps], 'int32'), state);
      const labels = tf.tensor1d(timeMajor(Y, rows, steps), 'int32');
      return { loss: crossEntropy(out.logits, labels), next: out.state };
    });
    tf.dispose(state);
    state = next;
    lossSum += (await loss.data())[0]! * rows * steps;
    loss.dispose();
    count += rows * steps;
    await yieldToEventLoop();
  }
  tf.dispose(state);
  return perplexity(lossSum / count);
}
