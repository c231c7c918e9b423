import { createScratchModel, type LanguageModel, type ModelConfig } from '@rnnlm/cells';
import { Vocab } from '@rnnlm/text';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { scoreText } from './score.js';
import { evaluatePerplexity } from './trainer.js';

const vocab = new Vocab(Array.from('abcdefgh '));
function model(cell: 'lstm' | 'gru' = 'lstm', extra: Partial<ModelConfig> = {}): LanguageModel {
  const m = createScratchModel(
    { impl: 'scratch', cell, vocabSize: vocab.size, hidden: 8, layers: 2, bidirectional: false, ...extra },
    { seed: 5 },
  );
  // Seeds from 1: tfjs draws an unseeded value for seed 0, and the test would vary run to run.
  for (const [i, v] of m.variables.entries())
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.7, 'float32', i + 1)));
  return m;
}

/** log p(next | before) of each token by one forward call per token, softmax in float64 in JS. */
function stepByStep(m: LanguageModel, ids: number[]): number[] {
  let state = m.beginState(1);
  const out: number[] = [];
  for (let i = 0; i + 1 < ids.length; i++) {
    const step = tf.tidy(() => {
      const r = m.forward(tf.tensor2d([[ids[i]!]], [1, 1], 'int32'), state);
      return { logits: r.logits, state: r.state };
    });
    tf.dispose(state);
    state = step.state;
    const logits = Array.from(step.logits.dataSync());
    step.logits.dispose();
    const max = Math.max(...logits);
    const logSum = Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0)) + max;
    out.push(logits[ids[i + 1]!]! - logSum);
  }
  tf.dispose(state);
  return out;
}

describe('scoreText', () => {
  it.each([
    ['one-hot input', {}],
    ['an embedding tied to the head', { embedding: 8, tieWeights: true }],
  ] as Array<[string, Partial<ModelConfig>]>)(
    'matches log-softmax summed over step-by-step forward calls, across call boundaries (%s)',
    async (_, extra) => {
      const m = model('lstm', extra);
      const text = 'abc deaf bead cafe had a bad egg head fed a hag';
      const ids = vocab.lookup(Array.from(text));
      const expected = stepByStep(m, ids);
      const before = tf.memory().numTensors;
      const score = await scoreText(m, vocab, text, { token: 'char', stepsPerCall: 7 });
      expect(tf.memory().numTensors).toBe(before);
      expect(score.context).toBe('a');
      expect(score.tokens).toHaveLength(text.length - 1);
      for (const [i, t] of score.tokens.entries()) {
        expect(t.token).toBe(text[i + 1]);
        expect(t.id).toBe(ids[i + 1]);
        expect(t.surprisal).toBeCloseTo(-expected[i]! / Math.LN2, 4);
      }
      const logLikelihood = expected.reduce((a, b) => a + b, 0);
      expect(score.logLikelihood).toBeCloseTo(logLikelihood, 3);
      expect(score.crossEntropy).toBeCloseTo(-logLikelihood / expected.length, 5);
      expect(score.bitsPerToken).toBeCloseTo(-logLikelihood / expected.length / Math.LN2, 5);
      expect(score.perplexity).toBeCloseTo(Math.exp(-logLikelihood / expected.length), 4);
      // The trainer's evaluation at batch 1 reads the same predictions.
      const perplexity = await evaluatePerplexity(m, ids, { batchSize: 1, numSteps: 10 });
      expect(score.perplexity).toBeCloseTo(perplexity, 3);
      // The call size changes nothing.
      const whole = await scoreText(m, vocab, text, { token: 'char' });
      expect(whole.logLikelihood).toBeCloseTo(score.logLikelihood, 4);
      m.dispose();
    },
  );

  it('cleans as the corpus did, counts unknown tokens, and scores words', async () => {
    const m = model('gru');
    const score = await scoreText(m, vocab, 'A Bad\nCaZe!', { token: 'char', clean: 'letters' });
    // letters: 'a bad' and 'caze' run together as a corpus's lines do.
    expect(score.context + score.tokens.map((t) => t.token).join('')).toBe('a badcaze');
    expect(score.unknownCount).toBe(1);
    expect(score.unknownTokens).toEqual(['z']);
    expect(score.tokens.find((t) => t.token === 'z')!.id).toBe(vocab.unk);
    m.dispose();

    const words = new Vocab(['the', 'cat', 'sat']);
    const w = createScratchModel(
      { impl: 'scratch', cell: 'rnn', vocabSize: words.size, hidden: 4, layers: 1, bidirectional: false },
      { seed: 1 },
    );
    const ws = await scoreText(w, words, 'the cat  sat dog the dog', { token: 'word' });
    expect(ws.tokens.map((t) => t.token)).toEqual(['cat', 'sat', 'dog', 'the', 'dog']);
    expect(ws.unknownCount).toBe(2);
    expect(ws.unknownTokens).toEqual(['dog']);
    expect(ws.logLikelihood).toBeCloseTo(
      stepByStep(w, words.lookup(['the', 'cat', 'sat', 'dog', 'the', 'dog'])).reduce((a, b) => a + b, 0),
      4,
    );
    w.dispose();
  });

  it('refuses text too short to score and a bidirectional model', async () => {
    const m = model();
    await expect(scoreText(m, vocab, 'a', { token: 'char' })).rejects.toThrow(/at least 2/);
    await expect(scoreText(m, vocab, '!!', { token: 'char', clean: 'letters' })).rejects.toThrow(
      /0 char token\(s\) after 'letters' cleaning/,
    );
    m.dispose();
    const bi = createScratchModel(
      { impl: 'scratch', cell: 'gru', vocabSize: vocab.size, hidden: 4, layers: 1, bidirectional: true },
      { seed: 1 },
    );
    await expect(scoreText(bi, vocab, 'abc', { token: 'char' })).rejects.toThrow(/bidirectional/);
    bi.dispose();
  });
});
