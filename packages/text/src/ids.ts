/** Token ids stored compactly: one, two or four bytes a token, by vocabulary size. */
export type TokenIds = Uint8Array | Uint16Array | Uint32Array;

/** The narrowest id array that holds ids below `vocabSize`. */
export function idArray(vocabSize: number, length: number): TokenIds {
  if (vocabSize <= 0x100) return new Uint8Array(length);
  if (vocabSize <= 0x10000) return new Uint16Array(length);
  return new Uint32Array(length);
}

const BLOCK_TOKENS = 1 << 20;

/**
 * A growing sequence of ids kept in fixed-size blocks, so that it never reallocates and copies the
 * whole sequence; each block is as narrow as the ids it holds (while fewer than 256 distinct tokens
 * have been seen, a block costs one byte a token), and widens in place when a larger id arrives.
 */
export class IdBlocks {
  #blocks: TokenIds[] = [];
  #current: TokenIds = new Uint8Array(0);
  #pos = 0;
  #max = 0xff;
  length = 0;

  /** Appends `ids`, none above `maxId`. */
  append(ids: Uint32Array, maxId: number): void {
    for (let done = 0; done < ids.length; ) {
      if (this.#pos === this.#current.length) this.#newBlock(maxId);
      else if (maxId > this.#max) this.#widen(maxId);
      const take = Math.min(ids.length - done, this.#current.length - this.#pos);
      this.#current.set(ids.subarray(done, done + take), this.#pos);
      this.#pos += take;
      done += take;
      this.length += take;
    }
  }

  #newBlock(id: number): void {
    this.#current = idArray(id + 1, BLOCK_TOKENS);
    this.#max = maxOf(this.#current);
    this.#blocks.push(this.#current);
    this.#pos = 0;
  }

  #widen(id: number): void {
    const wider = idArray(id + 1, this.#current.length);
    wider.set(this.#current.subarray(0, this.#pos));
    this.#current = wider;
    this.#max = maxOf(wider);
    this.#blocks[this.#blocks.length - 1] = wider;
  }

  /**
   * Every id through `table` (old id to new id), into one array sized for `vocabSize`. Blocks are
   * released as they are copied, so the peak is little more than the old ids plus the new.
   */
  remap(table: Uint32Array, vocabSize: number): TokenIds {
    const out = idArray(vocabSize, this.length);
    let k = 0;
    for (let b = 0; b < this.#blocks.length; b++) {
      const block = this.#blocks[b]!;
      const n = Math.min(block.length, this.length - k);
      remapInto(out, k, block, n, table);
      k += n;
      this.#blocks[b] = new Uint8Array(0);
    }
    this.#blocks = [];
    this.#current = new Uint8Array(0);
    this.#pos = 0;
    return out;
  }
}

function maxOf(ids: TokenIds): number {
  return ids instanceof Uint8Array ? 0xff : ids instanceof Uint16Array ? 0xffff : 0xffffffff;
}

/** `out[k + i] = table[block[i]]`; a function of its own so each call site sees few array types. */
function remapInto(out: TokenIds, k: number, block: TokenIds, n: number, table: Uint32Array): void {
  for (let i = 0; i < n; i++) out[k + i] = table[block[i]!]!;
}
