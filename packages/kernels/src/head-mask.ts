/**
 * A dropout mask on the way from a top layer's outputs to the output head (see `OutputHead.mask`):
 * the head reads outputs ⊙ mask, and the outputs' gradient from the head is multiplied by the same
 * mask. The mask is a constant of the forward call (drawn by the model, 0 or 1/(1-p) per value); it
 * has a row per output row (a fresh mask every step) or one per sequence (shared by every step), and
 * output row r (time-major: step t of sequence b is row t*B + b) reads mask row r mod its rows.
 *
 * Plain loops over views of kernel memory: one multiply a value, a few hundred microseconds for a
 * batch, against the head's product of V multiply-adds a value.
 */
import type { Arena } from './memory.js';

/** A head's dropout mask: `values` [rows, H] row-major, rows = the outputs' rows or the batch size. */
export interface HeadMask {
  values: ArrayLike<number>;
  rows: number;
}

/** Checks that `mask` fits outputs of `N` rows (B sequences) of `H`: N rows (every step) or B (every sequence). */
export function checkHeadMask(mask: HeadMask, N: number, B: number, H: number): void {
  if (mask.rows !== N && mask.rows !== B) {
    throw new Error(
      `rnnlm kernels: a head mask of ${mask.rows} rows does not fit ${N} output rows of ${B} sequences: ` +
        `give it a row per output row (${N}) or per sequence (${B})`,
    );
  }
  if (mask.values.length !== mask.rows * H) {
    throw new Error(
      `rnnlm kernels: a head mask of ${mask.rows} rows of ${H} needs ${mask.rows * H} values, got ${mask.values.length}`,
    );
  }
}

/** New kernel memory holding `src` ([N, H] at a byte address) times the mask; returns its address. */
export function maskedCopy(a: Arena, src: number, mask: HeadMask, N: number, H: number): number {
  const dst = a.alloc(N * H);
  // Views only after the allocation: growing the memory detaches earlier ones.
  multiplyRows(a.f32(src, N * H), mask, N, H, a.f32(dst, N * H));
  return dst;
}

/** Multiplies `[N, H]` at a byte address by the mask, in place. */
export function maskInPlace(a: Arena, ptr: number, mask: HeadMask, N: number, H: number): void {
  const view = a.f32(ptr, N * H);
  multiplyRows(view, mask, N, H, view);
}

function multiplyRows(src: Float32Array, mask: HeadMask, N: number, H: number, dst: Float32Array): void {
  const m = mask.values;
  for (let r = 0; r < N; r++) {
    const o = r * H;
    const mo = (r % mask.rows) * H;
    for (let j = 0; j < H; j++) dst[o + j] = src[o + j]! * m[mo + j]!;
  }
}
