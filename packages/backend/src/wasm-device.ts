/** What both entries report once the wasm backend runs: where its math runs, in words. Browser-safe. */
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

export async function wasmActivation(): Promise<{ tfjsBackend: 'wasm'; device: string }> {
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = getThreadsCount();
  return {
    tfjsBackend: 'wasm',
    device: `CPU (WebAssembly${simd ? ' with SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'})`,
  };
}
