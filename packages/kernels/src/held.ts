/**
 * A forward pass's activations held in kernel memory for its backward pass: the buffers the forward
 * kernel wrote (gate activations, hidden states, memory cells or R ⊙ H_{t-1}) and the copies of the
 * weights and dense input it read, left where they are instead of copied out to the caller and back
 * in (for the reference LSTM, some 14 MB a training step). One block of the runtime's arena
 * (`Arena.hold`), released by the backward pass that reads it or by its owner when no backward comes.
 */
import { type CellKind, gatesPerCell } from './cells.js';
import { type Arena, lineFloats } from './memory.js';
import type { KernelRuntime } from './runtime.js';

/** Byte addresses in the held block (0: not held, for this cell or input). */
export interface HeldRegions {
  /** The projected inputs [T*B, G] the forward pass turned into gate activations in place. */
  x: number;
  /** The hidden states [T+1, B, H], the initial one included (the layout of sequence.ts). */
  hbuf: number;
  /** LSTM: the memory cells [T+1, B, H]; GRU: R ⊙ H_{t-1} [T, B, H]; RNN: 0. */
  second: number;
  /** The recurrent weight [H, G]. */
  w: number;
  /** A dense input: its values [T*B, D] and the input weight [D, G]. */
  input: number;
  wx: number;
  /** A head's weight [H, V]. */
  wq: number;
}

/** What decides the held block's layout, checked again when the backward pass takes it. */
export interface HeldKey {
  cell: CellKind;
  T: number;
  B: number;
  H: number;
  /** A dense input's width, 0 for a projected or gathered one. */
  D: number;
  /** A head's width, 0 without one. */
  V: number;
}

/** Activations held in kernel memory between a forward pass and its backward pass. */
export class HeldActivations {
  #released = false;

  constructor(
    readonly runtime: KernelRuntime,
    readonly key: HeldKey,
    readonly regions: HeldRegions,
    readonly ptr: number,
  ) {}

  /** Whether the block has been given back (by the backward pass that read it, or by `release`). */
  get released(): boolean {
    return this.#released;
  }

  /** Bytes of kernel memory the block takes. */
  get bytes(): number {
    return heldFloats(this.key) * 4;
  }

  /** Gives the block back to the arena; later calls do nothing. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.runtime.arena.release(this.ptr);
  }

  /** Whether this holds the activations of a pass of `key`'s sizes on `rt`, not yet released. */
  fits(rt: KernelRuntime, key: HeldKey): boolean {
    const k = this.key;
    return (
      !this.#released &&
      rt === this.runtime &&
      k.cell === key.cell &&
      k.T === key.T &&
      k.B === key.B &&
      k.H === key.H &&
      k.D === key.D &&
      k.V === key.V
    );
  }
}

/** Region sizes in floats, in block order, each rounded up to a cache line (16 floats). */
function sizes({ cell, T, B, H, D, V }: HeldKey): Record<keyof HeldRegions, number> {
  const G = gatesPerCell(cell) * H;
  const slot = B * H;
  return {
    x: lineFloats(T * B * G),
    hbuf: lineFloats((T + 1) * slot),
    second: lineFloats(cell === 'lstm' ? (T + 1) * slot : cell === 'gru' ? T * slot : 0),
    w: lineFloats(H * G),
    input: lineFloats(T * B * D),
    wx: lineFloats(D * G),
    wq: lineFloats(H * V),
  };
}

function heldFloats(key: HeldKey): number {
  return Object.values(sizes(key)).reduce((sum, n) => sum + n, 0);
}

/** Holds a block for a forward pass of `key`'s sizes and says where each buffer lies in it. */
export function holdRegions(arena: Arena, key: HeldKey): { ptr: number; regions: HeldRegions } {
  const ptr = arena.hold(heldFloats(key));
  let at = ptr;
  const regions = {} as HeldRegions;
  for (const [name, floats] of Object.entries(sizes(key)) as Array<[keyof HeldRegions, number]>) {
    regions[name] = floats > 0 ? at : 0;
    at += floats * 4;
  }
  return { ptr, regions };
}
