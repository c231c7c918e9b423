/**
 * Starting tfjs's webgpu backend on a `navigator.gpu`: the browser's own, or in Node the one the
 * `webgpu` package (Dawn) provides. Shared by both entries. Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Activation, BackendUnavailableError } from './select.js';
import { registerWebgpuTrainingKernels } from './webgpu-training/register-all.js';

/** The part of a WebGPU adapter read here (the `@webgpu/types` names). */
export interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  /** Older implementations put the flag on the adapter rather than its info. */
  isFallbackAdapter?: boolean;
}

/** The part of `navigator.gpu` read here. */
export interface GpuLike {
  requestAdapter(options?: {
    powerPreference?: 'high-performance' | 'low-power';
  }): Promise<GpuAdapterLike | null>;
}

/**
 * Starts the webgpu backend on `gpu`. `noAdapter` says, for this platform, what to do when no adapter
 * is found. With `software: 'refuse'` an adapter that runs on the CPU (SwiftShader, lavapipe) is
 * refused: it is far slower than the wasm kernels, and timing it costs minutes of shader compilation.
 * tfjs-backend-webgpu is imported here, after `navigator.gpu` exists: it registers its backend on
 * import only when it sees one.
 */
export async function activateWebgpuOn(
  gpu: GpuLike,
  noAdapter: string,
  software: 'accept' | 'refuse' = 'accept',
): Promise<Activation<'webgpu'>> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const { device, notes } = checkAdapter(adapter, noAdapter, software);
  await import('@tensorflow/tfjs-backend-webgpu');
  if (tf.findBackendFactory('webgpu') == null) {
    throw new BackendUnavailableError(
      'webgpu',
      '@tensorflow/tfjs-backend-webgpu registered no "webgpu" backend (it was loaded before navigator.gpu existed)',
    );
  }
  registerWebgpuTrainingKernels();
  // setBackend resolves false (it does not throw) when the device cannot be created.
  if (!(await tf.setBackend('webgpu'))) {
    throw new BackendUnavailableError('webgpu', 'a WebGPU adapter was found but its device failed to start');
  }
  return { tfjsBackend: 'webgpu', device, notes };
}

/**
 * The adapter described, or why it cannot be used: none found (`noAdapter` says what to do), or a
 * software one where `software` is 'refuse'.
 */
export function checkAdapter(
  adapter: GpuAdapterLike | null,
  noAdapter: string,
  software: 'accept' | 'refuse',
): ReturnType<typeof describeAdapter> {
  if (adapter === null) throw new BackendUnavailableError('webgpu', `WebGPU found no adapter (${noAdapter})`);
  const described = describeAdapter(adapter);
  if (software === 'refuse' && described.onCpu) {
    throw new BackendUnavailableError(
      'webgpu',
      `the only WebGPU adapter is a software one on the CPU (${described.name}), slower than the CPU backends: ` +
        'ask for --backend webgpu to use it anyway',
    );
  }
  return described;
}

/** Where the math runs, in words; a software adapter (SwiftShader) runs on the CPU and says so. */
export function describeAdapter(adapter: GpuAdapterLike): {
  device: string;
  notes: string[];
  /** The adapter's own name. */
  name: string;
  /** True for a software adapter, which runs on the CPU. */
  onCpu: boolean;
} {
  const info = adapter.info ?? {};
  const name =
    [info.description, info.vendor && info.architecture ? `${info.vendor} ${info.architecture}` : info.vendor]
      .find((part) => part !== undefined && part !== '')
      ?.trim() ?? 'unnamed adapter';
  if (info.isFallbackAdapter === true || adapter.isFallbackAdapter === true) {
    return {
      name,
      onCpu: true,
      device: `CPU (WebGPU on a software adapter: ${name})`,
      notes: [
        'the WebGPU adapter is a software one: it runs on the CPU, slowly; it is for tests, not for speed',
      ],
    };
  }
  return { name, onCpu: false, device: `GPU (WebGPU: ${name})`, notes: [] };
}
