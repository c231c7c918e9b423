/**
 * Transposes for the matmul replacements, and a cache of transposed copies of recent matrix operands,
 * by the source's data id. A recurrent layer multiplies by the transposed recurrent weight once per
 * time step in the backward pass (dH = dGates W_h^T), and transposing a [256, 1024] matrix costs about
 * as much as the product itself; the copy is made once per batch instead. Sound because tfjs never
 * changes the values behind a data id (a variable's `assign` gives it a new one). Bounded: entries
 * whose source was disposed are freed on the next matmul, and at most `TRANSPOSE_CACHE_SIZE` are kept.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { release, type TensorInfo, WASM, type WasmKernelFunc } from './shared.js';

/** Transposes the last two dimensions with the backend's own (fast) Transpose kernel. */
export function transposeLastTwo(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  const transpose = tf.getKernel('Transpose', WASM)!.kernelFunc as unknown as WasmKernelFunc;
  return transpose({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

const TRANSPOSE_CACHE_SIZE = 4;
const transposeCaches = new WeakMap<BackendWasm, Map<object, TensorInfo>>();

/** The transpose of a 2-D x, from the cache when x was transposed recently (the cache owns it). */
export function cachedTranspose(backend: BackendWasm, x: TensorInfo): TensorInfo {
  let cache = transposeCaches.get(backend);
  if (!cache) {
    cache = new Map();
    transposeCaches.set(backend, cache);
  }
  for (const [source, copy] of cache) {
    if (!backend.dataIdMap.has(source)) {
      release(backend, copy);
      cache.delete(source);
    }
  }
  const hit = cache.get(x.dataId);
  if (hit) {
    // Most recently used last.
    cache.delete(x.dataId);
    cache.set(x.dataId, hit);
    return hit;
  }
  const copy = transposeLastTwo(backend, x);
  cache.set(x.dataId, copy);
  if (cache.size > TRANSPOSE_CACHE_SIZE) {
    const [oldest, oldCopy] = cache.entries().next().value as [object, TensorInfo];
    release(backend, oldCopy);
    cache.delete(oldest);
  }
  return copy;
}

/** Frees the cached transposed copies (for leak checks and before disposing a backend). */
export function clearWasmTransposeCache(backend?: unknown): void {
  const wasm = (backend ?? tf.findBackend(WASM)) as BackendWasm | null;
  const cache = wasm ? transposeCaches.get(wasm) : undefined;
  if (!wasm || !cache) return;
  for (const copy of cache.values()) release(wasm, copy);
  cache.clear();
}
