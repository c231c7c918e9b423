import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CleanMode } from './clean.js';
import { buildCorpus, type CorpusOptions, encodeWithVocab } from './corpus.js';
import { IdBlocks } from './ids.js';
import { mobyDickText } from './node.js';
import { CorpusBuilder } from './stream.js';
import { referenceCorpus } from './test-utils/reference-corpus.js';
import type { TokenMode } from './tokenize.js';
import { Vocab } from './vocab.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's copy of the Time Machine (fixtures/timemachine.txt, the d2l download byte for byte). */
const TIME_MACHINE = resolve(here, '..', '..', '..', 'fixtures', 'timemachine.txt');
const CJK = '窗前明月光，\n疑是地上霜。\r\n举头望明月，\r低头思故乡。𠀋 𠀋𠀋\n';

const MODES: Array<[TokenMode, CleanMode]> = [
  ['char', 'letters'],
  ['word', 'letters'],
  ['char', 'unicode'],
  ['word', 'unicode'],
];

/** The builder's result in the oracle's terms (plain arrays), pushed in the given pieces. */
function streamed(pieces: readonly string[], options: CorpusOptions) {
  const builder = new CorpusBuilder(options);
  for (const piece of pieces) builder.push(piece);
  const { ids, vocab } = builder.finish();
  const { tokens, counts } = vocab.toJSON();
  return { ids: Array.from(ids), tokens, counts };
}

function expectSame(text: string, options: CorpusOptions, pieces: readonly string[] = [text]): void {
  const expected = referenceCorpus(text, options);
  const got = streamed(pieces, options);
  expect(got.tokens).toEqual(expected.tokens);
  expect(got.counts).toEqual(expected.counts);
  expect(got.ids).toEqual(expected.ids);
}

/** A deterministic text over an alphabet with every case the tokenizer must get right. */
function edgeText(seed: number, length: number): string {
  const alphabet = [
    'a',
    'B',
    'z',
    'Q',
    ' ',
    '  ',
    '\t',
    '\n',
    '\r',
    '\r\n',
    ',',
    '--',
    '0',
    'é',
    'e\u0301',
    'A\u030a',
    '\u1100',
    '\u1161',
    '\u11a8',
    '\u212a', // NFC composes or maps these
    '世',
    '界',
    '😀',
    '𠀋',
    '\u3000',
    '\u00a0',
    '\ufeff',
    '\u2028',
    '<unk>',
    '\ud800',
  ];
  let s = seed >>> 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out += alphabet[s % alphabet.length];
  }
  return out;
}

describe('the streaming tokenizer against the whole-text reference', () => {
  const timeMachine = readFileSync(TIME_MACHINE, 'utf8');
  const mobyDick = mobyDickText().slice(0, 300_000);

  it.each(MODES)('the Time Machine and Moby Dick, %s + %s, with every option', (token, clean) => {
    for (const text of [timeMachine, mobyDick]) {
      expectSame(text, { token, clean });
      expectSame(text, {
        token,
        clean,
        maxTokens: 10_000,
        minFreq: 3,
        reservedTokens: ['<bos>', 'the', 'e'],
      });
    }
    // Pieces of odd sizes, cutting words, CRLFs and lines anywhere.
    const pieces = timeMachine.match(/[\s\S]{1,4099}/g)!;
    expectSame(timeMachine, { token, clean, minFreq: 2 }, pieces);
  });

  it.each(MODES)('the CJK sample, %s + %s, split at every offset', (token, clean) => {
    if (clean === 'letters') {
      expect(() => buildCorpus(CJK, { token, clean })).toThrow(/no .* tokens after 'letters' cleaning/);
      return;
    }
    for (let k = 0; k <= CJK.length; k++) expectSame(CJK, { token, clean }, [CJK.slice(0, k), CJK.slice(k)]);
  });

  it.each(MODES)(
    'generated edge cases, %s + %s, split at every offset and in single characters',
    (token, clean) => {
      for (let seed = 1; seed <= 4; seed++) {
        const text = `${edgeText(seed, 60)}x`; // never blank, always a letter
        for (let k = 0; k <= text.length; k++) {
          expectSame(text, { token, clean, minFreq: seed % 3 }, [text.slice(0, k), text.slice(k)]);
        }
        expectSame(text, { token, clean, maxTokens: 7 }, [...text.split('')]);
      }
    },
  );

  it('cuts unicode text without line breaks safely once it grows large', () => {
    const text = `${'e\u0301世界 😀 Ab\r'.repeat(100_000)}\n`; // 1.1 M code units, no \n until the end
    for (const token of ['char', 'word'] as const) {
      expectSame(text, { token, clean: 'unicode' }, text.match(/[\s\S]{1,65521}/g)!);
    }
  });

  it('keeps errors: blank text, no tokens, bad options', () => {
    for (const [token, clean] of MODES) {
      expect(() => buildCorpus('', { token, clean })).toThrow(
        /the corpus is empty: it has no text but whitespace/,
      );
      expect(() => buildCorpus(' \n\u3000\ufeff', { token, clean })).toThrow(/the corpus is empty/);
    }
    expect(() => buildCorpus('123 世界', { token: 'word', clean: 'letters' })).toThrow(
      /the corpus has no word tokens after 'letters' cleaning/,
    );
    expect(() => buildCorpus('abc', { token: 'char', clean: 'letters', maxTokens: 0 })).toThrow(
      /maxTokens must be a positive integer/,
    );
    expect(() => new CorpusBuilder({ token: 'bpe' as never, clean: 'letters' })).toThrow(
      /unknown token mode "bpe"/,
    );
    expect(() => new CorpusBuilder({ token: 'char', clean: 'ascii' as never })).toThrow(
      /unknown cleaning mode "ascii"/,
    );
  });

  it('maps every token to <unk> when minFreq is above every count', () => {
    const text = 'ab ba ab';
    expectSame(text, { token: 'word', clean: 'letters', minFreq: 5 });
    expect(Array.from(buildCorpus(text, { token: 'word', clean: 'letters', minFreq: 5 }).ids)).toEqual([
      0, 0, 0,
    ]);
  });
});

describe('compact ids', () => {
  it('are 1, 2 or 4 bytes a token by vocabulary size', () => {
    expect(buildCorpus('abc abc', { token: 'char', clean: 'letters' }).ids).toBeInstanceOf(Uint8Array);
    const many = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join('');
    expect(buildCorpus(many, { token: 'char', clean: 'unicode' }).ids).toBeInstanceOf(Uint16Array);
    const words = Array.from({ length: 70_000 }, (_, i) => `w${i}`).join(' ');
    const { ids, vocab } = buildCorpus(words, { token: 'word', clean: 'unicode' });
    expect(ids).toBeInstanceOf(Uint32Array);
    expect(vocab.size).toBe(70_001);
    expect(vocab.toTokens([ids[69_999]!])).toEqual(['w69999']);
  });

  it('IdBlocks widens a block in place and keeps every id', () => {
    const blocks = new IdBlocks();
    const ids = Array.from({ length: (1 << 20) + 1000 }, (_, i) => (i * 7919) % (i < 500_000 ? 200 : 70_000));
    for (let i = 0; i < ids.length; i += 100_003) {
      const part = Uint32Array.from(ids.slice(i, i + 100_003));
      blocks.append(part, Math.max(...part));
    }
    const identity = Uint32Array.from({ length: 70_000 }, (_, i) => i);
    const out = blocks.remap(identity, 70_000);
    expect(out).toBeInstanceOf(Uint32Array);
    expect(Array.from(out)).toEqual(ids);
  });

  it('re-encodes a corpus under another vocabulary, unknown tokens as <unk>', () => {
    const corpus = buildCorpus('the cat sat on the mat', { token: 'word', clean: 'letters' });
    const other = new Vocab(['the', 'mat', 'the', 'dog']);
    expect(Array.from(encodeWithVocab(corpus, other))).toEqual(
      ['the', 'cat', 'sat', 'on', 'the', 'mat'].map((w) => other.indexOf(w)),
    );
    expect(other.indexOf('cat')).toBe(0);
  });
});

describe('Vocab.fromCounts', () => {
  it('equals the vocabulary counted from the tokens themselves', () => {
    const tokens = ['b', 'a', 'c', 'a', 'b', 'd', '<bos>'];
    const options = { minFreq: 1, reservedTokens: ['<bos>', 'z'] };
    const counted = Vocab.fromCounts(['b', 'a', 'c', 'd', '<bos>'], [2, 2, 1, 1, 1], options);
    expect(counted.toJSON()).toEqual(new Vocab(tokens, options).toJSON());
    expect(() => Vocab.fromCounts(['a'], [1, 2])).toThrow(/1 tokens but 2 counts/);
  });
});
