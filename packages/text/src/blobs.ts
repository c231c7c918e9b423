/**
 * Corpora from files in a browser (`File`s from an input, or any `Blob` with a name): read a chunk at a
 * time and tokenized as they come, yielding to the page between chunks so that a 50 MB file never
 * freezes it. Several files are one text in byte-wise order of their names, each file's end a line
 * break, as folders are read in Node.
 */
import { type Corpus, CorpusBuilder, type CorpusOptions } from './stream.js';
import { firstInvalidUtf8 } from './utf8.js';

/** What `corpusFromBlobs` reads: a `File`, or any `Blob` with a name (the files' order is by name). */
export interface NamedBlob {
  readonly name: string;
  readonly size: number;
  /** A piece of the bytes, as `Blob.slice`. */
  slice(start?: number, end?: number): Blob;
}

/** Options of `corpusFromBlobs`: chunk size, progress, and how to yield to the page. */
export interface ReadBlobsOptions {
  /** Bytes read at a time; default 4 MiB. */
  chunkBytes?: number;
  /** Called after each chunk with the bytes read so far and in all. */
  onProgress?: (done: number, total: number) => void;
  /** Lets the page breathe between chunks; default a zero-delay timeout. */
  yieldToPage?: () => Promise<void>;
}

/**
 * Builds a corpus from files chosen in a browser, a chunk at a time, as the Node reader does for a
 * folder: in byte-wise order of their names, each file's end a line break. Bytes that are not UTF-8
 * are an error naming the file and the byte offset.
 */
export async function corpusFromBlobs(
  blobs: readonly NamedBlob[],
  options: CorpusOptions,
  {
    chunkBytes = 1 << 22,
    onProgress,
    yieldToPage = () => new Promise((done) => setTimeout(done, 0)),
  }: ReadBlobsOptions = {},
): Promise<Corpus> {
  if (blobs.length === 0) throw new Error('choose at least one text file');
  const encoder = new TextEncoder();
  const ordered = [...blobs].sort((a, b) => compareBytes(encoder.encode(a.name), encoder.encode(b.name)));
  const total = ordered.reduce((sum, blob) => sum + blob.size, 0);
  const builder = new CorpusBuilder(options);
  let done = 0;
  for (const [i, blob] of ordered.entries()) {
    const decoder = new TextDecoder('utf-8', { fatal: true }); // drops the file's BOM
    let carry = new Uint8Array(0); // the start of a UTF-8 sequence cut by the chunk's end
    let base = 0; // file offset of carry[0]
    let last = -1;
    for (let start = 0; start < blob.size || start === 0; start += chunkBytes) {
      const read = new Uint8Array(await blob.slice(start, start + chunkBytes).arrayBuffer());
      const bytes = carry.length ? concat(carry, read) : read;
      const end = start + chunkBytes >= blob.size;
      const nul = bytes.indexOf(0);
      if (nul >= 0) {
        throw new Error(
          `${blob.name} looks like a binary file, not text (a NUL byte at byte offset ${base + nul})`,
        );
      }
      let text: string;
      try {
        text = decoder.decode(read, { stream: !end });
      } catch {
        const bad = firstInvalidUtf8(bytes);
        throw new Error(
          `${blob.name} is not valid UTF-8 text (invalid byte 0x${bytes[Math.max(bad, 0)]!.toString(16).padStart(2, '0')} at byte offset ${base + Math.max(bad, 0)}); save it as UTF-8 and try again`,
        );
      }
      const cut = wholeSequencesEnd(bytes);
      carry = bytes.slice(cut);
      base += cut;
      if (text !== '') {
        builder.push(text);
        last = text.charCodeAt(text.length - 1);
      }
      done += read.length;
      onProgress?.(done, total);
      await yieldToPage();
      if (end) break;
    }
    if (i < ordered.length - 1 && last !== 0x0a && last !== 0x0d && last !== -1) builder.push('\n');
  }
  if (builder.blank)
    throw new Error(`${ordered.map((b) => b.name).join(', ')}: the text is empty (nothing but whitespace)`);
  return builder.finish();
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Where the last whole UTF-8 sequence of `bytes` ends. */
function wholeSequencesEnd(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let j = end - 1; j >= Math.max(0, end - 3); j--) {
    const b = bytes[j]!;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return end - j < need ? j : end;
  }
  return end;
}
