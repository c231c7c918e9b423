/**
 * Tensors of the backends that keep them in CPU memory (wasm and cpu), read and made without a copy
 * where the backend allows it: what a tfjs kernel needs to run @rnnlm/kernels code on its inputs and
 * hand the results back. The backends are reached through their kernel-side API only (no import of a
 * backend package). The one place that knows these backends' insides: the fused ops of this folder use
 * it, and so does @rnnlm/train's fused optimizer update (exported for that).
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The backends these functions serve, by tfjs name. */
export const HOST_BACKENDS = ['wasm', 'cpu'] as const;

interface CpuLikeBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
  readSync(dataId: object): unknown;
}
interface WasmLikeBackend {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
  refCount(dataId: object): number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

function isWasm(backend: unknown): backend is WasmLikeBackend {
  return typeof (backend as WasmLikeBackend).typedArrayFromHeap === 'function';
}

function values(backend: unknown, info: tf.TensorInfo): unknown {
  if (isWasm(backend)) return backend.typedArrayFromHeap(info);
  const cpu = backend as CpuLikeBackend;
  return cpu.data.get(info.dataId)?.values ?? cpu.readSync(info.dataId);
}

/** The values of a float32 tensor: a view of the wasm heap (valid until its next allocation) or cpu's array. */
export function readFloats(backend: unknown, info: tf.TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`rnnlm kernels take float32 tensors, got ${info.dtype}`);
  const v = values(backend, info);
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** The values of an int32 tensor (token ids, labels), as readFloats. */
export function readInts(backend: unknown, info: tf.TensorInfo): Int32Array {
  if (info.dtype !== 'int32') throw new Error(`rnnlm kernels take int32 token ids, got ${info.dtype}`);
  const v = values(backend, info);
  return v instanceof Int32Array ? v : Int32Array.from(v as ArrayLike<number>);
}

export function readInt(backend: unknown, info: tf.TensorInfo): number {
  return readInts(backend, info)[0]!;
}

/**
 * A new float32 tensor of the backend whose values are written afterwards, through `readFloats` (its
 * own memory: on wasm a view of the heap, valid until the backend next allocates). Its values until
 * then are unspecified on wasm.
 */
export function newFloats(backend: unknown, shape: number[]): tf.TensorInfo {
  if (isWasm(backend)) return backend.makeOutput(shape, 'float32');
  // A fresh array, which tfjs keeps as the tensor's own.
  const size = shape.reduce((n, d) => n * d, 1);
  return (backend as CpuLikeBackend).makeTensorInfo(shape, 'float32', new Float32Array(size));
}

/** A new float32 tensor of the backend holding a copy of `values` (views of kernel memory, typically). */
export function writeFloats(backend: unknown, shape: number[], data: ArrayLike<number>): tf.TensorInfo {
  const info = newFloats(backend, shape);
  // set(), not a copy made by slice(): slice() of a shared-memory view copies slowly.
  readFloats(backend, info).set(data);
  return info;
}

/**
 * Writes `data` over a float32 tensor's own values on the wasm backend, where they lie, and says true;
 * for a variable that only the variable holds, this replaces making a tensor, assigning it and freeing
 * the old values. Says false and writes nothing when anything else shares those values (a clone, a
 * reshape: the backend counts more than one reference), and on cpu, whose reads (`dataSync`, `data`)
 * hand out the tensor's own array, which a caller may still hold (a checkpoint being written): the
 * caller then makes a new tensor instead. Reads on wasm are copies.
 */
export function overwriteFloats(backend: unknown, info: tf.TensorInfo, data: ArrayLike<number>): boolean {
  if (info.dtype !== 'float32') throw new Error(`rnnlm kernels take float32 tensors, got ${info.dtype}`);
  if (!isWasm(backend) || backend.refCount(info.dataId) !== 1) return false;
  const target = backend.typedArrayFromHeap(info);
  if (!(target instanceof Float32Array) || target.length !== data.length) return false;
  target.set(data);
  return true;
}

/** A new int32 scalar of the backend. */
export function writeInt(backend: unknown, value: number): tf.TensorInfo {
  if (isWasm(backend)) {
    const info = backend.makeOutput([], 'int32');
    (backend.typedArrayFromHeap(info) as Int32Array)[0] = value;
    return info;
  }
  return (backend as CpuLikeBackend).makeTensorInfo([], 'int32', Int32Array.of(value));
}
