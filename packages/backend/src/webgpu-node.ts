/**
 * WebGPU in Node: the `webgpu` package (Dawn, prebuilt; an optional dependency, loaded with a dynamic
 * `import()` only when tried) provides `navigator.gpu` over Vulkan, Metal or D3D12, and tfjs's webgpu
 * backend runs on it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describeLoadFailure } from './load-failure.js';
import type { Activation } from './select.js';
import { BackendUnavailableError } from './select.js';
import { activateWebgpuOn, checkAdapter, type GpuLike } from './webgpu-device.js';
import { type AdapterProbe, runtimeDir } from './webgpu-probe.js';

/** The npm package that gives Node a WebGPU implementation, and the version we test. */
export const WEBGPU_PACKAGE = 'webgpu';
export const WEBGPU_VERSION = '0.6.2';

/** What the `webgpu` package exports: `create(dawnOptions)` makes a `navigator.gpu`, `globals` the GPU* constants. */
interface WebgpuModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}

const gpus = new WeakMap<object, GpuLike>();

/**
 * Loads the `webgpu` package with `load`, makes `navigator.gpu` from it and starts tfjs's webgpu
 * backend. `auto` refuses a software adapter (a forced `webgpu` takes it: the tests run on one).
 */
export async function activateNodeWebgpu(
  load: () => Promise<unknown>,
  software: 'accept' | 'refuse',
  probe?: () => Promise<AdapterProbe>,
): Promise<Activation<'webgpu'>> {
  let module: WebgpuModule;
  try {
    module = (await load()) as WebgpuModule;
  } catch (error) {
    throw new BackendUnavailableError('webgpu', describeLoadFailure(WEBGPU_PACKAGE, error));
  }
  if (typeof module?.create !== 'function') {
    throw new BackendUnavailableError('webgpu', `${WEBGPU_PACKAGE} loaded but exports no create()`);
  }
  if (probe) {
    // Dawn starts here only once a child process has found an adapter this call would take.
    let found: AdapterProbe;
    try {
      found = await probe();
    } catch (error) {
      throw new BackendUnavailableError('webgpu', (error as Error).message);
    }
    checkAdapter(found.adapter, noAdapterHint(found.said), software);
  }
  const activation = await withRuntimeDir(() =>
    activateWebgpuOn(installNavigatorGpu(module), noAdapterHint([]), software),
  );
  explainSynchronousReads();
  return activation;
}

/**
 * Runs `start` with XDG_RUNTIME_DIR set, then leaves the environment as it was: libwayland, which
 * Vulkan drivers load, writes an error to stderr without it.
 */
async function withRuntimeDir<T>(start: () => Promise<T>): Promise<T> {
  const before = process.env.XDG_RUNTIME_DIR;
  if (before) return start();
  process.env.XDG_RUNTIME_DIR = runtimeDir();
  try {
    return await start();
  } finally {
    if (before === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = before;
  }
}

/**
 * Why a synchronous read (`dataSync`) fails on webgpu in Node. rnnlm's own steps read with `await`
 * there (generation included); this names the way out for any other that does not.
 */
export const WEBGPU_SYNC_READ_ERROR =
  "tfjs's webgpu backend cannot read a tensor synchronously in Node (it reads through an OffscreenCanvas, " +
  'which Node lacks): read it with `await tensor.data()`, or run this with --backend wasm';

const explained = new WeakSet<object>();

/**
 * tfjs's webgpu backend reads a tensor synchronously through an OffscreenCanvas; in Node that fails
 * with "OffscreenCanvas is not defined". Say instead what cannot be done and what to do.
 */
function explainSynchronousReads(): void {
  const backend = tf.findBackend('webgpu') as { readSync?: (dataId: object) => unknown } | null;
  if (!backend?.readSync || explained.has(backend) || 'OffscreenCanvas' in globalThis) return;
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    try {
      return readSync(dataId);
    } catch (error) {
      if (error instanceof ReferenceError && error.message.includes('OffscreenCanvas')) {
        throw new Error(WEBGPU_SYNC_READ_ERROR, { cause: error });
      }
      throw error;
    }
  };
  explained.add(backend);
}

/**
 * tfjs-backend-webgpu reads `navigator.gpu` and the GPU* constants (`GPUBufferUsage`, ...) as globals,
 * as in a browser; Node has neither (nor, before Node 21, a `navigator`). One GPU object per module.
 */
function installNavigatorGpu(module: WebgpuModule): GpuLike {
  let gpu = gpus.get(module);
  if (!gpu) {
    Object.assign(globalThis, module.globals);
    gpu = module.create([]);
    gpus.set(module, gpu);
  }
  const global = globalThis as { navigator?: object };
  if (global.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  }
  Object.defineProperty(global.navigator, 'gpu', { value: gpu, configurable: true });
  return gpu;
}

/** What to do when Dawn finds no adapter, on this platform, after what Dawn `said` while looking. */
function noAdapterHint(said: readonly string[]): string {
  const quoted = said.length > 0 ? `Dawn said: ${said.join('; ')}. ` : '';
  if (process.platform === 'linux') {
    return (
      `${quoted}Dawn uses Vulkan on Linux: install the Vulkan loader (Debian: apt-get install libvulkan1) and a driver ` +
      "with Vulkan 1.1 (NVIDIA's driver brings one). For a software " +
      'adapter on the CPU (slow, for tests) set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json ' +
      "(the SwiftShader driver of Debian's chromium package)"
    );
  }
  if (process.platform === 'darwin')
    return `${quoted}Dawn uses Metal on macOS: this Mac reported no Metal device`;
  return `${quoted}Dawn uses Direct3D 12 on Windows: update the GPU driver`;
}
