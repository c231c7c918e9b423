/**
 * UnsortedSegmentSum, missing from tfjs 4.22's wasm backend: it is the gradient of `gather` (and of an
 * embedding layer), so without it no model that gathers rows by token id can train on wasm.
 *
 * out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s. The ids index the leading dimensions of
 * x (segmentIds.shape is a prefix of x.shape); ids outside [0, numSegments) are dropped, as in
 * TensorFlow.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heap, readIds, type TensorInfo, type WasmKernelArgs, type WasmKernelConfig } from './shared.js';

function unsortedSegmentSum({ inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const x = inputs.x as TensorInfo;
  const segmentIds = inputs.segmentIds as TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum on wasm supports float32 and int32, got ${x.dtype}`);
  }
  const idsRank = segmentIds.shape.length;
  const outShape = [numSegments, ...x.shape.slice(idsRank)];
  const numIds = tf.util.sizeFromShape(segmentIds.shape);
  const inner = numIds === 0 ? 0 : tf.util.sizeFromShape(x.shape) / numIds;
  const out = backend.makeOutput(outShape, x.dtype);
  const outVals = heap(backend, out);
  outVals.fill(0);
  if (inner === 0) return out;
  const xVals = heap(backend, x);
  const ids =
    segmentIds.dtype === 'int32' ? (heap(backend, segmentIds) as Int32Array) : readIds(backend, segmentIds);
  for (let i = 0; i < numIds; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) outVals[dst + j]! += xVals[src + j]!;
  }
  return out;
}

export const unsortedSegmentSumConfig: WasmKernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  kernelFunc: unsortedSegmentSum,
  replaces: false,
};
