import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CleanMode } from './clean.js';
import { loadCorpus } from './node.js';
import { corpusFiles, streamFiles } from './read.js';
import { referenceCorpus } from './test-utils/reference-corpus.js';
import type { TokenMode } from './tokenize.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's copy of the Time Machine (fixtures/timemachine.txt, the d2l download byte for byte). */
const TIME_MACHINE = resolve(here, '..', '..', '..', 'fixtures', 'timemachine.txt');
const tmp = () => mkdtempSync(join(tmpdir(), 'rnnlm-read-'));
const MODES: Array<[TokenMode, CleanMode]> = [
  ['char', 'letters'],
  ['word', 'letters'],
  ['char', 'unicode'],
  ['word', 'unicode'],
];

async function readAll(path: string, chunkBytes: number): Promise<string> {
  let text = '';
  await streamFiles(
    (await corpusFiles(path)).files,
    (piece) => {
      text += piece;
    },
    chunkBytes,
  );
  return text;
}

describe('streamFiles', () => {
  // A BOM, 2-, 3- and 4-byte sequences, CRLF and a lone CR, so that every chunk size cuts one somewhere.
  const text = 'Héllo, 世界!\r\nA 😀 line\rcafe\u0301 𠀋x\n\nend';
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);

  it('decodes the same text whatever the chunk size, a BOM dropped', async () => {
    const path = join(tmp(), 'edge.txt');
    writeFileSync(path, bytes);
    for (let chunk = 4; chunk <= bytes.length + 1; chunk++) expect(await readAll(path, chunk)).toBe(text);
  });

  it('gives the reference ids for every mode and chunk size', async () => {
    const path = join(tmp(), 'edge.txt');
    writeFileSync(path, bytes);
    for (const [token, clean] of MODES) {
      const expected = referenceCorpus(text, { token, clean });
      for (let chunkBytes = 4; chunkBytes <= bytes.length + 1; chunkBytes++) {
        const corpus = await loadCorpus({ source: path, token, clean, chunkBytes });
        expect(Array.from(corpus.ids)).toEqual(expected.ids);
        expect(corpus.vocab.toJSON().tokens).toEqual(expected.tokens);
      }
    }
  });

  it('reads the Time Machine file in small chunks to the reference ids', async () => {
    const text = readFileSync(TIME_MACHINE, 'utf8');
    for (const [token, clean] of MODES) {
      const corpus = await loadCorpus({ source: TIME_MACHINE, token, clean, chunkBytes: 4099, minFreq: 2 });
      const expected = referenceCorpus(text, { token, clean, minFreq: 2 });
      expect(Array.from(corpus.ids)).toEqual(expected.ids);
      expect(corpus.vocab.toJSON().counts).toEqual(expected.counts);
      expect(corpus.files).toEqual([TIME_MACHINE]);
    }
  });

  it('names the file and byte offset of invalid UTF-8, wherever the chunks fall', async () => {
    const dir = tmp();
    const cases: Array<[string, Buffer, number, string]> = [
      ['latin1.txt', Buffer.from([0x61, 0x62, 0xe9, 0x63]), 2, 'e9'],
      [
        'late.txt',
        Buffer.concat([Buffer.from('ok 世界 😀 '.repeat(5)), Buffer.from([0xff, 0x61])]),
        75,
        'ff',
      ],
      ['truncated.txt', Buffer.concat([Buffer.from('abc '), Buffer.from('😀').subarray(0, 3)]), 4, 'f0'],
      ['surrogate.txt', Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x61]), 1, 'ed'],
    ];
    for (const [name, content, offset, byte] of cases) {
      const path = join(dir, name);
      writeFileSync(path, content);
      for (const chunk of [4, 5, 7, 64, 1 << 16]) {
        await expect(readAll(path, chunk)).rejects.toThrow(
          `${path} is not valid UTF-8 text (invalid byte 0x${byte} at byte offset ${offset}); convert it to UTF-8 first`,
        );
      }
    }
  });

  it('rejects a binary file (a NUL byte), naming it and the offset', async () => {
    const path = join(tmp(), 'image.bin');
    writeFileSync(path, Buffer.from([0x47, 0x49, 0x46, 0x00, 0x01]));
    await expect(readAll(path, 4)).rejects.toThrow(
      `${path} looks like a binary file, not text (a NUL byte at byte offset 3)`,
    );
  });
});

describe('a folder corpus', () => {
  function folder(): string {
    const dir = tmp();
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'two.txt'), 'Second\r\n');
    writeFileSync(join(dir, 'a.txt'), '\ufeffFirst file'); // no line break at its end
    writeFileSync(join(dir, 'B.txt'), 'upper');
    writeFileSync(join(dir, 'c.txt'), 'last');
    writeFileSync(join(dir, '.hidden'), 'skipped');
    return dir;
  }

  it('reads files in byte-wise path order, each file ending a line', async () => {
    const dir = folder();
    const { files } = await corpusFiles(dir);
    expect(files.map((f) => f.path)).toEqual(
      ['B.txt', 'a.txt', 'b/two.txt', 'c.txt'].map((p) => join(dir, p)),
    );
    expect(await readAll(dir, 5)).toBe('upper\nFirst file\nSecond\r\nlast');
    for (const [token, clean] of MODES) {
      const corpus = await loadCorpus({ source: dir, token, clean });
      const expected = referenceCorpus('upper\nFirst file\nSecond\r\nlast', { token, clean });
      expect(Array.from(corpus.ids)).toEqual(expected.ids);
    }
  });

  it('names the bad file of a folder', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'b', 'bad.txt'), Buffer.from([0x61, 0x0a, 0xc3]));
    await expect(loadCorpus({ source: dir, token: 'char', clean: 'letters' })).rejects.toThrow(
      `${join(dir, 'b', 'bad.txt')} is not valid UTF-8 text (invalid byte 0xc3 at byte offset 2)`,
    );
  });

  it('is a clear error when empty or blank', async () => {
    const empty = tmp();
    await expect(loadCorpus({ source: empty, token: 'char', clean: 'letters' })).rejects.toThrow(
      `the corpus folder ${empty} has no text files`,
    );
    writeFileSync(join(empty, 'blank.txt'), '\ufeff \r\n\t\u3000\u00a0');
    for (const clean of ['letters', 'unicode'] as const) {
      await expect(loadCorpus({ source: empty, token: 'char', clean, chunkBytes: 4 })).rejects.toThrow(
        `${empty} is empty: the corpus has no text but whitespace`,
      );
    }
    await expect(
      loadCorpus({ source: join(empty, 'nope'), token: 'char', clean: 'letters' }),
    ).rejects.toThrow(/corpus file not found/);
  });
});
