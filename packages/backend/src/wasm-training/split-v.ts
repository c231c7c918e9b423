/** SplitV without copying the whole input first: each part on its own (see slice-on-heap.ts). */
import * as tf from '@tensorflow/tfjs-core';
import { original, type TensorInfo, type WasmKernelArgs, type WasmKernelConfig } from './shared.js';
import { sliceOnHeap } from './slice-on-heap.js';

function splitV(args: WasmKernelArgs): TensorInfo[] {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype === 'string') return original('SplitV')(args) as TensorInfo[];
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[$axis] = s;
    const part = sliceOnHeap(args.backend, x, begin, size);
    begin[$axis]! += s;
    return part;
  });
}

export const splitVConfig: WasmKernelConfig = { kernelName: 'SplitV', kernelFunc: splitV, replaces: true };
