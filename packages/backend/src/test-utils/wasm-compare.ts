// Helpers for the tests of the wasm kernels added or replaced by registerWasmTrainingKernels, checked
// against the pure-JS cpu backend (an independent implementation of every op).
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { registerWasmTrainingKernels } from '../wasm-training/register-all.js';

/** Deterministic values in [-1, 1) so both backends see the same inputs. */
export function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

export function randn(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(values(tf.util.sizeFromShape(shape), seed), shape);
}

export type Computation = () => tf.Tensor | tf.Tensor[];

/** Runs `f` on a backend and returns its outputs as plain arrays with their shapes. */
export async function runOn(
  backendName: string,
  f: Computation,
): Promise<{ shape: number[]; data: number[] }[]> {
  if (!(await tf.setBackend(backendName))) throw new Error(`backend ${backendName} did not start`);
  const outs = tf.tidy(() => {
    const r = f();
    return Array.isArray(r) ? r : [r];
  });
  const result = outs.map((t) => ({ shape: t.shape, data: Array.from(t.dataSync()) }));
  tf.dispose(outs);
  return result;
}

/** Asserts that `f` gives the same shapes and values on wasm as on cpu. */
export async function expectSameOnBoth(f: Computation, tolerance = 1e-5): Promise<void> {
  const expected = await runOn('cpu', f);
  const actual = await runOn('wasm', f);
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(actual[i]!.shape).toEqual(expected[i]!.shape);
    const e = expected[i]!.data;
    const a = actual[i]!.data;
    expect(a.length).toBe(e.length);
    let maxDiff = 0;
    for (let j = 0; j < e.length; j++) maxDiff = Math.max(maxDiff, Math.abs(a[j]! - e[j]!));
    expect(maxDiff).toBeLessThanOrEqual(tolerance);
  }
}

/** Registers the kernels and starts wasm before the file's tests, and goes back to cpu after them. */
export function onWasmWithTrainingKernels(): void {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
}
