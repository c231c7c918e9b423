/**
 * The copy behind the slicing replacements (Slice, SplitV, Unpack, StridedSlice): tfjs 4.22's wasm
 * kernels copy the whole input out of wasm memory on every call (`readSync`) before taking their part;
 * this copies only the part, straight between views of wasm memory.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { heap, type TensorInfo } from './shared.js';

/** Copies the box [begin, begin + size) of x into a new tensor, row by row between heap views. */
export function sliceOnHeap(
  backend: BackendWasm,
  x: TensorInfo,
  begin: number[],
  size: number[],
): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const total = tf.util.sizeFromShape(size);
  if (total === 0) return out;
  const xVals = heap(backend, x);
  const outVals = heap(backend, out);
  const rank = x.shape.length;
  if (rank === 0) {
    outVals[0] = xVals[0]!;
    return out;
  }
  const strides = tf.util.computeStrides(x.shape);
  // Merge trailing dimensions that are taken whole into one contiguous run.
  let runDim = rank - 1;
  let run = size[runDim]!;
  while (runDim > 0 && size[runDim] === x.shape[runDim] && begin[runDim] === 0) {
    runDim--;
    run *= size[runDim]!;
  }
  // Odometer over the dimensions before runDim.
  const counter = new Array<number>(runDim).fill(0);
  const rows = total / run;
  let dst = 0;
  for (let r = 0; r < rows; r++) {
    let src = begin[runDim]! * (runDim === rank - 1 ? 1 : strides[runDim]!);
    for (let d = 0; d < runDim; d++) src += (begin[d]! + counter[d]!) * strides[d]!;
    outVals.set(xVals.subarray(src, src + run), dst);
    dst += run;
    for (let d = runDim - 1; d >= 0; d--) {
      counter[d]!++;
      if (counter[d]! < size[d]!) break;
      counter[d] = 0;
    }
  }
  return out;
}
