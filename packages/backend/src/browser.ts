/**
 * @rnnlm/backend/browser: picks a tfjs backend in the browser: `webgpu`, else `webgl`, else `wasm`, else
 * `cpu` (with `measure`, the fastest of those that start). tfjs's webgpu backend is loaded only when
 * the browser has WebGPU.
 *
 * Bundlers move or rename the wasm binaries, so tfjs cannot find them next to its script: pass
 * `wasmPaths` (a base URL ending in `/`, or a URL per binary, for example from Vite's `?url` imports;
 * see README.md). Without it tfjs looks next to the page's script.
 */
// tfjs-core's ES module entry registers neither gradients nor chained tensor methods; register both
// as the @tensorflow/tfjs umbrella does, without pulling in its converter and data packages.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import type { ChoiceMemory, MeasureOptions, RememberedChoice } from './measure.js';
import {
  type Activation,
  type BackendCandidate,
  type BackendSelection,
  BackendUnavailableError,
} from './select.js';
import { selectAndStart } from './select-measured.js';
import { wasmActivation } from './wasm-device.js';
import { registerWasmTrainingKernels } from './wasm-training/register-all.js';
import { activateWebgpuOn, type GpuLike } from './webgpu-device.js';

export * from './shared-exports.js';

/** The browser backends, fastest first on a GPU (WebGPU and WebGL run there). */
export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
/** A backend `selectBackend` can start in the browser. */
export type BrowserBackendName = (typeof BROWSER_BACKENDS)[number];

/** The file names of the wasm binaries in `@tensorflow/tfjs-backend-wasm/dist/`. */
export const WASM_BINARIES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;
/** One of the wasm binaries of `@tensorflow/tfjs-backend-wasm`. */
export type WasmBinaryName = (typeof WASM_BINARIES)[number];

/** Where the wasm binaries are served: a base URL ending in `/`, or one URL per binary. */
export type WasmPaths = string | Partial<Record<WasmBinaryName, string>>;

/** Options of the browser `selectBackend`. */
export interface BrowserSelectOptions {
  /** A backend name to force, or `auto` (default): the fastest measured with `measure`, else the first that starts. */
  backend?: BrowserBackendName | 'auto';
  /** Where the wasm binaries are served (set once, before the wasm backend first starts). */
  wasmPaths?: WasmPaths;
  /**
   * Threads for the fused recurrent kernels on the wasm and cpu backends. Default: the device's cores
   * (at most 8) when the page is cross-origin isolated (threads need SharedArrayBuffer), else 1.
   */
  threads?: number;
  /**
   * With `auto`: time the app's training steps on each backend that starts and take the fastest
   * (remembered in `measure.memory`, for example `localStorageChoiceMemory()`). Without it `auto`
   * takes the first that starts.
   */
  measure?: MeasureOptions<BrowserBackendName>;
}

let wasmPathsSet: string | undefined;

/**
 * Tells tfjs where the wasm binaries are. Must happen before the wasm backend starts for the first
 * time; a later call with other paths is an error (tfjs would silently keep the first ones).
 */
export function configureWasmPaths(paths: WasmPaths): void {
  const key = JSON.stringify(paths);
  if (wasmPathsSet === key) return;
  if (wasmPathsSet !== undefined && tf.findBackend('wasm') != null) {
    throw new Error(
      'The wasm binaries were already loaded from other paths: configure wasmPaths once, before training.',
    );
  }
  if (typeof paths === 'string' && !paths.endsWith('/')) {
    throw new Error(`wasmPaths "${paths}" must end with "/" (it is a directory prefix for the .wasm files).`);
  }
  setWasmPaths(paths);
  wasmPathsSet = key;
}

/**
 * Picks and activates a backend in the browser. Resolves with which one runs and why each one before
 * it was skipped; a forced backend that cannot start rejects with a `BackendUnavailableError`.
 */
export async function selectBackend(
  options: BrowserSelectOptions = {},
): Promise<BackendSelection<BrowserBackendName>> {
  if (options.wasmPaths !== undefined) configureWasmPaths(options.wasmPaths);
  const candidates: BackendCandidate<BrowserBackendName>[] = [
    {
      name: 'webgpu',
      activate: activateWebgpu,
      installHint:
        'This browser or device has no usable WebGPU (Chrome, Edge, Safari and Firefox ship it; check that ' +
        'hardware acceleration is on), or pick webgl or wasm.',
    },
    {
      name: 'webgl',
      activate: activateWebgl,
      installHint:
        'This browser or device has no usable WebGL (check that hardware acceleration is on), or pick wasm.',
    },
    {
      name: 'wasm',
      activate: activateWasm,
      installHint:
        'The wasm binaries must be served with the page: pass wasmPaths pointing at the files from ' +
        '@tensorflow/tfjs-backend-wasm/dist (see the @rnnlm/backend README), or pick cpu.',
    },
    { name: 'cpu', activate: activateCpu, installHint: 'The cpu backend ships with tfjs.' },
  ];
  const requested = options.backend ?? 'auto';
  return selectAndStart(candidates, requested, options.measure, options.threads ?? defaultThreads());
}

/**
 * Measured choices kept in the page's localStorage (one entry per device and model shape key); when
 * storage is blocked the choice is simply measured again next time.
 */
export function localStorageChoiceMemory(prefix = 'rnnlm-backend-choice:'): ChoiceMemory {
  const storage = (globalThis as { localStorage?: Storage }).localStorage;
  return {
    async read(key) {
      try {
        const text = storage?.getItem(prefix + key);
        return text ? (JSON.parse(text) as RememberedChoice) : undefined;
      } catch {
        return undefined;
      }
    },
    async write(key, choice) {
      try {
        storage?.setItem(prefix + key, JSON.stringify(choice));
      } catch {
        // Storage full or blocked: nothing is lost but the shortcut.
      }
    },
  };
}

/** What makes a measurement in this browser valid next time: its user agent, cores and kernel threads. */
export function browserFingerprint(threads = defaultThreads()): Record<string, string | number> {
  const nav = (globalThis as { navigator?: { userAgent?: string; hardwareConcurrency?: number } }).navigator;
  return {
    agent: nav?.userAgent ?? 'unknown',
    cores: nav?.hardwareConcurrency ?? 1,
    threads,
    tfjs: tf.version_core,
  };
}

function defaultThreads(): number {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return isolated ? Math.max(1, Math.min(8, cores ?? 1)) : 1;
}

async function activateWebgpu(): Promise<Activation<BrowserBackendName>> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) throw new BackendUnavailableError('webgpu', 'this browser has no WebGPU (navigator.gpu)');
  return activateWebgpuOn(
    gpu,
    'the browser has WebGPU but offers no adapter: hardware acceleration may be off or the GPU blocklisted',
  );
}

async function activateWebgl(): Promise<Activation<BrowserBackendName>> {
  // setBackend resolves false (it does not throw) when WebGL cannot start.
  if (!(await tf.setBackend('webgl'))) throw new BackendUnavailableError('webgl', 'WebGL is not available');
  const version = tf.env().getNumber('WEBGL_VERSION');
  const notes: string[] = [];
  if (!tf.env().getBool('WEBGL_RENDER_FLOAT32_CAPABLE')) {
    notes.push(
      'this GPU cannot render float32 textures: WebGL computes in float16, training may be imprecise',
    );
  }
  return { tfjsBackend: 'webgl', device: `GPU (WebGL ${version})`, notes };
}

async function activateWasm(): Promise<Activation<BrowserBackendName>> {
  registerWasmTrainingKernels();
  // tfjs's own threaded wasm build fails in a bundled page that is cross-origin isolated (its pthread
  // workers load the main script with importScripts, which an ES module bundle is not), and its matmul
  // does not use the threads anyway. The threads that matter are the fused kernels'.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) {
    throw new BackendUnavailableError(
      'wasm',
      'the WebAssembly module failed to load (are the .wasm files served?)',
    );
  }
  return wasmActivation();
}

async function activateCpu(): Promise<Activation<BrowserBackendName>> {
  if (!(await tf.setBackend('cpu')))
    throw new BackendUnavailableError('cpu', 'the JavaScript backend failed to start');
  return { tfjsBackend: 'cpu', device: 'CPU (plain JavaScript: slow)' };
}
