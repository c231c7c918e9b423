/**
 * BatchMatMul and _FusedMatMul: with `transposeA` or `transposeB` tfjs 4.22's wasm kernels run a
 * scalar loop several times slower than the plain case, and every matmul gradient uses one. The
 * replacements transpose the operand explicitly (one cheap copy) and then run the fast plain kernel.
 * Large products (an output head over a word vocabulary and its gradients) run in the GEMM of
 * @rnnlm/kernels instead, on all its threads (tfjs's own runs on one in Node), with the transposes read
 * in place. One file for both kernels: they are one implementation, _FusedMatMul adding a bias (and
 * activations, left to the original).
 */
import { kernelRuntime, matMul } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import {
  heap,
  original,
  release,
  type TensorInfo,
  type WasmKernelArgs,
  type WasmKernelConfig,
} from './shared.js';
import { cachedTranspose, transposeLastTwo } from './transpose.js';

/** Products with at least this many multiply-adds go to @rnnlm/kernels (smaller ones gain nothing). */
const KERNEL_MATMUL_MIN_WORK = 1 << 20;

/**
 * op(A) op(B) in @rnnlm/kernels' GEMM, for float32 operands of rank 2, or rank 3 with the same batch
 * size (no broadcasting), and at most a bias of one value per column (a dense layer's: tfjs-layers
 * fuses it into the product), no activation; null when it does not apply.
 */
function kernelMatMul(args: WasmKernelArgs): TensorInfo | null {
  const { inputs, backend } = args;
  const attrs = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string };
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const bias = inputs.bias as TensorInfo | undefined;
  if (inputs.preluActivationWeights || (attrs.activation && attrs.activation !== 'linear')) return null;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const rank = a.shape.length;
  if (b.shape.length !== rank || (rank !== 2 && rank !== 3)) return null;
  const batch = rank === 3 ? a.shape[0]! : 1;
  if (rank === 3 && b.shape[0] !== batch) return null;
  const [aRows, aCols] = a.shape.slice(-2) as [number, number];
  const [bRows, bCols] = b.shape.slice(-2) as [number, number];
  const [M, K] = attrs.transposeA ? [aCols, aRows] : [aRows, aCols];
  const [K2, N] = attrs.transposeB ? [bCols, bRows] : [bRows, bCols];
  if (K !== K2 || batch * M * N * K < KERNEL_MATMUL_MIN_WORK) return null;
  if (
    bias &&
    (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== N || bias.shape.at(-1) !== N)
  ) {
    return null;
  }
  const runtime = kernelRuntime();
  if (runtime === null) return null;
  const out = backend.makeOutput(rank === 3 ? [batch, M, N] : [M, N], 'float32');
  // Views after the last allocation: making the output may have grown the heap.
  const aView = heap(backend, a) as Float32Array;
  const bView = heap(backend, b) as Float32Array;
  const outView = heap(backend, out) as Float32Array;
  const biasView = bias ? (heap(backend, bias) as Float32Array) : undefined;
  for (let i = 0; i < batch; i++) {
    const c = matMul(runtime, {
      a: aView.subarray(i * M * K, (i + 1) * M * K),
      b: bView.subarray(i * K * N, (i + 1) * K * N),
      M,
      N,
      K,
      transposeA: attrs.transposeA,
      transposeB: attrs.transposeB,
      ...(biasView ? { bias: biasView } : {}),
    });
    outView.set(c, i * M * N);
  }
  return out;
}

function withExplicitTranspose(name: string, args: WasmKernelArgs): TensorInfo {
  const viaKernels = kernelMatMul(args);
  if (viaKernels) return viaKernels;
  const { inputs, backend } = args;
  const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  // Only float32 reaches the fast path (the original throws a clear error for other dtypes).
  if ((!attrs.transposeA && !attrs.transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return original(name)(args) as TensorInfo;
  }
  const a2 = attrs.transposeA ? transposeLastTwo(backend, a) : a;
  // A 2-D right operand is a weight matrix that comes back every time step: cache its transpose.
  const cacheB = attrs.transposeB && b.shape.length === 2;
  const b2 = !attrs.transposeB ? b : cacheB ? cachedTranspose(backend, b) : transposeLastTwo(backend, b);
  try {
    return original(name)({
      inputs: { ...inputs, a: a2, b: b2 },
      backend,
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    }) as TensorInfo;
  } finally {
    if (a2 !== a) release(backend, a2);
    if (b2 !== b && !cacheB) release(backend, b2);
  }
}

export const batchMatMulConfig: WasmKernelConfig = {
  kernelName: 'BatchMatMul',
  kernelFunc: (args) => withExplicitTranspose('BatchMatMul', args),
  replaces: true,
};

export const fusedMatMulConfig: WasmKernelConfig = {
  kernelName: '_FusedMatMul',
  kernelFunc: (args) => withExplicitTranspose('_FusedMatMul', args),
  replaces: true,
};
