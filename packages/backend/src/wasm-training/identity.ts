/**
 * Identity: tfjs 4.22's wasm kernel copies its input, and tfjs runs it for every tensor it saves for a
 * gradient (`clone`): a training step copied each saved activation once more. The replacement shares
 * the data, as the cpu backend's does and as `Reshape` does on wasm (tfjs never writes into a tensor's
 * data in place).
 */
import { original, type TensorInfo, type WasmKernelArgs, type WasmKernelConfig } from './shared.js';

function identity(args: WasmKernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype === 'string') return original('Identity')(args) as TensorInfo;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: WasmKernelConfig = {
  kernelName: 'Identity',
  kernelFunc: identity,
  replaces: true,
};
