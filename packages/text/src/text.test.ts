import { describe, expect, it } from 'vitest';
import { readTimeMachine } from '../../../fixtures/timemachine.js';
import { cleanLines, cleanPrefix } from './clean.js';
import { buildCorpus } from './corpus.js';
import { tokenize } from './tokenize.js';
import { Vocab } from './vocab.js';

/**
 * The PyTorch reference's corpus, transcribed independently: Python's `readlines` keeps line ends,
 * `re.sub('[^A-Za-z]+', ' ', ln).strip().lower()`, `list(ln)`, a Counter in first-appearance order
 * sorted stably by count.
 */
function referenceCorpus(text: string): { idxToToken: string[]; corpus: number[] } {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const cleaned = lines.map((ln) =>
    ln
      .replace(/[^A-Za-z]+/g, ' ')
      .trim()
      .toLowerCase(),
  );
  const counter: Array<[string, number]> = [];
  const where = new Map<string, number>();
  for (const ln of cleaned) {
    for (const ch of ln) {
      if (!where.has(ch)) {
        where.set(ch, counter.length);
        counter.push([ch, 0]);
      }
      counter[where.get(ch)!]![1]++;
    }
  }
  const freqs = counter.map((kv, i) => [kv, i] as const).sort((a, b) => b[0][1] - a[0][1] || a[1] - b[1]);
  const idxToToken = ['<unk>', ...freqs.map(([[t]]) => t)];
  const toIdx = new Map(idxToToken.map((t, i) => [t, i]));
  return { idxToToken, corpus: cleaned.flatMap((ln) => [...ln].map((ch) => toIdx.get(ch)!)) };
}

describe('the Time Machine, letters + char', () => {
  it('has 28 tokens and the same ids as the PyTorch reference', () => {
    const text = readTimeMachine();
    const { ids, vocab } = buildCorpus(text, { token: 'char', clean: 'letters' });
    const reference = referenceCorpus(text);
    expect(vocab.size).toBe(28);
    expect(vocab.toTokens(Array.from({ length: 28 }, (_, i) => i))).toEqual(reference.idxToToken);
    expect(Array.from(ids)).toEqual(reference.corpus);
    expect(vocab.toTokens([0, 1, 2])).toEqual(['<unk>', ' ', 'e']); // space, then the most frequent letter
    const first = buildCorpus(text, { token: 'char', clean: 'letters', maxTokens: 10000 });
    expect(Array.from(first.ids)).toEqual(reference.corpus.slice(0, 10000));
  });

  it('word tokens: the title comes first and frequent words get small ids', () => {
    const { ids, vocab } = buildCorpus(readTimeMachine(), {
      token: 'word',
      clean: 'letters',
    });
    expect(vocab.toTokens(Array.from(ids.slice(0, 5))).join(' ')).toBe('the time machine by h');
    expect(vocab.toTokens([1])).toEqual(['the']);
    const [, count] = vocab.tokenFreqs[0]!;
    expect(vocab.tokenFreqs.every(([, c]) => c <= count)).toBe(true);
  });
});

describe('cleanPrefix', () => {
  it('cleans a prefix as the corpus was, keeping one trailing space after a word', () => {
    expect(cleanPrefix('Once upon a ', 'letters')).toBe('once upon a ');
    expect(cleanPrefix("The Time-Traveller's", 'letters')).toBe('the time traveller s');
    expect(cleanPrefix('two\nlines, ', 'letters')).toBe('two lines ');
    expect(cleanPrefix('  ', 'letters')).toBe('');
    expect(cleanPrefix('e\u0301\r\n', 'unicode')).toBe('\u00e9\n');
  });
});

describe('cleanLines and tokenize', () => {
  it('letters: runs of non-letters become one space, trimmed, lower-cased', () => {
    expect(cleanLines("The Time--Traveller's (for so...)\r\n  42 it is!\n", 'letters')).toEqual([
      'the time traveller s for so',
      'it is',
      '',
    ]);
  });

  it('unicode keeps every character, normalises line endings and NFC', () => {
    expect(cleanLines('e\u0301!\r\nb\rc', 'unicode')).toEqual(['\u00e9!\n', 'b\n', 'c']);
  });

  it('chars are code points, never half a surrogate pair', () => {
    expect(tokenize(['a😀b'], 'char')).toEqual([['a', '😀', 'b']]);
    expect(tokenize(['  two   words '], 'word')).toEqual([['two', 'words']]);
  });

  it('rejects unknown modes, naming the valid ones', () => {
    expect(() => tokenize(['x'], 'bpe' as never)).toThrow(/unknown token mode "bpe"; use one of char, word/);
    expect(() => cleanLines('x', 'ascii' as never)).toThrow(
      /unknown cleaning mode "ascii"; use one of letters, unicode/,
    );
  });

  it('round-trips Chinese text through unicode + char + Vocab unchanged', () => {
    const text = '窗前明月光，\n疑是地上霜。\n举头望明月，\n低头思故乡。𠀋';
    const { ids, vocab } = buildCorpus(text, { token: 'char', clean: 'unicode' });
    expect(vocab.toTokens(ids).join('')).toBe(text);
    expect(vocab.indexOf('明')).toBeGreaterThan(0);
    expect(vocab.toTokens([vocab.indexOf('𠀋')])).toEqual(['𠀋']);
  });
});

describe('Vocab', () => {
  const tokens = [
    ['b', 'a', 'c', 'a'],
    ['b', 'd', 'a'],
  ];

  it('orders <unk>, reserved tokens, then by count with ties by first appearance', () => {
    const vocab = new Vocab(tokens, { reservedTokens: ['<bos>'] });
    expect(vocab.toTokens([0, 1, 2, 3, 4, 5])).toEqual(['<unk>', '<bos>', 'a', 'b', 'c', 'd']);
    expect(vocab.lookup(['a', 'zebra'])).toEqual([2, 0]);
    expect(vocab.tokenFreqs).toEqual([
      ['a', 3],
      ['b', 2],
      ['c', 1],
      ['d', 1],
    ]);
    expect(new Vocab(tokens.flat()).size).toBe(5); // a flat list works too
  });

  it('drops tokens rarer than minFreq to <unk>', () => {
    const vocab = new Vocab(tokens, { minFreq: 2 });
    expect(vocab.size).toBe(3);
    expect(vocab.indexOf('c')).toBe(vocab.unk);
  });

  it('round-trips through JSON and rejects what is not a vocabulary', () => {
    const vocab = new Vocab(tokens);
    const back = Vocab.fromJSON(JSON.parse(JSON.stringify(vocab)));
    expect(back.toTokens([0, 1, 2, 3, 4])).toEqual(vocab.toTokens([0, 1, 2, 3, 4]));
    expect(back.tokenFreqs).toEqual(vocab.tokenFreqs);
    expect(() => Vocab.fromJSON({ tokens: ['a'], counts: [1] })).toThrow(/not a saved vocabulary/);
    expect(() => vocab.toTokens([9])).toThrow(/out of range/);
  });

  it('takes ids as given with fromIdOrder, and rejects a list that is not a vocabulary', () => {
    const vocab = new Vocab(tokens, { reservedTokens: ['<bos>'] });
    const { tokens: inIdOrder, counts } = vocab.toJSON();
    const back = Vocab.fromIdOrder(inIdOrder, Float64Array.from(counts));
    expect(back.toJSON()).toEqual(vocab.toJSON());
    expect(back.tokenFreqs).toEqual(vocab.tokenFreqs);
    expect(back.lookup(['<bos>', 'a', 'd', 'zebra'])).toEqual(vocab.lookup(['<bos>', 'a', 'd', 'zebra']));
    expect(back.has('c')).toBe(true);
    expect(back.has('zebra')).toBe(false);
    expect(() => Vocab.fromIdOrder(['a', '<unk>'], [1, 0])).toThrow(/<unk> first/);
    expect(() => Vocab.fromIdOrder(['<unk>', 'a'], [0])).toThrow(/1 counts/);
    // Packed: one text and the end of each token, as the token-id cache stores them.
    const text = inIdOrder.join('');
    const ends = Uint32Array.from(inIdOrder, (_, i) => inIdOrder.slice(0, i + 1).join('').length);
    const packed = Vocab.fromIdOrder({ text, ends }, counts);
    expect(packed.size).toBe(vocab.size);
    expect(packed.toTokens([5, 1, 0])).toEqual(vocab.toTokens([5, 1, 0]));
    expect(() => packed.toTokens([6])).toThrow(/out of range/);
    expect(packed.indexOf('c')).toBe(vocab.indexOf('c'));
    expect(packed.toJSON()).toEqual(vocab.toJSON());
    expect(() => Vocab.fromIdOrder({ text, ends: [5, 4] }, [0, 1])).toThrow(/token 1 ends at 4/);
    expect(() => Vocab.fromIdOrder({ text: 'x<unk>', ends: [5, 6] }, [0, 1])).toThrow(/<unk> first/);
    const twice = Vocab.fromIdOrder(['<unk>', 'a', 'b', 'a'], [0, 2, 1, 1]);
    expect(() => twice.indexOf('b')).toThrow(/"a" is listed twice \(ids 1 and 3\)/);
  });
});

describe('buildCorpus', () => {
  it('is a clear error on empty text, text without tokens and a bad maxTokens', () => {
    expect(() => buildCorpus('  \n\t', { token: 'char', clean: 'unicode' })).toThrow(/the corpus is empty/);
    expect(() => buildCorpus('42 !!', { token: 'char', clean: 'letters' })).toThrow(
      /no char tokens after 'letters' cleaning/,
    );
    expect(() => buildCorpus('abc', { token: 'char', clean: 'letters', maxTokens: 0 })).toThrow(
      /maxTokens must be a positive integer/,
    );
  });
});
