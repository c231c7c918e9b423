import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCorpus } from './corpus.js';
import { ID_CACHE_VERSION, idCachePath, type LoadCorpusOptions, loadCorpus } from './node.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rnnlm-id-cache-'));
const TEXT = 'The quick brown fox jumps over the lazy dog.\nThe dog sleeps; the fox runs.\n';

function setup(text = TEXT) {
  const dir = tmp();
  mkdirSync(join(dir, 'text'));
  const source = join(dir, 'text', 'corpus.txt');
  writeFileSync(source, text);
  const cacheDir = join(dir, 'cache');
  const options: LoadCorpusOptions = {
    source,
    token: 'word',
    clean: 'letters',
    minFreq: 1,
    cacheDir,
    idCache: true,
  };
  return { source, cacheDir, options, entry: idCachePath(cacheDir, source, options) };
}

const plain = (corpus: { ids: ArrayLike<number>; vocab: { toJSON(): unknown } }) => ({
  ids: Array.from(corpus.ids),
  vocab: corpus.vocab.toJSON(),
});

describe('the token-id cache', () => {
  it('writes an entry on the first run and reads the same corpus back on the next', async () => {
    const { options, entry, cacheDir } = setup();
    const first = await loadCorpus(options);
    expect(first.idCache).toBe('written');
    expect(readdirSync(join(cacheDir, 'corpus-ids'))).toEqual([entry.split('/').at(-1)]); // no temporary left
    const second = await loadCorpus(options);
    expect(second.idCache).toBe('hit');
    expect(second.ids).toBeInstanceOf(Uint8Array);
    expect(plain(second)).toEqual(plain(first));
    expect(plain(second)).toEqual(plain(buildCorpus(TEXT, options)));
    // Other options are another entry, not a hit on this one.
    const chars = await loadCorpus({ ...options, token: 'char' });
    expect(chars.idCache).toBe('written');
    expect(plain(chars)).toEqual(plain(buildCorpus(TEXT, { ...options, token: 'char' })));
  });

  it('rebuilds a stale entry when the file changed (size, mtime or sampled content)', async () => {
    const { source, options } = setup();
    await loadCorpus(options);
    // Same size and same mtime, other content: only the sampled hash can tell.
    const { mtime } = statSync(source);
    const changed = TEXT.replace('quick', 'quack');
    writeFileSync(source, changed);
    utimesSync(source, mtime, mtime);
    const again = await loadCorpus(options);
    expect(again.idCache).toBe('written');
    expect(plain(again)).toEqual(plain(buildCorpus(changed, options)));
    // Appended text: another size.
    writeFileSync(source, `${changed}quack quack\n`);
    const longer = await loadCorpus(options);
    expect(longer.idCache).toBe('written');
    expect(longer.ids.length).toBe(again.ids.length + 2);
    expect((await loadCorpus(options)).idCache).toBe('hit');
  });

  it('never trusts a damaged entry: a flipped byte, a cut end, junk, another version', async () => {
    const { options, entry } = setup();
    const expected = plain(await loadCorpus(options));
    const good = readFileSync(entry);
    const damaged: Buffer[] = [
      Buffer.from(good).fill(0x20, good.length - 30, good.length - 29), // an id byte
      good.subarray(0, good.length - 7), // cut short
      Buffer.from('not a cache entry at all'),
      Buffer.alloc(0),
    ];
    const otherVersion = Buffer.from(good);
    otherVersion.writeUInt32LE(999, 8);
    damaged.push(otherVersion);
    for (const bytes of damaged) {
      writeFileSync(entry, bytes);
      const corpus = await loadCorpus(options);
      expect(corpus.idCache).toBe('written');
      expect(plain(corpus)).toEqual(expected);
      expect(readFileSync(entry).equals(good)).toBe(true); // rebuilt in full
    }
  });

  it('rebuilds an entry of the first format (a JSON vocabulary and a SHA-1 close)', async () => {
    const { options, entry } = setup();
    const expected = await loadCorpus(options);
    const current = readFileSync(entry);
    // The version-1 layout: magic, version, header length, then a JSON header holding the vocabulary,
    // the ids, and a SHA-1 of everything before it.
    const headerLength = current.readUInt32LE(12);
    const header = JSON.parse(current.toString('utf8', 16, 16 + headerLength));
    const ids = Buffer.from(expected.ids.buffer, expected.ids.byteOffset, expected.ids.byteLength);
    let json = Buffer.from(JSON.stringify({ ...header, vocab: expected.vocab.toJSON() }));
    json = Buffer.concat([json, Buffer.alloc((4 - (json.length % 4)) % 4, 0x20)]);
    const prefix = Buffer.alloc(16);
    prefix.write('RNNLMIDS', 0);
    prefix.writeUInt32LE(1, 8);
    prefix.writeUInt32LE(json.length, 12);
    const body = Buffer.concat([prefix, json, ids]);
    writeFileSync(entry, Buffer.concat([body, createHash('sha1').update(body).digest()]));
    const corpus = await loadCorpus(options);
    expect(corpus.idCache).toBe('written');
    expect(plain(corpus)).toEqual(plain(expected));
    expect(readFileSync(entry).readUInt32LE(8)).toBe(ID_CACHE_VERSION);
    expect(ID_CACHE_VERSION).toBeGreaterThan(1);
    expect((await loadCorpus(options)).idCache).toBe('hit');
  });

  it('keeps a vocabulary of any tokens: CJK, astral-plane characters, line breaks', async () => {
    const text = '明日は晴れ 𠀋𠀋 x\r\ny 😀 done\n';
    const { options } = setup(text);
    for (const token of ['char', 'word'] as const) {
      const unicode = { ...options, token, clean: 'unicode' as const };
      expect((await loadCorpus(unicode)).idCache).toBe('written');
      const hit = await loadCorpus(unicode);
      expect(hit.idCache).toBe('hit');
      expect(plain(hit)).toEqual(plain(buildCorpus(text, unicode)));
      expect(hit.vocab.indexOf('😀')).toBe(buildCorpus(text, unicode).vocab.indexOf('😀'));
    }
  });

  it('still loads when the cache cannot be written, and leaves nothing behind', async () => {
    const { options, cacheDir } = setup();
    writeFileSync(cacheDir, 'a file where the cache folder should be');
    const corpus = await loadCorpus(options);
    expect(corpus.idCache).toBe('off');
    expect(plain(corpus)).toEqual(plain(buildCorpus(TEXT, options)));
  });

  it('caches a folder, and notices a file added to it', async () => {
    const { source, options } = setup();
    const dir = join(source, '..');
    const folder = { ...options, source: dir };
    writeFileSync(join(dir, 'more.txt'), 'more text');
    const first = await loadCorpus(folder);
    expect(first.files.map((f) => f.split('/').at(-1))).toEqual(['corpus.txt', 'more.txt']);
    expect((await loadCorpus(folder)).idCache).toBe('hit');
    writeFileSync(join(dir, 'zzz.txt'), 'and the end');
    const grown = await loadCorpus(folder);
    expect(grown.idCache).toBe('written');
    expect(plain(grown)).toEqual(plain(buildCorpus(`${TEXT}more text\nand the end`, options)));
  });
});
