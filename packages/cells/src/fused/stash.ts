/**
 * Saved activations. The backward pass of a fused layer needs the gate activations of every step (LSTM,
 * GRU), the memory cells (LSTM) or R ⊙ H_{t-1} (GRU), the hidden states and the weights the forward
 * pass read. As outputs of the forward op they would cost a copy out of kernel memory and back in, and
 * a zero-filled gradient tensor of their size per backward pass (tfjs fills one for every output nobody
 * used), so the forward op leaves them in kernel memory (@rnnlm/kernels' `HeldActivations`), keeps them
 * here and outputs only a scalar handle, which the tape saves. The gradient takes them back by handle;
 * when they are gone (never held because no tape was recording, evicted, or held by a kernel runtime
 * since replaced), it recomputes them with the forward kernel from the saved inputs.
 *
 * Kernel memory must not grow with activations nobody takes (a forward pass whose output the loss does
 * not use, a gradient that threw): each set remembers the tape that recorded it, and every forward op
 * first releases the sets of tapes that are over, whose backward passes can no longer come.
 */
import type { HeldActivations } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';

interface Kept {
  held: HeldActivations;
  /** The engine's tape that recorded the forward op (undefined where the engine's insides are unknown). */
  tape: unknown;
}

const stash = new Map<number, Kept>();
/** More saved sets than this (a model of 32 layer-directions, evaluated 2 times under one tape) is a leak. */
const STASH_LIMIT = 64;
let nextHandle = 1;

interface EngineState {
  activeTape?: unknown;
  gradientDepth?: number;
}

function engineState(): EngineState | undefined {
  return (tf.engine() as unknown as { state?: EngineState }).state;
}

/** The engine's active tape (an array, or null when none), or undefined when the engine's insides are unknown. */
function activeTape(): unknown {
  const state = engineState();
  return state === undefined ? undefined : (state.activeTape ?? null);
}

/**
 * Whether a gradient is being recorded (or, with unknown engine internals, might be: then hold, at the
 * cost of memory only). A tape that a failed gradient left behind records nothing.
 */
export function recording(): boolean {
  const state = engineState();
  if (state === undefined || typeof state.gradientDepth !== 'number') return true;
  return state.gradientDepth > 0 && state.activeTape != null;
}

/**
 * Releases the sets recorded by tapes that are over. tfjs drops the active tape (to null) when a
 * gradient is done and starts a new array for the next, so a set whose tape is no longer the active
 * one is never taken; nor is one kept when a forward op runs while no tape records.
 */
export function releaseFinished(): void {
  const tape = activeTape();
  if (tape === undefined) return;
  // Outside a recording (a gradient that threw leaves its tape behind) nothing kept is still awaited.
  const awaited = recording() ? tape : null;
  for (const [handle, kept] of stash) {
    if (kept.tape === awaited) continue;
    kept.held.release();
    stash.delete(handle);
  }
}

/** Releases every kept set (their gradients recompute them): when kernel memory runs out. */
export function releaseAll(): void {
  for (const kept of stash.values()) kept.held.release();
  stash.clear();
}

/** A handle for a forward op's activations: `held` is kept under it (when given), else nothing is. */
export function keep(held: HeldActivations | undefined): number {
  const handle = nextHandle++;
  if (!held) return handle;
  stash.set(handle, { held, tape: activeTape() });
  if (stash.size > STASH_LIMIT) {
    const [oldest, kept] = stash.entries().next().value!;
    kept.held.release();
    stash.delete(oldest);
  }
  return handle;
}

/** The set kept under `handle`, removed from the stash (the backward pass releases it), or undefined. */
export function take(handle: number): HeldActivations | undefined {
  const kept = stash.get(handle);
  stash.delete(handle);
  return kept?.held;
}

/** Saved activations held for gradients not yet taken (for tests). */
export function savedActivationSets(): number {
  return stash.size;
}
