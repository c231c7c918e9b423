/**
 * The token-id cache: a corpus file's (or folder's) ids and vocabulary, saved after the first read so
 * that later runs load them instead of tokenizing again.
 *
 * An entry's name comes from the source path and the corpus options; inside, a header records the
 * files' identity (path, size, mtime and a hash of sampled blocks of each), the id width and count,
 * and a CRC-32 of the whole entry closes it. An entry whose identity differs (the text changed) or
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
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import type { TokenIds } from './ids.js';
import type { CorpusFile } from './read.js';
import type { Corpus, CorpusOptions } from './stream.js';
import { Vocab } from './vocab.js';

const MAGIC = Buffer.from('RNNLMIDS');
/**
 * The token-id cache's format version: an entry of another version is rebuilt, never read.
 * 2: the vocabulary as arrays (counts, token ends, one UTF-8 text of the tokens), and a CRC-32 close.
 */
export const ID_CACHE_VERSION = 2;
const PREFIX = 16; // magic, version, header length
const CHECKSUM = 4; // CRC-32
const SAMPLE = 1 << 16;
const SAMPLES = 16;

/**
 * An entry, in order: PREFIX; the JSON header (padded so what follows is 8-byte aligned); each id's
 * count (float64); the end of each token in the tokens' joined text (uint32, UTF-16 units); that text
 * in UTF-8 (padded to 4 bytes); the ids (`width` bytes each); the CRC-32 of all that.
 * The vocabulary is stored in id order and read back as one string with its ends (`PackedTokens`):
 * a 440,000-word vocabulary loads in milliseconds, where parsing it from JSON and indexing it took
 * over a second. CRC-32 rather than a cryptographic hash: it guards against damage (a cut or flipped byte,
 * which it always catches in a run under 32 bits), not against an adversary who can write the cache
 * folder anyway, and it runs at memory speed (a 1 GB entry in a fraction of a second).
 */
interface Header {
  identity: FileIdentity[];
  options: Required<CorpusOptions>;
  width: 1 | 2 | 4;
  length: number;
  vocabSize: number;
  /** The tokens' joined text: its length in UTF-16 units and in UTF-8 bytes. */
  tokenUnits: number;
  tokenBytes: number;
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
  const bytes = await readWhole(path).catch(() => null);
  if (!bytes || bytes.length < PREFIX + CHECKSUM || !bytes.subarray(0, 8).equals(MAGIC)) return null;
  if (bytes.readUInt32LE(8) !== ID_CACHE_VERSION) return null;
  const headerLength = bytes.readUInt32LE(12);
  if (PREFIX + headerLength + CHECKSUM > bytes.length) return null;
  const bodyLength = bytes.length - CHECKSUM;
  if (crc32(bytes.subarray(0, bodyLength)) !== bytes.readUInt32LE(bodyLength)) return null;
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8', PREFIX, PREFIX + headerLength)) as Header;
  } catch {
    return null;
  }
  const { width, length, vocabSize, tokenUnits, tokenBytes } = header;
  if (![1, 2, 4].includes(width) || ![length, vocabSize, tokenUnits, tokenBytes].every(Number.isInteger))
    return null;
  const layout = sections(PREFIX + headerLength, header);
  if (layout.end !== bodyLength) return null;
  if (JSON.stringify(header.identity) !== JSON.stringify(identity)) return null;
  if (JSON.stringify(header.options) !== JSON.stringify(cacheOptions(options))) return null;
  const counts = view(bytes, layout.counts, vocabSize, Float64Array);
  const ends = view(bytes, layout.ends, vocabSize, Uint32Array);
  const text = bytes.toString('utf8', layout.tokens, layout.tokens + tokenBytes);
  if (text.length !== tokenUnits) return null;
  let vocab: Vocab;
  try {
    // A copy of the ends, so that the vocabulary does not keep the whole entry's bytes alive.
    vocab = Vocab.fromIdOrder({ text, ends: ends.slice() }, counts);
  } catch {
    return null;
  }
  const ids: TokenIds =
    width === 1
      ? view(bytes, layout.ids, length, Uint8Array)
      : width === 2
        ? view(bytes, layout.ids, length, Uint16Array)
        : view(bytes, layout.ids, length, Uint32Array);
  return { ids, vocab, token: options.token, clean: options.clean };
}

/**
 * A file's bytes in one buffer, read in pieces: `readFile` refuses files over 2 GiB, and the entry
 * of a 2 GB character corpus is that large.
 */
async function readWhole(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = Buffer.allocUnsafeSlow(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(bytes, done, Math.min(size - done, 1 << 30), done);
      if (bytesRead === 0) break; // cut short while being read: the checks reject what there is
      done += bytesRead;
    }
    return bytes.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** Where each part of an entry starts, from the end of its header on (see `Header`). */
function sections(headerEnd: number, header: Omit<Header, 'identity' | 'options'>) {
  const counts = headerEnd;
  const ends = counts + 8 * header.vocabSize;
  const tokens = ends + 4 * header.vocabSize;
  const ids = tokens + header.tokenBytes + ((4 - (header.tokenBytes % 4)) % 4);
  return { counts, ends, tokens, ids, end: ids + header.width * header.length };
}

type ArrayType<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  BYTES_PER_ELEMENT: number;
};

/** `length` elements at `offset` of `bytes`, in place when aligned (always, for a file read whole). */
function view<T>(bytes: Buffer, offset: number, length: number, Type: ArrayType<T>): T {
  const start = bytes.byteOffset + offset;
  if (start % Type.BYTES_PER_ELEMENT === 0) return new Type(bytes.buffer, start, length);
  return new Type(bytes.buffer.slice(start, start + Type.BYTES_PER_ELEMENT * length), 0, length);
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
  const { tokens, counts } = corpus.vocab.toJSON();
  const joined = tokens.join('');
  const tokenText = Buffer.from(joined, 'utf8');
  const ends = new Uint32Array(tokens.length);
  for (let i = 0, end = 0; i < tokens.length; i++) ends[i] = end += tokens[i]!.length;
  const header: Header = {
    identity: [...identity],
    options: cacheOptions(options),
    width: ids.BYTES_PER_ELEMENT as 1 | 2 | 4,
    length: ids.length,
    vocabSize: tokens.length,
    tokenUnits: joined.length,
    tokenBytes: tokenText.length,
  };
  let json = Buffer.from(JSON.stringify(header));
  // Pad with spaces so the arrays that follow start 8-byte aligned and can be viewed in place when read.
  json = Buffer.concat([json, Buffer.alloc((8 - ((PREFIX + json.length) % 8)) % 8, 0x20)]);
  const prefix = Buffer.alloc(PREFIX);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(ID_CACHE_VERSION, 8);
  prefix.writeUInt32LE(json.length, 12);
  const parts = [
    prefix,
    json,
    Buffer.from(Float64Array.from(counts).buffer),
    Buffer.from(ends.buffer),
    tokenText,
    Buffer.alloc((4 - (tokenText.length % 4)) % 4),
    Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength),
  ];
  const checksum = Buffer.alloc(CHECKSUM);
  checksum.writeUInt32LE(parts.reduce((crc, part) => crc32(part, crc), 0));
  parts.push(checksum);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await mkdir(join(path, '..'), { recursive: true });
    const handle = await open(tmp, 'wx');
    try {
      for (const part of parts) {
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
