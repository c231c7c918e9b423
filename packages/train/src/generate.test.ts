import { createScratchModel } from '@rnnlm/cells';
import { Vocab } from '@rnnlm/text';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { generate, generateTokens, samplingDistribution } from './generate.js';

const vocab = new Vocab(Array.from('abcdefgh'));
const model = () =>
  createScratchModel(
    { impl: 'scratch', cell: 'gru', vocabSize: vocab.size, hidden: 6, layers: 2, bidirectional: false },
    { seed: 2 },
  );

describe('generate', () => {
  it('warms up on the prefix like predict_ch8: feeding it all at once equals stepping token by token', () => {
    const m = model();
    // Seeds from 1: tfjs draws an unseeded value for seed 0, and the test would vary run to run.
    for (const [i, v] of m.variables.entries())
      tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', i + 1)));
    const out = generate(m, vocab, 'abc', 5, { token: 'char' });
    // By hand: one token at a time, greedy.
    let state = m.beginState(1);
    const ids = vocab.lookup(['a', 'b', 'c']);
    let next = 0;
    for (const [i, id] of ids.entries()) {
      const step = tf.tidy(() => {
        const out = m.forward(tf.tensor2d([[id]], [1, 1], 'int32'), state);
        return { logits: out.logits, state: out.state };
      });
      tf.dispose(state);
      state = step.state;
      if (i === ids.length - 1) next = tf.tidy(() => tf.argMax(step.logits, 1).dataSync()[0]!);
      step.logits.dispose();
    }
    tf.dispose(state);
    expect(out.text.startsWith('abc')).toBe(true);
    expect(out.generated).toHaveLength(5);
    expect(out.generated[0]).toBe(vocab.toTokens([next])[0]);
    m.dispose();
  });

  it('samples reproducibly for a seed, streams tokens, and reports unknown prefix tokens', () => {
    const m = model();
    // Seeds from 1: tfjs draws an unseeded value for seed 0, and the test would vary run to run.
    for (const [i, v] of m.variables.entries())
      tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', i + 1)));
    const a = generate(m, vocab, 'ab', 30, { token: 'char', temperature: 1, seed: 7 });
    const b = generate(m, vocab, 'ab', 30, { token: 'char', temperature: 1, seed: 7 });
    const c = generate(m, vocab, 'ab', 30, { token: 'char', temperature: 1, seed: 8 });
    expect(a.text).toBe(b.text);
    expect(a.text).not.toBe(c.text);
    expect([...generateTokens(m, vocab, 'ab', 30, { token: 'char', temperature: 1, seed: 7 })]).toEqual(
      a.generated,
    );
    const unknown = generate(m, vocab, 'zaz', 2, { token: 'char' });
    expect(unknown.unknownTokens).toEqual(['z']);
    expect(unknown.text.startsWith('zaz')).toBe(true);
    m.dispose();
  });

  it('joins words with spaces', () => {
    const words = new Vocab(['the', 'cat', 'sat']);
    const m = createScratchModel({
      impl: 'scratch',
      cell: 'rnn',
      vocabSize: words.size,
      hidden: 4,
      layers: 1,
      bidirectional: false,
    });
    const out = generate(m, words, 'the  cat', 2, { token: 'word' });
    expect(out.text.split(' ')).toHaveLength(4);
    m.dispose();
  });

  it('refuses bidirectional models, empty prefixes and bad options clearly', () => {
    const bi = createScratchModel({
      impl: 'scratch',
      cell: 'rnn',
      vocabSize: vocab.size,
      hidden: 4,
      layers: 1,
      bidirectional: true,
    });
    expect(() => generate(bi, vocab, 'a', 1, { token: 'char' })).toThrow(
      /bidirectional model cannot generate text: .*seen the tokens that follow/,
    );
    bi.dispose();
    const m = model();
    expect(() => generate(m, vocab, '', 1, { token: 'char' })).toThrow(/prefix is empty/);
    expect(() => generate(m, vocab, 'a', 1, { token: 'char', temperature: -1 })).toThrow(/temperature/);
    expect(() => generate(m, vocab, 'a', 1, { token: 'char', temperature: 1, topP: 1.5 })).toThrow(
      /topP must be in \(0, 1\]/,
    );
    expect(() => generate(m, vocab, 'a', 1, { token: 'char', temperature: 1, topK: 0 })).toThrow(
      /topK must be a positive integer/,
    );
    m.dispose();
  });
});

describe('samplingDistribution', () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
  it('applies temperature as softmax(logits / T)', () => {
    const d = samplingDistribution(logits, 0.5);
    const z = [0.25, 0.09, 0.0225, 0.0025];
    const total = z.reduce((a, b) => a + b);
    expect(d.map(([, p]) => p)).toEqual(z.map((x) => expect.closeTo(x / total, 6)));
  });
  it('keeps the top k, and the smallest set reaching top p, renormalised', () => {
    expect(samplingDistribution(logits, 1, 2)).toEqual([
      [0, expect.closeTo(0.625, 6)],
      [1, expect.closeTo(0.375, 6)],
    ]);
    expect(samplingDistribution(logits, 1, undefined, 0.9).map(([id]) => id)).toEqual([0, 1, 2]);
    expect(samplingDistribution(logits, 1, undefined, 0.5).map(([id]) => id)).toEqual([0]);
  });
  it('stays a distribution at temperatures so small or logits so large that logits / T overflows', () => {
    // (--temperature 1e-320 sampled from NaNs: it printed the last token of the vocabulary every time.)
    expect(samplingDistribution(logits, 1e-320)).toEqual([
      [0, 1],
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    const d = samplingDistribution([3e38, -3e38, 3e38], 1e-300);
    expect(d.map(([, p]) => p)).toEqual([0.5, 0.5, 0]);
  });
});
