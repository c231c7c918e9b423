import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIME_MACHINE_SHA1 as FIXTURE_SHA1, timeMachinePath } from '../../../fixtures/timemachine.js';
import {
  defaultCacheDir,
  fetchTimeMachine,
  firstInvalidUtf8,
  loadCorpus,
  readTextFile,
  TIME_MACHINE_SHA1,
} from './node.js';

const TIME_MACHINE = timeMachinePath();
const tmp = () => mkdtempSync(join(tmpdir(), 'rnnlm-text-'));

describe('readTextFile', () => {
  it('drops a BOM and reads UTF-8', async () => {
    const path = join(tmp(), 'bom.txt');
    writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('héllo 世界')]));
    expect(await readTextFile(path)).toBe('héllo 世界');
  });

  it('names the file and byte offset of invalid UTF-8', async () => {
    const path = join(tmp(), 'latin1.txt');
    writeFileSync(path, Buffer.from([0x61, 0x62, 0xe9, 0x63])); // 'ab', Latin-1 é, 'c'
    await expect(readTextFile(path)).rejects.toThrow(
      `${path} is not valid UTF-8 text (invalid byte 0xe9 at byte offset 2)`,
    );
    expect(firstInvalidUtf8(Buffer.from('ok 世界 😀'))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.from([0xc0, 0x80]))).toBe(0); // overlong
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xed, 0xa0, 0x80]))).toBe(1); // a surrogate
  });

  it('rejects empty and missing files clearly', async () => {
    const path = join(tmp(), 'blank.txt');
    writeFileSync(path, ' \n\n ');
    await expect(readTextFile(path)).rejects.toThrow(/is empty: the corpus has no text but whitespace/);
    await expect(readTextFile(join(tmp(), 'nope.txt'))).rejects.toThrow(/corpus file not found/);
  });
});

describe('fetchTimeMachine', () => {
  const original = readFileSync(TIME_MACHINE);
  let server: Server;
  let base = '';
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/timemachine.txt') res.end(original);
      else if (req.url === '/corrupt.txt')
        res.end(Buffer.concat([original.subarray(0, 1000), Buffer.from('tampered')]));
      else res.writeHead(404).end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('checks the SHA-1 of the text the tests serve (the fixture, checked against the same digest)', () => {
    expect(TIME_MACHINE_SHA1).toBe(FIXTURE_SHA1);
  });

  it('downloads, checks the SHA-1, caches atomically, then reads from the cache', async () => {
    const cacheDir = tmp();
    const text = await fetchTimeMachine({ cacheDir, url: `${base}/timemachine.txt` });
    expect(text.startsWith('The Time Machine, by H. G. Wells')).toBe(true);
    expect(readdirSync(cacheDir)).toEqual(['timemachine.txt']); // no temporary file left behind
    const before = hits;
    expect(await fetchTimeMachine({ cacheDir, url: `${base}/unreachable` })).toBe(text);
    expect(hits).toBe(before);
  });

  it('rejects a corrupted download and never caches it', async () => {
    const cacheDir = tmp();
    await expect(fetchTimeMachine({ cacheDir, url: `${base}/corrupt.txt` })).rejects.toThrow(
      /is corrupt or changed: SHA-1 [0-9a-f]{40}, expected 090b5e7e/,
    );
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('says how to pass the file when offline', async () => {
    const offline = (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch;
    await expect(fetchTimeMachine({ cacheDir: tmp(), fetch: offline })).rejects.toThrow(
      /If you are offline.*--corpus path\/to\/timemachine.txt/,
    );
    await expect(fetchTimeMachine({ cacheDir: tmp(), url: `${base}/missing` })).rejects.toThrow(/HTTP 404/);
  });

  it('re-downloads over a damaged cache file', async () => {
    const cacheDir = tmp();
    writeFileSync(join(cacheDir, 'timemachine.txt'), 'damaged');
    expect((await fetchTimeMachine({ cacheDir, url: `${base}/timemachine.txt` })).length).toBeGreaterThan(
      100000,
    );
  });

  it('caches under RNNLM_CACHE_DIR, else XDG_CACHE_HOME/rnnlm', () => {
    expect(defaultCacheDir({ RNNLM_CACHE_DIR: '/x/y' })).toBe('/x/y');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/c' })).toBe(join('/c', 'rnnlm'));
  });
});

describe('loadCorpus', () => {
  it('loads a seeded Time Machine cache, a file, and Moby Dick offline', async () => {
    const cacheDir = tmp();
    writeFileSync(join(cacheDir, 'timemachine.txt'), readFileSync(TIME_MACHINE));
    const offline = (() => Promise.reject(new Error('no network in tests'))) as typeof fetch;
    const tm = await loadCorpus({
      source: 'timemachine',
      token: 'char',
      clean: 'letters',
      maxTokens: 10000,
      cacheDir,
      fetch: offline,
    });
    expect(tm.ids.length).toBe(10000);
    expect(tm.vocab.size).toBe(28);
    const file = await loadCorpus({ source: TIME_MACHINE, token: 'word', clean: 'letters' });
    expect(file.vocab.size).toBeGreaterThan(4000);
    const moby = await loadCorpus({ source: 'moby-dick', token: 'char', clean: 'letters', maxTokens: 5000 });
    expect(moby.vocab.toTokens(moby.ids.slice(0, 24)).join('')).toBe('loomings call me ishmael');
    expect(moby.vocab.size).toBe(28);
  });
});
