/** The kernels' memory could not grow to what an operation needs. */
export class KernelMemoryError extends Error {
  override name = 'KernelMemoryError';
}

/**
 * Floats rounded up to whole cache lines (16): the size of a region of a held block laid out so that
 * each of its buffers starts on a line, as `alloc` starts each allocation.
 */
export function lineFloats(floats: number): number {
  return (floats + 15) & ~15;
}

/** A held block: its byte address and size in bytes. */
interface Block {
  readonly ptr: number;
  readonly bytes: number;
}

/**
 * A bump allocator over the kernels' WebAssembly memory. Every operation resets it and allocates what
 * it needs; the memory grows to the largest operation's need and is reused after that (wasm memory
 * never shrinks). Views are made fresh on each call because growing replaces the memory's buffer.
 *
 * Below the operations' scratch space lie the held blocks: memory that outlives the operation that
 * allocated it (a forward pass's activations, kept for its backward pass), until released. A reset
 * starts the scratch space after the last held block; a new held block takes the first gap that fits
 * between the held ones, so memory stays bounded whatever order blocks are released in.
 */
export class Arena {
  #top: number;
  /** Held blocks in address order. */
  #held: Block[] = [];

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly base: number,
  ) {
    this.#top = base;
  }

  /** Where the scratch space starts: after the last held block. */
  get #scratchBase(): number {
    const last = this.#held.at(-1);
    return last ? last.ptr + last.bytes : this.base;
  }

  /** Frees everything allocated since the last reset (held blocks stay). */
  reset(): void {
    this.#top = this.#scratchBase;
  }

  /** Bytes in use: held blocks, gaps between them and the current operation's scratch space. */
  get used(): number {
    return this.#top - this.base;
  }

  /** Bytes in held blocks. */
  get heldBytes(): number {
    return this.#held.reduce((sum, b) => sum + b.bytes, 0);
  }

  /** Held blocks not yet released. */
  get heldBlocks(): number {
    return this.#held.length;
  }

  /**
   * Allocates `floats` values that stay until `release(ptr)`, not until the next reset: in the first
   * gap between held blocks that fits (never in the scratch space above them, which the current
   * operation may be using), else at the top, where the scratch space of later operations starts after it.
   */
  hold(floats: number): number {
    const bytes = Math.max(64, (floats * 4 + 63) & ~63);
    let start = this.base;
    for (const [i, block] of this.#held.entries()) {
      const at = (start + 63) & ~63;
      if (at + bytes <= block.ptr) {
        this.#held.splice(i, 0, { ptr: at, bytes });
        return at;
      }
      start = block.ptr + block.bytes;
    }
    const ptr = this.alloc(floats);
    this.#held.push({ ptr, bytes });
    this.#top = ptr + bytes;
    return ptr;
  }

  /** Gives a held block back (its values stay readable until the memory is next allocated). */
  release(ptr: number): void {
    const i = this.#held.findIndex((b) => b.ptr === ptr);
    if (i < 0) throw new Error(`rnnlm kernels: no held block at ${ptr} to release`);
    this.#held.splice(i, 1);
  }

  /** Allocates `floats` 32-bit values, 64-byte aligned (a cache line), and returns the byte address. */
  alloc(floats: number): number {
    const start = (this.#top + 63) & ~63;
    const end = start + floats * 4;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / 65536);
      try {
        this.memory.grow(pages);
      } catch (error) {
        throw new KernelMemoryError(
          `rnnlm kernels: could not grow WebAssembly memory to ${Math.ceil(end / 2 ** 20)} MiB ` +
            `(${error instanceof Error ? error.message : String(error)}); use smaller batches or models`,
        );
      }
    }
    this.#top = end;
    return start;
  }

  /** Allocates and fills with `values` (or zeros when absent). */
  allocFrom(values: ArrayLike<number> | null, floats: number): number {
    const ptr = this.alloc(floats);
    this.write(ptr, values, floats);
    return ptr;
  }

  /** Writes `values` (or zeros) at ptr. */
  write(ptr: number, values: ArrayLike<number> | null, floats: number): void {
    const view = this.f32(ptr, floats);
    if (values === null) view.fill(0);
    else {
      if (values.length !== floats) {
        throw new Error(`rnnlm kernels: expected ${floats} values, got ${values.length}`);
      }
      view.set(values);
    }
  }

  /** Allocates and fills with 32-bit integers. */
  allocInts(values: ArrayLike<number>): number {
    const ptr = this.alloc(values.length);
    new Int32Array(this.memory.buffer, ptr, values.length).set(values);
    return ptr;
  }

  /** A Float32Array view of `floats` values at ptr (valid until the memory next grows). */
  f32(ptr: number, floats: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, floats);
  }
}
