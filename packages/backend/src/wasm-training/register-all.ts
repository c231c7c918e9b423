/**
 * The kernels of tfjs's `wasm` backend that training recurrent models needs and that tfjs 4.22 lacks or
 * runs slowly (measured on 2 cores; see README.md), one file a kernel in this folder, all listed here
 * (as tfjs-backend-wasm's own `register_all_kernels.ts` lists its kernels):
 *
 * - added: UnsortedSegmentSum (the gradient of gather);
 * - replaced: BatchMatMul and _FusedMatMul (transposed operands), GatherV2, Slice, SplitV, Unpack,
 *   StridedSlice (copies) and Identity (shares the data instead of copying it).
 *
 * Browser-safe: imports only tfjs-core (and a type from the wasm backend).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gatherV2Config } from './gather-v2.js';
import { identityConfig } from './identity.js';
import { batchMatMulConfig, fusedMatMulConfig } from './mat-mul.js';
import { keepOriginal, WASM, type WasmKernelConfig } from './shared.js';
import { sliceConfig } from './slice.js';
import { splitVConfig } from './split-v.js';
import { stridedSliceConfig } from './strided-slice.js';
import { unpackConfig } from './unpack.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

/** Every kernel this package gives the wasm backend, in the order they are registered. */
const WASM_KERNEL_CONFIGS: readonly WasmKernelConfig[] = [
  unsortedSegmentSumConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  gatherV2Config,
  sliceConfig,
  splitVConfig,
  unpackConfig,
  stridedSliceConfig,
  identityConfig,
];

/** What `registerWasmTrainingKernels` did, kernel by kernel. */
export interface WasmKernelReport {
  /** Kernels that were missing and are now registered. */
  added: string[];
  /** Kernels whose slow implementation was replaced. */
  replaced: string[];
}

/** Names of the kernels this package adds to or replaces in the wasm backend. */
export const WASM_TRAINING_KERNELS: {
  readonly added: readonly string[];
  readonly replaced: readonly string[];
} = {
  added: WASM_KERNEL_CONFIGS.filter((k) => !k.replaces).map((k) => k.kernelName),
  replaced: WASM_KERNEL_CONFIGS.filter((k) => k.replaces).map((k) => k.kernelName),
};

/** Options of `registerWasmTrainingKernels`. */
export interface WasmKernelOptions {
  /**
   * Also replace the slow kernels (default true). False adds only the missing ones, which is the least
   * that makes training run at all: the benchmark uses it to measure what the replacements gain.
   */
  replaceSlowKernels?: boolean;
}

const report: WasmKernelReport = { added: [], replaced: [] };
let missingAdded = false;
let slowReplaced = false;

/**
 * Adds the kernels the wasm backend lacks for training and replaces its slow ones (see the module
 * comment). Idempotent. Call it before `tf.setBackend('wasm')`: the replaced kernels' setup runs when
 * the backend becomes active.
 */
export function registerWasmTrainingKernels(options: WasmKernelOptions = {}): WasmKernelReport {
  if (!missingAdded) {
    for (const { kernelName, kernelFunc } of WASM_KERNEL_CONFIGS.filter((k) => !k.replaces)) {
      if (tf.getKernel(kernelName, WASM)) continue;
      tf.registerKernel({
        kernelName,
        backendName: WASM,
        kernelFunc: kernelFunc as unknown as tf.KernelFunc,
      });
      report.added.push(kernelName);
    }
    missingAdded = true;
  }
  if (slowReplaced || options.replaceSlowKernels === false) return report;
  for (const { kernelName, kernelFunc } of WASM_KERNEL_CONFIGS.filter((k) => k.replaces)) {
    const original = tf.getKernel(kernelName, WASM);
    // The replacements delegate to the original for the cases they leave alone.
    if (!original) continue;
    keepOriginal(original);
    tf.unregisterKernel(kernelName, WASM);
    const config: tf.KernelConfig = {
      kernelName,
      backendName: WASM,
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    };
    // The original kernels bind their wasm functions in `setupFunc`, which the engine calls each time
    // the backend becomes active; keep it, since the replacements call the originals.
    if (original.setupFunc) config.setupFunc = original.setupFunc;
    if (original.disposeFunc) config.disposeFunc = original.disposeFunc;
    tf.registerKernel(config);
    report.replaced.push(kernelName);
  }
  slowReplaced = true;
  return report;
}
