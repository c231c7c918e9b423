/** Slice without copying the whole input first (see slice-on-heap.ts). */
import * as tf from '@tensorflow/tfjs-core';
import { original, type TensorInfo, type WasmKernelArgs, type WasmKernelConfig } from './shared.js';
import { sliceOnHeap } from './slice-on-heap.js';

function slice(args: WasmKernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype === 'string') return original('Slice')(args) as TensorInfo;
  const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
  tf.slice_util.assertParamsValid(x as tf.Tensor, begin_, size_);
  return sliceOnHeap(args.backend, x, begin_, size_);
}

export const sliceConfig: WasmKernelConfig = { kernelName: 'Slice', kernelFunc: slice, replaces: true };
