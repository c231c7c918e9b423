/**
 * Kernels for the tfjs `wasm` backend that training recurrent models needs and that tfjs 4.22 lacks or
 * runs slowly (measured on 2 cores; see README.md):
 *
 * - `UnsortedSegmentSum` is not registered at all, and it is the gradient of `gather` (and of an
 *   embedding layer): without it no model that gathers rows by token id can train on wasm.
 * - `BatchMatMul` / `_FusedMatMul` with `transposeA` or `transposeB` run a scalar loop several times
 *   slower than the plain case, and every matmul gradient uses one. The replacements transpose the
 *   operand explicitly (one cheap copy) and then run the fast plain kernel. Large products (an output
 *   head over a word vocabulary and its gradients) run in the GEMM of @rnnlm/kernels instead, on all
 *   its threads (tfjs's own runs on one in Node), with the transposes read in place.
 * - `Slice`, `SplitV`, `Unpack` and `StridedSlice` copy the whole input out of wasm memory on every call
 *   (`readSync`) before taking their part; the replacements copy only the part, straight between views
 *   of wasm memory.
 * - `GatherV2` walks element by element; the replacement copies whole rows.
 * - `Identity` copies its input, and tfjs runs it for every tensor it saves for a gradient (`clone`):
 *   a training step copied each saved activation once more. The replacement shares the data, as the
 *   cpu backend's does and as `Reshape` does on wasm (tfjs never writes into a tensor's data in place).
 *
 * Everything here works on views of the wasm heap (`typedArrayFromHeap`) and allocates outputs with
 * `makeOutput`. A view must be taken after the last allocation of the kernel: an allocation can grow
 * the heap, which detaches earlier views.
 *
 * Browser-safe: imports only tfjs-core (and a type from the wasm backend).
 */
import { kernels, matMul } from '@rnnlm/kernels';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

type TensorInfo = tf.TensorInfo;
type TypedArray = Float32Array | Int32Array | Uint8Array;

interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs?: tf.NamedAttrMap;
}
type WasmKernelFunc = (args: WasmKernelArgs) => TensorInfo | TensorInfo[];

const WASM = 'wasm';

/** What `registerWasmTrainingKernels` did, kernel by kernel. */
export interface WasmKernelReport {
  /** Kernels that were missing and are now registered. */
  added: string[];
  /** Kernels whose slow implementation was replaced. */
  replaced: string[];
}

/** Names of the kernels this module adds to or replaces in the wasm backend. */
export const WASM_TRAINING_KERNELS = {
  added: ['UnsortedSegmentSum'],
  replaced: [
    'BatchMatMul',
    '_FusedMatMul',
    'GatherV2',
    'Slice',
    'SplitV',
    'Unpack',
    'StridedSlice',
    'Identity',
  ],
} as const;

// The wasm backend's own kernels, kept so that the replacements can delegate to them.
const originals = new Map<string, tf.KernelConfig>();
const report: WasmKernelReport = { added: [], replaced: [] };
let missingAdded = false;
let slowReplaced = false;

export interface WasmKernelOptions {
  /**
   * Also replace the slow kernels (default true). False adds only the missing ones, which is the least
   * that makes training run at all: the benchmark uses it to measure what the replacements gain.
   */
  replaceSlowKernels?: boolean;
}

/**
 * Adds the kernels the wasm backend lacks for training and replaces its slow ones (see the module
 * comment). Idempotent. Call it before `tf.setBackend('wasm')`: the replaced kernels' setup runs when
 * the backend becomes active.
 */
export function registerWasmTrainingKernels(options: WasmKernelOptions = {}): WasmKernelReport {
  if (!missingAdded) {
    if (!tf.getKernel('UnsortedSegmentSum', WASM)) {
      tf.registerKernel({
        kernelName: 'UnsortedSegmentSum',
        backendName: WASM,
        kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
      });
      report.added.push('UnsortedSegmentSum');
    }
    missingAdded = true;
  }
  if (slowReplaced || options.replaceSlowKernels === false) return report;

  const replacements: Record<string, WasmKernelFunc> = {
    BatchMatMul: batchMatMul,
    _FusedMatMul: fusedMatMul,
    GatherV2: gatherV2,
    Slice: slice,
    SplitV: splitV,
    Unpack: unpack,
    StridedSlice: stridedSlice,
    Identity: identity,
  };
  for (const [name, kernelFunc] of Object.entries(replacements)) {
    const original = tf.getKernel(name, WASM);
    // The replacements delegate to the original for the cases they leave alone.
    if (!original) continue;
    originals.set(name, original);
    tf.unregisterKernel(name, WASM);
    const config: tf.KernelConfig = {
      kernelName: name,
      backendName: WASM,
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    };
    // The original kernels bind their wasm functions in `setupFunc`, which the engine calls each time
    // the backend becomes active; keep it, since the replacements call the originals.
    if (original.setupFunc) config.setupFunc = original.setupFunc;
    if (original.disposeFunc) config.disposeFunc = original.disposeFunc;
    tf.registerKernel(config);
    report.replaced.push(name);
  }
  slowReplaced = true;
  return report;
}

function original(name: string): WasmKernelFunc {
  const config = originals.get(name);
  if (!config) throw new Error(`rnnlm wasm kernels: the original ${name} kernel is missing`);
  return config.kernelFunc as unknown as WasmKernelFunc;
}

function release(backend: BackendWasm, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

function heap(backend: BackendWasm, info: TensorInfo): TypedArray {
  return backend.typedArrayFromHeap(info) as TypedArray;
}

// ---------------------------------------------------------------------------------------------------
// UnsortedSegmentSum: out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s. The ids index the
// leading dimensions of x (segmentIds.shape is a prefix of x.shape); ids outside [0, numSegments) are
// dropped, as in TensorFlow.

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

function readIds(backend: BackendWasm, info: TensorInfo): Int32Array {
  return Int32Array.from(backend.readSync(info.dataId) as ArrayLike<number>);
}

// ---------------------------------------------------------------------------------------------------
// Matmul: transpose explicitly, then run the fast plain kernel.

/** Transposes the last two dimensions with the backend's own (fast) Transpose kernel. */
function transposeLastTwo(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  const transpose = tf.getKernel('Transpose', WASM)!.kernelFunc as unknown as WasmKernelFunc;
  return transpose({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

/**
 * Transposed copies of recent matrix operands, by the source's data id. A recurrent layer multiplies
 * by the transposed recurrent weight once per time step in the backward pass (dH = dGates W_h^T), and
 * transposing a [256, 1024] matrix costs about as much as the product itself; the copy is made once per
 * batch instead. Sound because tfjs never changes the values behind a data id (a variable's `assign`
 * gives it a new one). Bounded: entries whose source was disposed are freed on the next matmul, and
 * at most `TRANSPOSE_CACHE_SIZE` are kept.
 */
const TRANSPOSE_CACHE_SIZE = 4;
const transposeCaches = new WeakMap<BackendWasm, Map<object, TensorInfo>>();

function cachedTranspose(backend: BackendWasm, x: TensorInfo): TensorInfo {
  let cache = transposeCaches.get(backend);
  if (!cache) {
    cache = new Map();
    transposeCaches.set(backend, cache);
  }
  for (const [source, copy] of cache) {
    if (!backend.dataIdMap.has(source)) {
      release(backend, copy);
      cache.delete(source);
    }
  }
  const hit = cache.get(x.dataId);
  if (hit) {
    // Most recently used last.
    cache.delete(x.dataId);
    cache.set(x.dataId, hit);
    return hit;
  }
  const copy = transposeLastTwo(backend, x);
  cache.set(x.dataId, copy);
  if (cache.size > TRANSPOSE_CACHE_SIZE) {
    const [oldest, oldCopy] = cache.entries().next().value as [object, TensorInfo];
    release(backend, oldCopy);
    cache.delete(oldest);
  }
  return copy;
}

/** Frees the cached transposed copies (for leak checks and before disposing a backend). */
export function clearWasmTransposeCache(backend?: unknown): void {
  const wasm = (backend ?? tf.findBackend(WASM)) as BackendWasm | null;
  const cache = wasm ? transposeCaches.get(wasm) : undefined;
  if (!wasm || !cache) return;
  for (const copy of cache.values()) release(wasm, copy);
  cache.clear();
}

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
  const runtime = kernels();
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

function batchMatMul(args: WasmKernelArgs): TensorInfo {
  return withExplicitTranspose('BatchMatMul', args);
}

function fusedMatMul(args: WasmKernelArgs): TensorInfo {
  return withExplicitTranspose('_FusedMatMul', args);
}

// ---------------------------------------------------------------------------------------------------
// Gather: copy whole rows.

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

// ---------------------------------------------------------------------------------------------------
// Slicing without copying the whole input first.

/** Copies the box [begin, begin + size) of x into a new tensor, row by row between heap views. */
function sliceOnHeap(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
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

function slice(args: WasmKernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype === 'string') return original('Slice')(args) as TensorInfo;
  const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
  tf.slice_util.assertParamsValid(x as tf.Tensor, begin_, size_);
  return sliceOnHeap(args.backend, x, begin_, size_);
}

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

function stridedSlice(args: WasmKernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  const a = args.attrs as unknown as {
    begin: number[];
    end: number[];
    strides: number[];
    beginMask: number;
    endMask: number;
    ellipsisMask: number;
    newAxisMask: number;
    shrinkAxisMask: number;
  };
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
  // Only the contiguous-box case is slow in the original (it copies the whole input first); a
  // strided one runs in wasm already.
  if (info.isIdentity || !(info.sliceDim0 || info.isSimpleSlice)) {
    return original('StridedSlice')(args) as TensorInfo;
  }
  const size = tf.slice_util.computeOutShape(info.begin, info.end, info.strides);
  if (size.some((s) => s < 0)) return original('StridedSlice')(args) as TensorInfo;
  const part = sliceOnHeap(args.backend, x, info.begin, size);
  // Reshape is metadata only: hand the same data over under the final shape.
  return { dataId: part.dataId, dtype: part.dtype, shape: info.finalShape };
}

// ---------------------------------------------------------------------------------------------------
// Identity: share the data instead of copying it.

function identity(args: WasmKernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype === 'string') return original('Identity')(args) as TensorInfo;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
