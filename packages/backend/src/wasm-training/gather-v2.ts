/** GatherV2: tfjs 4.22's wasm kernel walks element by element; the replacement copies whole rows. */
import * as tf from '@tensorflow/tfjs-core';
import {
  heap,
  original,
  readIds,
  type TensorInfo,
  type WasmKernelArgs,
  type WasmKernelConfig,
} from './shared.js';

function gatherV2(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const x = inputs.x as TensorInfo;
  const indices = inputs.indices as TensorInfo;
  const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
  if (batchDims !== 0 || x.dtype === 'string') return original('GatherV2')(args) as TensorInfo;
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const dimSize = x.shape[parsedAxis]!;
  const outer = tf.util.sizeFromShape(x.shape.slice(0, parsedAxis));
  const sliceSize = tf.util.sizeFromShape(x.shape.slice(parsedAxis + 1));
  const numIdx = tf.util.sizeFromShape(indices.shape);
  const outShape = [...x.shape.slice(0, parsedAxis), ...indices.shape, ...x.shape.slice(parsedAxis + 1)];
  const idx = indices.dtype === 'int32' ? Int32Array.from(heap(backend, indices)) : readIds(backend, indices);
  for (let i = 0; i < numIdx; i++) {
    const v = idx[i]!;
    if (!(v >= 0 && v < dimSize)) {
      throw new Error(`GatherV2: the index value ${v} is not in [0, ${dimSize - 1}]`);
    }
  }
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const xVals = heap(backend, x);
  const outVals = heap(backend, out);
  let dst = 0;
  for (let o = 0; o < outer; o++) {
    const base = o * dimSize * sliceSize;
    for (let i = 0; i < numIdx; i++) {
      const src = base + idx[i]! * sliceSize;
      if (sliceSize === 1) outVals[dst] = xVals[src]!;
      else outVals.set(xVals.subarray(src, src + sliceSize), dst);
      dst += sliceSize;
    }
  }
  return out;
}

export const gatherV2Config: WasmKernelConfig = {
  kernelName: 'GatherV2',
  kernelFunc: gatherV2,
  replaces: true,
};
