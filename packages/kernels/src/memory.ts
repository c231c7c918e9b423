/**
 * A bump allocator over the kernels' WebAssembly memory. Every operation resets it and allocates what
 * it needs; the memory grows to the largest operation's need and is reused after that (wasm memory
 * never shrinks). Views are made fresh on each call because growing replaces the memory's buffer.
 */
export class Arena {
  #top: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly base: number,
  ) {
    this.#top = base;
  }

  /** Frees everything allocated since the last reset. */
  reset(): void {
    this.#top = this.base;
  }

  /** Bytes in use. */
  get used(): number {
    return this.#top - this.base;
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
        throw new Error(
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
