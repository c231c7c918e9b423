import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { watchPeakTensorBytes } from './tensor-memory.js';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

describe('watchPeakTensorBytes', () => {
  it('sees a peak that is gone before anyone samples tf.memory()', () => {
    const before = tf.memory().numBytes;
    const watch = watchPeakTensorBytes();
    tf.tidy(() => {
      tf.zeros([1000]); // 4000 bytes, freed when tidy ends
    });
    const kept = tf.ones([10]);
    expect(tf.memory().numBytes).toBe(before + 40); // tfjs's own count still works while watched
    expect(watch.peak()).toBe(before + 4000);
    watch.stop();
    kept.dispose();
    expect(tf.memory().numBytes).toBe(before);
    expect(Object.getOwnPropertyDescriptor(tf.engine().state, 'numBytes')).toHaveProperty('value', before);
  });
});
