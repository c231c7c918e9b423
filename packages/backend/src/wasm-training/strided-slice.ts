/**
 * StridedSlice without copying the whole input first, for the contiguous-box case (see
 * slice-on-heap.ts); a strided one runs in wasm already and goes to the original.
 */
import * as tf from '@tensorflow/tfjs-core';
import { original, type TensorInfo, type WasmKernelArgs, type WasmKernelConfig } from './shared.js';
import { sliceOnHeap } from './slice-on-heap.js';

/** A type alias, not an interface: a tfjs NamedAttrMap can be read as it directly. */
type StridedSliceAttrs = {
  begin: number[];
  end: number[];
  strides: number[];
  beginMask: number;
  endMask: number;
  ellipsisMask: number;
  newAxisMask: number;
  shrinkAxisMask: number;
};

function stridedSlice(args: WasmKernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  const a = args.attrs as StridedSliceAttrs;
  if (x.dtype === 'string') return original('StridedSlice')(args) as TensorInfo;
  const info = tf.slice_util.sliceInfo(
    x.shape,
    a.begin,
    a.end,
    a.strides,
    a.beginMask,
    a.endMask,
    a.ellipsisMask,
    a.newAxisMask,
    a.shrinkAxisMask,
  );
  // Only the contiguous-box case is slow in the original (it copies the whole input first).
  if (info.isIdentity || !(info.sliceDim0 || info.isSimpleSlice)) {
    return original('StridedSlice')(args) as TensorInfo;
  }
  const size = tf.slice_util.computeOutShape(info.begin, info.end, info.strides);
  if (size.some((s) => s < 0)) return original('StridedSlice')(args) as TensorInfo;
  const part = sliceOnHeap(args.backend, x, info.begin, size);
  // Reshape is metadata only: hand the same data over under the final shape.
  return { dataId: part.dataId, dtype: part.dtype, shape: info.finalShape };
}

export const stridedSliceConfig: WasmKernelConfig = {
  kernelName: 'StridedSlice',
  kernelFunc: stridedSlice,
  replaces: true,
};
