/**
 * What every kernel of this folder shares: the shape of a wasm kernel function, views of the wasm heap,
 * and the wasm backend's own kernels that the replacements delegate to.
 *
 * Everything here works on views of the wasm heap (`typedArrayFromHeap`) and allocates outputs with
 * `makeOutput`. A view must be taken after the last allocation of the kernel: an allocation can grow
 * the heap, which detaches earlier views.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type * as tf from '@tensorflow/tfjs-core';

export type TensorInfo = tf.TensorInfo;
export type TypedArray = Float32Array | Int32Array | Uint8Array;

export const WASM = 'wasm';

export interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs?: tf.NamedAttrMap;
}
export type WasmKernelFunc = (args: WasmKernelArgs) => TensorInfo | TensorInfo[];

/** A kernel this package gives the wasm backend: a missing one added, or a slow one replaced. */
export interface WasmKernelConfig {
  kernelName: string;
  kernelFunc: WasmKernelFunc;
  /** True for a replacement, which may delegate to the original (`original(kernelName)`). */
  replaces: boolean;
}

export function heap(backend: BackendWasm, info: TensorInfo): TypedArray {
  return backend.typedArrayFromHeap(info) as TypedArray;
}

export function release(backend: BackendWasm, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

/** Index values of any dtype as int32 (a copy). */
export function readIds(backend: BackendWasm, info: TensorInfo): Int32Array {
  return Int32Array.from(backend.readSync(info.dataId) as ArrayLike<number>);
}

/** The wasm backend's own kernels, kept when replaced so that the replacements can delegate to them. */
const originals = new Map<string, tf.KernelConfig>();

export function keepOriginal(config: tf.KernelConfig): void {
  originals.set(config.kernelName, config);
}

export function original(name: string): WasmKernelFunc {
  const config = originals.get(name);
  if (!config) throw new Error(`rnnlm wasm kernels: the original ${name} kernel is missing`);
  return config.kernelFunc as unknown as WasmKernelFunc;
}
