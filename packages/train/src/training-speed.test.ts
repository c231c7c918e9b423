import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  measureTrainingSpeed,
  type TrainingStepTimer,
  type TrainShape,
  trainShapeKey,
} from './training-speed.js';

const shape: TrainShape = {
  model: { impl: 'scratch', cell: 'lstm', vocabSize: 11, hidden: 6, layers: 1, bidirectional: false },
  batchSize: 3,
  numSteps: 4,
  optimizer: { name: 'adam', lr: 0.01 },
  clip: 1,
};

/** Stops after `steps` steps and reports how many it saw as its "speed". */
function countingTimer(steps: number): TrainingStepTimer & { started: number; seen: number } {
  return {
    started: 0,
    seen: 0,
    start() {
      this.started++;
    },
    stepDone() {
      this.seen++;
      return this.seen >= steps;
    },
    get tokensPerSecond() {
      return this.seen * 1000;
    },
  };
}

describe('measureTrainingSpeed', () => {
  it('trains until the timer has enough, returns its speed, and frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const timer = countingTimer(3);
    expect(await measureTrainingSpeed(shape, timer, 5)).toBe(3000);
    expect(timer.started).toBe(1);
    expect(timer.seen).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('makes no more minibatches than maxSteps when the timer never says enough', async () => {
    const timer = countingTimer(Number.POSITIVE_INFINITY);
    await measureTrainingSpeed(shape, timer, 4);
    expect(timer.seen).toBeGreaterThanOrEqual(4);
    expect(timer.seen).toBeLessThanOrEqual(5);
  });

  it('keys a measurement by every part of the shape that changes the speed', () => {
    const key = trainShapeKey(shape);
    expect(key).toEqual({
      impl: 'scratch',
      cell: 'lstm',
      vocab: 11,
      hidden: 6,
      layers: 1,
      bidirectional: false,
      batch: 3,
      steps: 4,
      optimizer: 'adam',
      clip: 1,
    });
    expect(trainShapeKey({ ...shape, clip: null }).clip).toBe('off');
  });
});
