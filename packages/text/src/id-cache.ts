/**
 * The token-id cache: a corpus file's (or folder's) ids and vocabulary, saved after the first read so
 * that later runs load them instead of tokenizing again.
 *
 * An entry's name comes from the source path and the corpus options; inside, a header records the
 * files' identity (path, size, mtime and a hash of sampled blocks of each), the id width and count,
 * and a SHA-1 of the whole entry closes it. An entry whose identity differs (the text changed) or
 * that fails any check (truncated, damaged, another format version) is rebuilt, never trusted.
 * Entries are written to a temporary file created exclusively, then renamed into place, so a reader
 * never sees half an entry (and one cut short by a crash fails its checksum).
 *
 * Why sampled blocks and not a hash of every byte: hashing a 1 GB corpus takes seconds, as long as
 * the budget for loading it back. Size and mtime change with every ordinary edit or copy; the sampled
 * blocks (the first and last 64 KiB and 14 spread between, whole files under 1 MiB) also catch a
 * rewrite that keeps size and mtime and touches any sampled block. An edit that keeps both and falls
 * wholly between samples goes unseen: delete the cache folder (or set `idCache: false`) after such an edit.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TokenIds } from './ids.js';
import type { CorpusFile } from './read.js';
import type { Corpus, CorpusOptions } from './stream.js';
import { Vocab, type VocabJSON } from './vocab.js';

const MAGIC = Buffer.from('RNNLMIDS');
/** The token-id cache's format version: an entry of another version is rebuilt, never read. */
export const ID_CACHE_VERSION = 1;
const PREFIX = 16; // magic, version, header length
const CHECKSUM = 20; // SHA-1
const SAMPLE = 1 << 16;
const SAMPLES = 16;

interface Header {
  identity: FileIdentity[];
  options: Required<CorpusOptions>;
  width: 1 | 2 | 4;
  length: number;
  vocab: VocabJSON;
}

export interface FileIdentity {
  path: string;
  size: number;
  mtimeMs: number;
  sample: string;
}

export function cacheOptions(options: CorpusOptions): Required<CorpusOptions> {
  return {
    token: options.token,
    clean: options.clean,
    maxTokens: options.maxTokens ?? null,
    minFreq: options.minFreq ?? 0,
    reservedTokens: [...(options.reservedTokens ?? [])],
  };
}

/** Where the entry for this source and these options lives. */
export function idCachePath(cacheDir: string, source: string, options: CorpusOptions): string {
  const name = createHash('sha256')
    .update(JSON.stringify({ source: resolve(source), options: cacheOptions(options) }))
    .digest('hex')
    .slice(0, 32);
  return join(cacheDir, 'corpus-ids', `${name}.ids`);
}

/** What identifies the files' current contents (see the module comment for what it can miss). */
export async function identify(files: readonly CorpusFile[]): Promise<FileIdentity[]> {
  return Promise.all(
    files.map(async ({ path, size, mtimeMs }) => ({
      path: resolve(path),
      size,
      mtimeMs,
      sample: await sampleHash(path, size),
    })),
  );
}

async function sampleHash(path: string, size: number): Promise<string> {
  const hash = createHash('sha1');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SAMPLE);
    const starts =
      size <= SAMPLE * SAMPLES
        ? Array.from({ length: Math.ceil(size / SAMPLE) }, (_, i) => i * SAMPLE)
        : Array.from({ length: SAMPLES }, (_, i) => Math.round(((size - SAMPLE) * i) / (SAMPLES - 1)));
    for (const start of starts) {
      const { bytesRead } = await handle.read(buffer, 0, SAMPLE, start);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/**
 * The cached corpus at `path` if it is whole and made from these very files with these options;
 * null when there is none or it cannot be trusted (it is then rebuilt and overwritten).
 */
export async function readIdCache(
  path: string,
  identity: readonly FileIdentity[],
  options: CorpusOptions,
): Promise<Corpus | null> {
  const bytes = await readFile(path).catch(() => null);
  if (!bytes || bytes.length < PREFIX + CHECKSUM || !bytes.subarray(0, 8).equals(MAGIC)) return null;
  if (bytes.readUInt32LE(8) !== ID_CACHE_VERSION) return null;
  const headerLength = bytes.readUInt32LE(12);
  if (PREFIX + headerLength + CHECKSUM > bytes.length) return null;
  const body = bytes.subarray(0, bytes.length - CHECKSUM);
  if (!createHash('sha1').update(body).digest().equals(bytes.subarray(body.length))) return null;
  let header: Header;
  let vocab: Vocab;
  try {
    header = JSON.parse(bytes.toString('utf8', PREFIX, PREFIX + headerLength)) as Header;
    vocab = Vocab.fromJSON(header.vocab);
  } catch {
    return null;
  }
  const { width, length } = header;
  if (![1, 2, 4].includes(width) || !Number.isInteger(length)) return null;
  if (PREFIX + headerLength + width * length !== body.length) return null;
  if (JSON.stringify(header.identity) !== JSON.stringify(identity)) return null;
  if (JSON.stringify(header.options) !== JSON.stringify(cacheOptions(options))) return null;
  const start = bytes.byteOffset + PREFIX + headerLength;
  const source = start % width === 0 ? bytes.buffer : bytes.buffer.slice(start, start + width * length);
  const at = start % width === 0 ? start : 0;
  const ids: TokenIds =
    width === 1
      ? new Uint8Array(source, at, length)
      : width === 2
        ? new Uint16Array(source, at, length)
        : new Uint32Array(source, at, length);
  return { ids, vocab, token: options.token, clean: options.clean };
}

/**
 * Saves a corpus at `path`, atomically. Returns false (and leaves nothing behind) when it cannot: a
 * cache that cannot be written only costs the next run its speed.
 */
export async function writeIdCache(
  path: string,
  identity: readonly FileIdentity[],
  options: CorpusOptions,
  corpus: Corpus,
): Promise<boolean> {
  const { ids } = corpus;
  const header: Header = {
    identity: [...identity],
    options: cacheOptions(options),
    width: ids.BYTES_PER_ELEMENT as 1 | 2 | 4,
    length: ids.length,
    vocab: corpus.vocab.toJSON(),
  };
  let json = Buffer.from(JSON.stringify(header));
  // Pad with spaces so the ids start 4-byte aligned and can be viewed in place when read back.
  json = Buffer.concat([json, Buffer.alloc((4 - (json.length % 4)) % 4, 0x20)]);
  const prefix = Buffer.alloc(PREFIX);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(ID_CACHE_VERSION, 8);
  prefix.writeUInt32LE(json.length, 12);
  const idBytes = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
  const checksum = createHash('sha1').update(prefix).update(json).update(idBytes).digest();
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await mkdir(join(path, '..'), { recursive: true });
    const handle = await open(tmp, 'wx');
    try {
      for (const part of [prefix, json, idBytes, checksum]) {
        for (let done = 0; done < part.length; ) done += (await handle.write(part, done)).bytesWritten;
      }
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    return true;
  } catch {
    await unlink(tmp).catch(() => {});
    return false;
  }
}
