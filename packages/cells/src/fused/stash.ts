/**
 * Saved activations. The backward pass of a fused layer needs the gate activations of every step (LSTM,
 * GRU) and the memory cells (LSTM) or R ⊙ H_{t-1} (GRU). As outputs of the forward op they would cost a
 * zero-filled gradient tensor of their size per backward pass (tfjs fills one for every output nobody
 * used), so the forward op keeps them here and outputs only a scalar handle, which the tape saves. The
 * gradient takes them back by handle; when they are gone (never stored because no tape was recording,
 * or evicted), it recomputes them with the forward kernel from the saved inputs.
 */
import * as tf from '@tensorflow/tfjs-core';

const stash = new Map<number, Float32Array[]>();
/** More saved sets than this (a model of 32 layer-directions, evaluated without a backward pass) is a leak. */
const STASH_LIMIT = 64;
let nextHandle = 1;

function recording(): boolean {
  const state = (tf.engine() as unknown as { state?: { activeTape?: unknown } }).state;
  // Unknown engine internals: keep the activations, at the cost of memory only.
  return state === undefined || state.activeTape != null;
}

/**
 * Buffers of stored sets, reused: a training step stores and frees the same sizes every batch, and a
 * fresh multi-megabyte array costs more (page faults, zeroing) than the copy into it.
 */
const spare = new Map<number, Float32Array[]>();
const SPARE_PER_SIZE = 8;

/** A copy of `values` (a view of kernel memory) in a reused buffer. */
export function copyOut(values: Float32Array): Float32Array {
  const copy = spare.get(values.length)?.pop() ?? new Float32Array(values.length);
  copy.set(values);
  return copy;
}

/** Hands buffers back for reuse once their values are no longer needed. */
export function release(buffers: Float32Array[]): void {
  for (const b of buffers) {
    const list = spare.get(b.length) ?? [];
    if (list.length < SPARE_PER_SIZE) list.push(b);
    spare.set(b.length, list);
  }
}

/** Stores copies of `saved` while a tape records, and returns their handle (a new one every call). */
export function keep(saved: Float32Array[]): number {
  const handle = nextHandle++;
  if (!recording()) return handle;
  stash.set(handle, saved.map(copyOut));
  if (stash.size > STASH_LIMIT) {
    const oldest = stash.keys().next().value!;
    release(stash.get(oldest)!);
    stash.delete(oldest);
  }
  return handle;
}

/** The set stored under `handle`, removed from the stash (the caller releases it), or undefined. */
export function take(handle: number): Float32Array[] | undefined {
  const kept = stash.get(handle);
  stash.delete(handle);
  return kept;
}

/** Saved activations held for gradients not yet taken (for tests). */
export function savedActivationSets(): number {
  return stash.size;
}
