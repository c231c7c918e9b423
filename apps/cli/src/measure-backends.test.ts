// `auto` measured in-process on the real wasm and cpu backends with a tiny model: each backend gets
// its own throwaway run, every tensor it makes is freed, and the answer lands in the cache file.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '@rnnlm/backend';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureTraining, type TrainShape } from './measure-backends.js';

const shape: TrainShape = {
  model: { impl: 'scratch', cell: 'lstm', vocabSize: 20, hidden: 8, layers: 1, bidirectional: false },
  batchSize: 4,
  numSteps: 6,
  optimizer: { name: 'adam', lr: 0.01 },
  clip: 1,
};
const noNative = {
  webgpu: async () => {
    throw Object.assign(new Error("Cannot find package 'webgpu'"), { code: 'ERR_MODULE_NOT_FOUND' });
  },
  'tensorflow-gpu': async () => {
    throw Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node-gpu'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
  },
  tensorflow: async () => {
    throw Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
  },
};
let cache = '';

beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'rnnlm-measure-'));
});
afterAll(async () => {
  await rm(cache, { recursive: true, force: true });
});

describe('measureTraining', () => {
  it('times wasm and cpu with the run shape, frees every tensor, and remembers the winner', async () => {
    await tf.setBackend('cpu');
    const measure = measureTraining(shape, 1, { RNNLM_CACHE_DIR: cache });
    const measured: Array<{ backend: string; tensorsBefore: number; tensorsAfter: number }> = [];
    const counting = {
      ...measure,
      measure: async (
        backend: 'webgpu' | 'wasm' | 'cpu' | 'tensorflow' | 'tensorflow-gpu',
        context: { best: number },
      ) => {
        const tensorsBefore = tf.memory().numTensors;
        const speed = await measure.measure(backend, context);
        measured.push({ backend, tensorsBefore, tensorsAfter: tf.memory().numTensors });
        return speed;
      },
    };
    const before = tf.memory().numTensors;
    const selection = await selectBackend({ measure: counting, loaders: noNative, threads: 1 });
    expect(measured.map((m) => m.backend)).toEqual(['wasm', 'cpu']);
    for (const m of measured) expect(m.tensorsAfter, m.backend).toBe(m.tensorsBefore);
    expect(tf.memory().numTensors).toBe(before);
    expect(selection.measurements!.map((m) => m.backend).sort()).toEqual(['cpu', 'wasm']);
    const fastest = selection.measurements![0]!;
    expect(selection.backend).toBe(fastest.backend);
    expect(tf.getBackend()).toBe(fastest.backend);
    expect(selection.message).toMatch(
      /measured: (wasm|cpu) [\d,.]+ tokens\/s, (wasm|cpu) [\d,.]+ tokens\/s;/,
    );
    expect(selection.message).toContain('tensorflow: @tensorflow/tfjs-node is not installed');

    const file = JSON.parse(await readFile(join(cache, 'backend-choices.json'), 'utf8'));
    const [key] = Object.keys(file.choices);
    expect(key).toBe(measure.key);
    expect(key).toContain('hidden=8');
    expect(key).toContain('batch=4');
    expect(file.choices[key!].backend).toBe(selection.backend);

    const again = await selectBackend({
      measure: { ...measure, measure: () => Promise.reject(new Error('must not measure')) },
      loaders: noNative,
      threads: 1,
    });
    expect(again.remembered).toBe(true);
    expect(again.backend).toBe(selection.backend);
    expect(again.message).toContain('(remembered)');
  }, 120_000);

  it('keys the answer by model shape: another hidden size is another entry', () => {
    const a = measureTraining(shape, 1, { RNNLM_CACHE_DIR: cache }).key;
    const b = measureTraining({ ...shape, model: { ...shape.model, hidden: 9 } }, 1, {
      RNNLM_CACHE_DIR: cache,
    }).key;
    const c = measureTraining(shape, 2, { RNNLM_CACHE_DIR: cache }).key;
    expect(new Set([a, b, c]).size).toBe(3);
  });
});
