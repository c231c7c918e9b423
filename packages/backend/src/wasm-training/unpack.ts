/** Unpack (unstack) without copying the whole input first: each part on its own (see slice-on-heap.ts). */
import { original, type TensorInfo, type WasmKernelArgs, type WasmKernelConfig } from './shared.js';
import { sliceOnHeap } from './slice-on-heap.js';

function unpack(args: WasmKernelArgs): TensorInfo[] {
  const value = args.inputs.value as TensorInfo;
  if (value.dtype === 'string') return original('Unpack')(args) as TensorInfo[];
  let { axis } = args.attrs as { axis: number };
  if (axis < 0) axis += value.shape.length;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(value.shape.length).fill(0);
  const size = [...value.shape];
  size[axis] = 1;
  const outs: TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]!; i++) {
    begin[axis] = i;
    const part = sliceOnHeap(args.backend, value, begin, size);
    outs.push({ dataId: part.dataId, dtype: part.dtype, shape: outShape });
  }
  return outs;
}

export const unpackConfig: WasmKernelConfig = { kernelName: 'Unpack', kernelFunc: unpack, replaces: true };
