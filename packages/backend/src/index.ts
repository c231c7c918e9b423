/**
 * @rnnlm/backend for Node: makes the full tfjs runtime present and picks a backend at runtime.
 *
 * Order: `tensorflow-gpu` (@tensorflow/tfjs-node-gpu), `tensorflow` (@tensorflow/tfjs-node), `wasm`,
 * `cpu`, then `webgpu` (tfjs's webgpu backend on the `webgpu` package, Dawn), which only measured `auto`
 * or a forced `--backend webgpu` reaches (see names.ts). The native packages
 * are optional (tfjs-node downloads libtensorflow when installed; `webgpu` is an optional dependency
 * whose prebuilt binary may be missing for a platform) and are loaded with a dynamic `import()` only
 * when tried.
 */
// In Node ESM, `@tensorflow/tfjs-core` alone registers neither gradients nor chained tensor methods;
// the umbrella package registers both, and the cpu backend, on the one tfjs-core instance (every
// @tensorflow package resolves to the same CommonJS build of tfjs-core in Node).
import '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { describeLoadFailure } from './load-failure.js';
import type { MeasureOptions } from './measure.js';
import { NODE_BACKENDS, type NodeBackendName } from './names.js';
import {
  type Activation,
  type BackendCandidate,
  type BackendSelection,
  BackendUnavailableError,
} from './select.js';
import { selectAndStart } from './select-measured.js';
import { activateNodeWebgpu, WEBGPU_PACKAGE, WEBGPU_VERSION } from './webgpu-node.js';
import { probeAdapter, webgpuModuleUrl } from './webgpu-probe.js';

export { WEBGPU_SYNC_READ_ERROR } from './webgpu-node.js';

import { wasmActivation } from './wasm-device.js';
import { registerWasmTrainingKernels } from './wasm-training/register-all.js';

export { deviceFingerprint, fileChoiceMemory } from './choice-file.js';
export { describeLoadFailure } from './load-failure.js';
export { NODE_BACKENDS, type NodeBackendName } from './names.js';
export * from './shared-exports.js';

/** The npm package behind each native backend, and the version that shares our tfjs-core. */
export const NATIVE_PACKAGES = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;
const TFJS_VERSION = '4.22.0';

/** Imports a native package (and so registers tfjs's `tensorflow` backend). Injectable for tests. */
export type NativeLoader = () => Promise<unknown>;

/** Options of the Node `selectBackend`. */
export interface SelectBackendOptions {
  /** A backend name to force, or `auto` (default): the fastest measured with `measure`, else the first that starts. */
  backend?: NodeBackendName | 'auto';
  /**
   * How to import the native packages and `webgpu`. Defaults to a dynamic `import()` of the package from here;
   * an app can pass its own (`() => import('@tensorflow/tfjs-node')`) so the package resolves from
   * the app's dependencies.
   */
  loaders?: Partial<Record<keyof typeof NATIVE_PACKAGES | 'webgpu', NativeLoader>>;
  /**
   * Threads for the fused recurrent kernels on the wasm and cpu backends (the caller's thread and
   * worker threads sharing its memory). Default: the machine's cores, at most 8.
   */
  threads?: number;
  /**
   * With `auto`: time the app's training steps on each backend that starts and take the fastest
   * (remembered in `measure.memory` under `measure.key`). Without it `auto` takes the first that starts.
   */
  measure?: MeasureOptions<NodeBackendName>;
}

/**
 * Picks and activates a tfjs backend. Resolves with which one runs, where, and why each one before it
 * was skipped (`selection.message` is one line for the user). A forced backend that cannot start
 * rejects with a `BackendUnavailableError` whose message says how to install it.
 */
export async function selectBackend(
  options: SelectBackendOptions = {},
): Promise<BackendSelection<NodeBackendName>> {
  const requested = options.backend ?? 'auto';
  if (requested !== 'auto' && !(NODE_BACKENDS as readonly string[]).includes(requested)) {
    throw new BackendUnavailableError(
      String(requested),
      'unknown backend',
      `Unknown backend "${requested}": choose one of auto, ${NODE_BACKENDS.join(', ')}.`,
    );
  }
  const loaders = options.loaders ?? {};
  const candidates: BackendCandidate<NodeBackendName>[] = [
    {
      name: 'tensorflow-gpu',
      activate: () =>
        activateNative('tensorflow-gpu', loaders['tensorflow-gpu'] ?? defaultLoader('tensorflow-gpu')),
      installHint:
        `Install ${NATIVE_PACKAGES['tensorflow-gpu']}@${TFJS_VERSION} next to the CLI (Linux x64 with an NVIDIA GPU, ` +
        'CUDA 11.2 and cuDNN 8.1 on LD_LIBRARY_PATH; its install script downloads libtensorflow, so allow it: ' +
        `npm install ${NATIVE_PACKAGES['tensorflow-gpu']}@${TFJS_VERSION}, or with pnpm add it and run pnpm approve-builds). ` +
        'Or pass --backend tensorflow, wasm or cpu.',
    },
    {
      name: 'tensorflow',
      activate: () => activateNative('tensorflow', loaders.tensorflow ?? defaultLoader('tensorflow')),
      installHint:
        `Install ${NATIVE_PACKAGES.tensorflow}@${TFJS_VERSION} next to the CLI (its install script downloads ` +
        `libtensorflow, so allow it: npm install ${NATIVE_PACKAGES.tensorflow}@${TFJS_VERSION}, or with pnpm add it ` +
        'and run pnpm approve-builds). Or pass --backend wasm or cpu.',
    },
    {
      name: 'wasm',
      activate: activateWasm,
      installHint:
        'It ships with @rnnlm/backend (@tensorflow/tfjs-backend-wasm): reinstall, or pass --backend cpu.',
    },
    {
      name: 'cpu',
      activate: activateCpu,
      installHint: 'It ships with @tensorflow/tfjs: reinstall.',
    },
    {
      name: 'webgpu',
      // Our own package is probed in a child process first (see webgpu-probe.ts); a loader given
      // in its place is started here directly.
      activate: () =>
        loaders.webgpu
          ? activateNodeWebgpu(loaders.webgpu, requested === 'webgpu' ? 'accept' : 'refuse')
          : activateNodeWebgpu(
              () => import(WEBGPU_PACKAGE),
              requested === 'webgpu' ? 'accept' : 'refuse',
              () => probeAdapter(webgpuModuleUrl(WEBGPU_PACKAGE)),
            ),
      installHint:
        `It needs the ${WEBGPU_PACKAGE} package (Dawn, an optional dependency of @rnnlm/backend: ` +
        `npm install ${WEBGPU_PACKAGE}@${WEBGPU_VERSION} next to the CLI) and a GPU driver it can use ` +
        '(Vulkan on Linux, Metal on macOS, Direct3D 12 on Windows). Or pass --backend wasm.',
    },
  ];
  return selectAndStart(
    candidates,
    requested,
    options.measure,
    options.threads ?? Math.min(8, availableParallelism()),
  );
}

function defaultLoader(name: keyof typeof NATIVE_PACKAGES): NativeLoader {
  // A variable specifier: TypeScript and bundlers must not try to resolve an optional package.
  const specifier: string = NATIVE_PACKAGES[name];
  return () => import(specifier);
}

interface NativeKernelBackend {
  /** Set by tfjs-node from the TensorFlow device list: true when TensorFlow placed ops on a GPU. */
  isUsingGpuDevice?: boolean;
  isGPUPackage?: boolean;
}

/**
 * Loads a native package and checks that its `tensorflow` backend really runs, and where.
 *
 * GPU detection: tfjs-node-gpu loads even without a usable CUDA setup (it needs CUDA 11.2 and cuDNN 8.1;
 * otherwise TensorFlow logs "Could not load dynamic library libcudart.so.11.0" and carries on). Its
 * binding asks TensorFlow for the device list when the backend is created and exposes the answer as
 * `backend.isUsingGpuDevice` (true only when a "GPU" device was listed, which requires the CUDA and
 * cuDNN libraries to load). That flag, not the package name, decides what we claim.
 */
async function activateNative(
  name: keyof typeof NATIVE_PACKAGES,
  load: NativeLoader,
): Promise<Activation<NodeBackendName>> {
  const pkg = NATIVE_PACKAGES[name];
  let module: unknown;
  try {
    module = await load();
  } catch (error) {
    throw new BackendUnavailableError(name, describeLoadFailure(pkg, error));
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new BackendUnavailableError(name, `${pkg} loaded but registered no "tensorflow" backend`);
  }
  // setBackend resolves false (it does not throw) when a backend fails to start.
  if (!(await tf.setBackend('tensorflow'))) {
    throw new BackendUnavailableError(name, `${pkg} loaded but its TensorFlow backend failed to start`);
  }
  const notes: string[] = [];
  const theirCore = (module as { version?: Record<string, string> } | undefined)?.version?.['tfjs-core'];
  if (theirCore && theirCore !== tf.version_core) {
    notes.push(
      `${pkg} brought tfjs-core ${theirCore} while rnnlm uses ${tf.version_core}: install ${pkg}@${TFJS_VERSION}`,
    );
  }
  const backend = tf.backend() as unknown as NativeKernelBackend;
  if (name === 'tensorflow-gpu') {
    if (backend.isUsingGpuDevice === true)
      return { tfjsBackend: 'tensorflow', device: 'GPU (CUDA, native TensorFlow)', notes };
    return {
      tfjsBackend: 'tensorflow',
      device: 'CPU (native TensorFlow)',
      runsAs: 'tensorflow',
      degraded:
        `${pkg} loaded, but TensorFlow found no usable CUDA GPU (it needs an NVIDIA GPU with CUDA 11.2 and ` +
        'cuDNN 8.1 on LD_LIBRARY_PATH; look for "Could not load dynamic library" above), so it runs on the CPU',
      notes,
    };
  }
  if (backend.isUsingGpuDevice === true)
    return { tfjsBackend: 'tensorflow', device: 'GPU (CUDA, native TensorFlow)', notes };
  return { tfjsBackend: 'tensorflow', device: 'CPU (native TensorFlow)', notes };
}

async function activateWasm(): Promise<Activation<NodeBackendName>> {
  // The added and replaced kernels must be in place before the backend starts (their setup runs then).
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) {
    throw new BackendUnavailableError('wasm', 'the WebAssembly module failed to start');
  }
  return wasmActivation();
}

async function activateCpu(): Promise<Activation<NodeBackendName>> {
  if (!(await tf.setBackend('cpu')))
    throw new BackendUnavailableError('cpu', 'the JavaScript backend failed to start');
  silenceNodeBanner();
  return { tfjsBackend: 'cpu', device: 'CPU (plain JavaScript: slow, for tests and tiny models)' };
}

/**
 * The cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js..." on its first
 * tensor. Our own message says which backend runs and why, so drop that one banner (and nothing else:
 * `PROD` mode would silence every tfjs warning).
 */
function silenceNodeBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}
