import { createScratchModel } from '@rnnlm/cells';
import { Vocab } from '@rnnlm/text';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { generate, generateTokens } from './generate.js';
import { type GenerateStreamOptions, generateStream } from './stream.js';

const vocab = new Vocab(Array.from('abcdefgh'));
function model() {
  const m = createScratchModel(
    { impl: 'scratch', cell: 'gru', vocabSize: vocab.size, hidden: 6, layers: 2, bidirectional: false },
    { seed: 2 },
  );
  // Seeds from 1: tfjs draws an unseeded value for seed 0, and the test would vary run to run.
  for (const [i, v] of m.variables.entries())
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', i + 1)));
  return m;
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const token of iterable) out.push(token);
  return out;
}

describe('generateStream', () => {
  it('yields exactly the tokens of the synchronous generator for the same seed, for every sampling', async () => {
    const m = model();
    const samplings: Array<Omit<GenerateStreamOptions, 'maxTokens' | 'token'>> = [
      {},
      { temperature: 1, seed: 3 },
      { temperature: 0.7, topK: 3, seed: 4 },
      { temperature: 1.3, topP: 0.8, seed: 5 },
      { temperature: 1, topK: 4, topP: 0.9, seed: 6 },
    ];
    for (const sampling of samplings) {
      const expected = [...generateTokens(m, vocab, 'ab', 40, { token: 'char', ...sampling })];
      const streamed = await collect(
        generateStream(m, vocab, 'ab', { token: 'char', maxTokens: 40, ...sampling }),
      );
      expect(streamed).toEqual(expected);
    }
    m.dispose();
  });

  it('ends at a stop string spanning tokens, without yielding it; a partial match that fails is yielded', async () => {
    const m = model();
    const options = { token: 'char' as const, temperature: 1, seed: 11 };
    const generated = generate(m, vocab, 'ab', 60, options).generated;
    const text = generated.join('');
    // Three whole tokens (one may be '<unk>', five characters): a stop string that began inside a
    // token could not end the stream at its first character.
    const stop = generated.slice(8, 11).join('');
    const stream = generateStream(m, vocab, 'ab', { ...options, maxTokens: 60, stop: ['zz', stop] });
    const tokens: string[] = [];
    let next = await stream.next();
    for (; !next.done; next = await stream.next()) tokens.push(next.value);
    expect(tokens.join('')).toBe(text.slice(0, text.indexOf(stop)));
    expect(next.value).toMatchObject({ reason: 'stop', stop, prefixTokens: ['a', 'b'] });
    // The first letter of a stop string occurs, the rest never follows: every token comes out.
    const never = `${text[0]}z`;
    expect(
      (await collect(generateStream(m, vocab, 'ab', { ...options, maxTokens: 60, stop: [never] }))).join(''),
    ).toBe(text);
    m.dispose();
  });

  it('stops at words: a stop string matches the words joined with spaces', async () => {
    const words = new Vocab(['the', 'cat', 'sat', 'on', 'mat']);
    const m = createScratchModel(
      { impl: 'scratch', cell: 'lstm', vocabSize: words.size, hidden: 5, layers: 1, bidirectional: false },
      { seed: 1 },
    );
    const options = { token: 'word' as const, temperature: 1, seed: 2 };
    const generated = generate(m, words, 'the cat', 30, options).generated;
    const stop = `${generated[6]} ${generated[7]}`;
    const joined = ` ${generated.join(' ')}`;
    const expected = joined
      .slice(0, joined.indexOf(` ${stop}`))
      .split(' ')
      .filter((w) => w !== '');
    const streamed = await collect(
      generateStream(m, words, 'the cat', { ...options, maxTokens: 30, stop: [` ${stop}`] }),
    );
    expect(streamed).toEqual(expected);
    m.dispose();
  });

  it('yields to the event loop between tokens and stops when aborted, freeing its tensors', async () => {
    const m = model();
    const before = tf.memory().numTensors;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const controller = new AbortController();
    const stream = generateStream(m, vocab, 'abc', {
      token: 'char',
      temperature: 1,
      maxTokens: 1000,
      signal: controller.signal,
    });
    const tokens: string[] = [];
    const counts: number[] = [];
    let next = await stream.next();
    for (; !next.done; next = await stream.next()) {
      tokens.push(next.value);
      counts.push(tf.memory().numTensors);
      if (tokens.length === 200) controller.abort();
    }
    clearInterval(timer);
    expect(next.value.reason).toBe('aborted');
    expect(tokens).toHaveLength(200);
    expect(ticks).toBeGreaterThan(0);
    expect(new Set(counts.slice(1)).size).toBe(1); // flat while generating
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('frees its state when the loop breaks early, and checks its options', async () => {
    const m = model();
    const before = tf.memory().numTensors;
    let n = 0;
    for await (const _ of generateStream(m, vocab, 'ab', { token: 'char', maxTokens: 100 }))
      if (++n === 3) break;
    expect(tf.memory().numTensors).toBe(before);
    await expect(collect(generateStream(m, vocab, 'ab', { token: 'char', maxTokens: -1 }))).rejects.toThrow(
      /maxTokens/,
    );
    await expect(
      collect(generateStream(m, vocab, 'ab', { token: 'char', maxTokens: 5, stop: [''] })),
    ).rejects.toThrow(/stop strings/);
    await expect(collect(generateStream(m, vocab, '', { token: 'char', maxTokens: 5 }))).rejects.toThrow(
      /prefix is empty/,
    );
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});
