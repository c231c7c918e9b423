// Generation on the kernels' token step against the tfjs models: the logits of every step of a prefix
// against each implementation's op-by-op forward (tfjs-layers' own layers for impl layers), the tokens
// of every sampler against the tfjs path, the batch against single runs (also on the kernels' threads),
// and the copy of the weights against training's updates.
import { CELL_KINDS, createScratchModel, type LanguageModel, type ModelConfig } from '@rnnlm/cells';
import { kernelRuntime, startKernels, stopKernels } from '@rnnlm/kernels';
import { createLayersModel } from '@rnnlm/layers';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { generateBatchTokens, generateSamples } from './batch.js';
import { generate, generateTokens } from './generate.js';
import { choosePath, kernelPathUnavailable, openStepModel } from './step-path.js';
import { toyVocab } from './test-utils/toy.js';

const vocab = toyVocab(Array.from('the time traveller kept it'));
const V = vocab.size;

/** A model with weights large enough that every gate and nonlinearity matters (N(0, 0.3^2)). */
function model(config: Partial<ModelConfig>, recurrence: 'ops' | 'auto' = 'ops'): LanguageModel {
  const full: ModelConfig = {
    impl: 'scratch',
    cell: 'lstm',
    vocabSize: V,
    hidden: 12,
    layers: 2,
    bidirectional: false,
    ...config,
  };
  const m =
    full.impl === 'layers'
      ? createLayersModel(full, { seed: 1, recurrence })
      : createScratchModel(full, { seed: 1, recurrence });
  for (const [i, v] of m.variables.entries())
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', i + 5)));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('the token step', () => {
  for (const impl of ['scratch', 'layers'] as const) {
    for (const cell of CELL_KINDS) {
      for (const layers of [1, 2]) {
        it(`${impl} ${cell}, ${layers} layer${layers > 1 ? 's' : ''}: each step's logits equal the tfjs forward within 1e-5`, () => {
          const m = model({ impl, cell, layers });
          const ids = [3, 1, 4, 1, 5, 9, 2, 6];
          const expected = tf.tidy(() => {
            const out = m.forward(tf.tensor2d([ids], [1, ids.length], 'int32'), m.beginState(1));
            return out.logits.arraySync();
          });
          const step = openStepModel(m, 1, 'kernels')!;
          for (const [t, id] of ids.entries())
            expect(maxDiff(step.step([id]), expected[t]!)).toBeLessThan(1e-5);
          m.dispose();
        });
      }
    }
  }

  for (const impl of ['scratch', 'layers'] as const) {
    for (const extra of [{ embedding: 6 }, { embedding: 12, tieWeights: true }]) {
      it(`${impl} with ${extra.tieWeights ? 'a tied' : 'an'} embedding: the table E W_x gives the tfjs forward's logits`, () => {
        for (const cell of CELL_KINDS) {
          const m = model({ impl, cell, layers: 2, ...extra });
          expect(kernelPathUnavailable(m)).toBeNull();
          const ids = [2, 7, 1, 8, 2, 8];
          const expected = tf.tidy(() =>
            m.forward(tf.tensor2d([ids], [1, ids.length], 'int32'), m.beginState(1)).logits.arraySync(),
          );
          const step = openStepModel(m, 1, 'kernels')!;
          for (const [t, id] of ids.entries())
            expect(maxDiff(step.step([id]), expected[t]!)).toBeLessThan(1e-5);
          m.dispose();
        }
      });
    }
  }

  it('runs models trained with dropout (it acts only in training) and any init: the tokens of the tfjs path', () => {
    for (const impl of ['scratch', 'layers'] as const) {
      for (const dropoutMode of ['standard', 'variational'] as const) {
        const m = model({ impl, cell: 'lstm', embedding: 6, dropout: 0.5, dropoutMode, init: 'uniform' });
        expect(kernelPathUnavailable(m)).toBeNull();
        const options = { token: 'char' as const, seed: 3, temperature: 1 };
        const fast = generate(m, vocab, 'time', 40, options);
        const slow = generate(m, vocab, 'time', 40, { ...options, path: 'tfjs' });
        expect(fast.path).toBe('kernels');
        expect(fast.generated).toEqual(slow.generated);
        m.dispose();
      }
    }
  });

  it('yields the tokens of the tfjs path for the same seed: greedy, temperature, top-k, top-p', () => {
    for (const cell of CELL_KINDS) {
      const m = model({ cell, impl: cell === 'gru' ? 'layers' : 'scratch' });
      for (const sampling of [
        {},
        { temperature: 1 },
        { temperature: 0.7, topK: 4 },
        { temperature: 1.3, topP: 0.8 },
      ]) {
        const options = { token: 'char' as const, seed: 11, ...sampling };
        const fast = generate(m, vocab, 'time', 60, { ...options, path: 'kernels' });
        const slow = generate(m, vocab, 'time', 60, { ...options, path: 'tfjs' });
        expect(fast.path).toBe('kernels');
        expect(slow.path).toBe('tfjs');
        expect(fast.generated).toEqual(slow.generated);
        expect(generate(m, vocab, 'time', 60, options).path).toBe('kernels'); // auto
      }
      m.dispose();
    }
  });

  it('generates n samples at once exactly as n single runs with seeds seed + i', () => {
    const m = model({ cell: 'gru' });
    const options = { token: 'char' as const, temperature: 1, seed: 4 };
    const batch = generateSamples(m, vocab, 'the ', 50, 6, options);
    expect(batch.path).toBe('kernels');
    for (let i = 0; i < 6; i++) {
      expect(batch.samples[i]).toEqual(generate(m, vocab, 'the ', 50, { ...options, seed: 4 + i }).generated);
    }
    // Different seeds give different samples, and the tfjs fallback gives the same batch.
    expect(new Set(batch.samples.map((s) => s.join(''))).size).toBeGreaterThan(1);
    expect(generateSamples(m, vocab, 'the ', 50, 6, { ...options, path: 'tfjs' }).samples).toEqual(
      batch.samples,
    );
    m.dispose();
  });

  it('shares steps between the kernels threads, with the same samples, and gives their memory back', async () => {
    await startKernels({ threads: 2 });
    try {
      const m = model({ cell: 'lstm' });
      const options = { token: 'char' as const, temperature: 1, seed: 9 };
      const arena = kernelRuntime()!.arena;
      const held = arena.heldBlocks;
      const batch = generateSamples(m, vocab, 'the ', 40, 6, options);
      for (let i = 0; i < 6; i++) {
        expect(batch.samples[i]).toEqual(
          generate(m, vocab, 'the ', 40, { ...options, seed: 9 + i }).generated,
        );
      }
      expect(arena.heldBlocks).toBe(held);
      // Stopped after a token, as a for-of's break stops it: the weights' block is given back too.
      const run = generateBatchTokens(m, vocab, 'the ', 40, 6, options);
      run.next();
      expect(arena.heldBlocks).toBe(held + 1);
      run.return(undefined as never);
      expect(arena.heldBlocks).toBe(held);
      m.dispose();
      // A single sequence of a 256-unit LSTM shares each step's columns: the same tokens as on one thread.
      const wide = model({ cell: 'lstm', hidden: 256, layers: 1 });
      const shared = generate(wide, vocab, 'the ', 30, options);
      stopKernels();
      expect(generate(wide, vocab, 'the ', 30, options).generated).toEqual(shared.generated);
      wide.dispose();
    } finally {
      stopKernels();
    }
  });

  it('holds no tensors and no growing memory over many tokens', () => {
    const m = model({ cell: 'lstm' }, 'auto');
    generate(m, vocab, 'it', 10, { token: 'char', temperature: 1 });
    const before = tf.memory();
    const run = generateTokens(m, vocab, 'it', 2000, { token: 'char', temperature: 1 });
    let n = 0;
    for (const _ of run) if (++n === 1000) expect(tf.memory().numTensors).toBe(before.numTensors);
    const step = openStepModel(m, 3)!;
    const bytes = step.bytes;
    for (let i = 0; i < 500; i++) step.step([1, 2, 3]);
    expect(step.bytes).toBe(bytes);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    m.dispose();
  });

  it('follows the weights as training updates them (no stale copy)', () => {
    const m = model({ cell: 'rnn', layers: 1 });
    const options = { token: 'char' as const, temperature: 1, seed: 2 };
    const before = generate(m, vocab, 'the', 40, options).generated;
    // As an optimizer does: assign new values to every weight.
    for (const [i, v] of m.variables.entries())
      tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 99 + i)));
    const after = generate(m, vocab, 'the', 40, { ...options, path: 'kernels' }).generated;
    expect(after).toEqual(generate(m, vocab, 'the', 40, { ...options, path: 'tfjs' }).generated);
    expect(after).not.toEqual(before);
    m.dispose();
  });

  it('falls back to tfjs, saying why, for what it does not run', () => {
    const m = model({ cell: 'lstm', layers: 1 });
    const unknown = { ...m, config: { ...m.config, attention: 8 } as ModelConfig } as LanguageModel;
    Object.setPrototypeOf(unknown, Object.getPrototypeOf(m));
    expect(kernelPathUnavailable(unknown)).toMatch(/config field 'attention'/);
    expect(choosePath(unknown)).toEqual({ path: 'tfjs', pathReason: expect.stringMatching(/attention/) });
    expect(() => choosePath(unknown, 'kernels')).toThrow(/cannot run on the kernels: .*attention/);
    expect(() => choosePath(m, 'fast' as never)).toThrow(/path must be one of auto, kernels, tfjs/);
    const bi = model({ cell: 'gru', layers: 1, bidirectional: true });
    expect(kernelPathUnavailable(bi)).toMatch(/bidirectional/);
    m.dispose();
    bi.dispose();
  });
});
