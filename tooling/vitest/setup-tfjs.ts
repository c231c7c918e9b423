// Tests that run tensors use the pure-JS cpu backend. In Node, `@tensorflow/tfjs-core` alone
// registers neither gradients nor chained tensor methods; the umbrella package registers both
// (onto the same tfjs-core instance, since pnpm dedupes the exact version).
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true); // silences the "install tfjs-node" banner; tests check shapes themselves
if (!(await tf.setBackend('cpu'))) throw new Error('tests need the tfjs cpu backend');
await tf.ready();
