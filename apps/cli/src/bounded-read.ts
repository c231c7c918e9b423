/**
 * Corpora that are not regular files (a pipe, /dev/zero, a socket) may never end: reading them whole
 * before --max-tokens cuts them would grow memory without bound. These are read in chunks only until
 * they hold the tokens asked for, and never past a fixed number of bytes. (A regular file's size is
 * known, and it is read whole, as before: the vocabulary comes from all of its text, as in d2l. A stream
 * has no "all of its text", so its vocabulary is that of what was read.)
 */
import { open, stat } from 'node:fs/promises';
import { buildCorpus, cleanLines, tokenize } from '@rnnlm/text';
import { CORPUS_NAMES, decodeText, type LoadCorpusOptions, type LoadedCorpus } from '@rnnlm/text/node';

const MiB = 2 ** 20;
/** Bytes read from an endless source at most: enough for any --max-tokens a stream is fit for. */
export function byteLimit(maxTokens: number | null | undefined): number {
  return maxTokens ? Math.max(64 * MiB, maxTokens * 64) : 1024 * MiB;
}

/** The corpus of a source that is not a regular file, read as far as needed; null for any other source. */
export async function readStreamCorpus(options: LoadCorpusOptions): Promise<LoadedCorpus | null> {
  const { source, maxTokens } = options;
  if ((CORPUS_NAMES as readonly string[]).includes(source)) return null;
  const stats = await stat(source).catch(() => null);
  if (!stats || stats.isFile() || stats.isDirectory()) return null; // the usual reader explains these
  const limit = byteLimit(maxTokens);
  const chunks: Buffer[] = [];
  let length = 0;
  let nextCount = 64 * 1024;
  let ended = false;
  const handle = await open(source, 'r');
  try {
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) {
        ended = true;
        break;
      }
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (maxTokens && length >= nextCount) {
        nextCount *= 2;
        // One more token than needed: the last one read may be cut in the middle.
        if (countTokens(completeUtf8(Buffer.concat(chunks)), options) > maxTokens) break;
      }
      if (length >= limit) {
        throw new Error(
          maxTokens
            ? `${source}: read ${Math.round(length / MiB)} MiB without finding ${maxTokens} ${options.token} tokens; give a text with more ${options.clean === 'letters' ? 'letters' : 'words'} in it`
            : `${source} did not end after ${Math.round(length / MiB)} MiB: pass --max-tokens to read only its start`,
        );
      }
    }
  } finally {
    await handle.close();
  }
  const bytes = Buffer.concat(chunks);
  const text = decodeText(ended ? bytes : completeUtf8(bytes), source);
  return { ...buildCorpus(text, options), source, files: [source], idCache: 'off' };
}

/** The bytes up to the last complete UTF-8 sequence (a chunk can end in the middle of one). */
function completeUtf8(bytes: Buffer): Buffer {
  let lead = bytes.length - 1;
  while (lead >= 0 && bytes.length - 1 - lead < 3 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return bytes;
  const first = bytes[lead]!;
  const continuations = first >= 0xf0 ? 3 : first >= 0xe0 ? 2 : first >= 0xc0 ? 1 : 0;
  return continuations > bytes.length - 1 - lead ? bytes.subarray(0, lead) : bytes;
}

function countTokens(bytes: Buffer, options: LoadCorpusOptions): number {
  const text = new TextDecoder('utf-8').decode(bytes);
  return tokenize(cleanLines(text, options.clean), options.token).reduce((n, line) => n + line.length, 0);
}
