import { describe, expect, it } from 'vitest';
import { corpusFromBlobs } from './blobs.js';
import { referenceCorpus } from './test-utils/reference-corpus.js';

const file = (name: string, content: string | Uint8Array<ArrayBuffer>) => new File([content], name);
const noWait = () => Promise.resolve();

describe('corpusFromBlobs (files in a browser)', () => {
  const text = 'Héllo, 世界!\r\nA 😀 line\rcafe\u0301 𠀋x\n\nend';

  it('gives the reference ids at every chunk size, reporting progress', async () => {
    const bytes = new TextEncoder().encode(`\ufeff${text}`);
    for (const [token, clean] of [
      ['char', 'unicode'],
      ['word', 'letters'],
    ] as const) {
      const expected = referenceCorpus(text, { token, clean });
      for (let chunkBytes = 1; chunkBytes <= bytes.length + 1; chunkBytes++) {
        const progress: number[] = [];
        const corpus = await corpusFromBlobs(
          [file('a.txt', bytes)],
          { token, clean },
          {
            chunkBytes,
            yieldToPage: noWait,
            onProgress: (done, total) => {
              expect(total).toBe(bytes.length);
              progress.push(done);
            },
          },
        );
        expect(Array.from(corpus.ids)).toEqual(expected.ids);
        expect(progress.at(-1)).toBe(bytes.length);
        expect(progress.length).toBe(Math.ceil(bytes.length / chunkBytes));
      }
    }
  });

  it('reads several files in byte-wise order of their names, each ending a line', async () => {
    const files = [file('b.txt', 'second'), file('B.txt', 'first\n'), file('c.txt', 'third')];
    const corpus = await corpusFromBlobs(files, { token: 'word', clean: 'unicode' }, { yieldToPage: noWait });
    expect(corpus.vocab.toTokens(corpus.ids)).toEqual(['first', 'second', 'third']);
    const chars = await corpusFromBlobs(files, { token: 'char', clean: 'unicode' }, { yieldToPage: noWait });
    expect(chars.vocab.toTokens(chars.ids).join('')).toBe('first\nsecond\nthird');
  });

  it('names the file and offset of bad bytes, and rejects empty input', async () => {
    const bad = file('bad.txt', Uint8Array.from([0x61, 0x62, 0x63, 0xe4, 0x62, 0x61]));
    for (const chunkBytes of [1, 2, 4, 64]) {
      await expect(
        corpusFromBlobs([bad], { token: 'char', clean: 'letters' }, { chunkBytes, yieldToPage: noWait }),
      ).rejects.toThrow('bad.txt is not valid UTF-8 text (invalid byte 0xe4 at byte offset 3)');
    }
    await expect(
      corpusFromBlobs(
        [file('x.bin', Uint8Array.from([0x61, 0]))],
        { token: 'char', clean: 'letters' },
        { yieldToPage: noWait },
      ),
    ).rejects.toThrow('x.bin looks like a binary file, not text (a NUL byte at byte offset 1)');
    await expect(corpusFromBlobs([], { token: 'char', clean: 'letters' })).rejects.toThrow(
      /choose at least one/,
    );
    await expect(
      corpusFromBlobs(
        [file('blank.txt', ' \n')],
        { token: 'char', clean: 'letters' },
        { yieldToPage: noWait },
      ),
    ).rejects.toThrow('blank.txt: the text is empty');
  });
});
