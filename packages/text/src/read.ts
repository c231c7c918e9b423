/**
 * Reading corpus files in fixed-size chunks, so that a file of any size costs one buffer: the bytes are
 * checked to be UTF-8 (simdutf, through `buffer.isUtf8`), each chunk is cut at the end of its last whole
 * UTF-8 sequence (the rest waits for the next chunk), and the text goes to the streaming tokenizer.
 */
import { isUtf8 } from 'node:buffer';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { firstInvalidUtf8 } from './utf8.js';

export { firstInvalidUtf8 } from './utf8.js';

/** One file of a corpus, with what identifies its version. */
export interface CorpusFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export const DEFAULT_CHUNK_BYTES = 1 << 22;

/**
 * How checked bytes become text. `latin1` maps each byte to one character: a multi-byte character
 * becomes several characters at or above U+0080, which is all the same to `letters` cleaning (it keeps
 * only A-Z and a-z, and line breaks are ASCII), and it decodes three times faster. A BOM is then
 * left in (it is not a letter either).
 */
export type Decoding = 'utf8' | 'latin1';

/**
 * The files of a corpus source: the file itself, or every regular file under a folder (recursively;
 * names starting with `.` skipped) in byte-wise order of their paths relative to the folder, so the
 * order is the same on every machine and file system.
 */
export async function corpusFiles(source: string): Promise<{ folder: boolean; files: CorpusFile[] }> {
  const info = await stat(source).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error(`corpus file not found: ${source}`);
    throw new Error(`cannot read corpus file ${source}: ${error.message}`);
  });
  if (info.isFile())
    return { folder: false, files: [{ path: source, size: info.size, mtimeMs: info.mtimeMs }] };
  if (!info.isDirectory()) throw new Error(`corpus path is neither a text file nor a folder: ${source}`);
  const paths: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() || entry.isSymbolicLink()) paths.push(path);
    }
  };
  await walk(source);
  const key = (path: string) => Buffer.from(relative(source, path).split(sep).join('/'));
  paths.sort((a, b) => Buffer.compare(key(a), key(b)));
  const files: CorpusFile[] = [];
  for (const path of paths) {
    const fileInfo = await stat(path);
    if (fileInfo.isFile()) files.push({ path, size: fileInfo.size, mtimeMs: fileInfo.mtimeMs });
  }
  if (files.length === 0) throw new Error(`the corpus folder ${source} has no text files`);
  return { folder: true, files };
}

/**
 * Streams the text of `files` to `onText`, as if they were one text in that order with a line break
 * after each file (but the last) that does not already end in one. A leading byte-order mark of each
 * file is dropped. Bytes that are not UTF-8, and NUL bytes (a binary file), are an error naming the
 * file and the byte offset.
 */
export async function streamFiles(
  files: readonly CorpusFile[],
  onText: (text: string) => void,
  chunkBytes = DEFAULT_CHUNK_BYTES,
  decoding: Decoding = 'utf8',
): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.max(chunkBytes, 4));
  for (const [i, file] of files.entries()) {
    const last = await streamFile(file.path, buffer, onText, decoding);
    if (i < files.length - 1 && last !== 0x0a && last !== 0x0d && last !== -1) onText('\n');
  }
}

/** Streams one file; returns its last character's code unit (-1 when it has none). */
async function streamFile(
  path: string,
  buffer: Buffer,
  onText: (text: string) => void,
  decoding: Decoding,
): Promise<number> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`corpus file not found: ${path}`);
    throw new Error(`cannot read corpus file ${path}: ${(error as Error).message}`);
  }
  try {
    let carry = 0; // bytes of an unfinished UTF-8 sequence kept at the buffer's start
    let base = 0; // file offset of buffer[0]
    let boms = 0; // leading U+FEFF dropped so far (as decodeText: a BOM, then one more if there)
    let started = false;
    let last = -1;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, carry, buffer.length - carry, null);
      const end = carry + bytesRead;
      const cut = bytesRead === 0 ? end : wholeSequencesEnd(buffer, end);
      const chunk = buffer.subarray(0, cut);
      if (!isUtf8(chunk)) {
        const bad = firstInvalidUtf8(chunk);
        throw new Error(
          `${path} is not valid UTF-8 text (invalid byte 0x${chunk[bad]!.toString(16).padStart(2, '0')} at byte offset ${base + bad}); convert it to UTF-8 first`,
        );
      }
      const nul = chunk.indexOf(0);
      if (nul >= 0) {
        throw new Error(
          `${path} looks like a binary file, not text (a NUL byte at byte offset ${base + nul}); a corpus is UTF-8 text`,
        );
      }
      let text = chunk.toString(decoding);
      while (decoding === 'utf8' && !started && boms < 2 && text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
        boms++;
      }
      if (text !== '') {
        started = true;
        last = text.charCodeAt(text.length - 1);
        onText(text);
      }
      if (bytesRead === 0) return last;
      buffer.copyWithin(0, cut, end);
      carry = end - cut;
      base += cut;
    }
  } finally {
    await handle.close();
  }
}

/** Where the last whole UTF-8 sequence of `buffer[0, end)` ends (a sequence cut by `end` is left out). */
function wholeSequencesEnd(buffer: Uint8Array, end: number): number {
  for (let j = end - 1; j >= Math.max(0, end - 3); j--) {
    const b = buffer[j]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return end - j < need ? j : end;
  }
  return end;
}
