// Backend selection in Node with injected loaders standing in for the native packages (which cannot be
// installed here: they download libtensorflow). A fake native package registers a `tensorflow` backend
// the way tfjs-node does, with the device flag its binding sets.

import { relaxedSimdSupported } from '@rnnlm/kernels/relaxed-simd';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BackendUnavailableError,
  describeLoadFailure,
  selectBackend,
  WASM_TRAINING_KERNELS,
} from './index.js';

function notInstalled(pkg: string) {
  return async () => {
    const error = new Error(`Cannot find package '${pkg}' imported from /somewhere/dist/index.js`);
    Object.assign(error, { code: 'ERR_MODULE_NOT_FOUND' });
    throw error;
  };
}

const bindingMissing = async () => {
  throw new Error(
    'The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/lib/napi-v8/tfjs_binding.node.\n' +
      "Please run command 'npm rebuild @tensorflow/tfjs-node build-addon-from-source'",
  );
};

/** A stand-in for tfjs-node(-gpu): registers `tensorflow` with the flags NodeJSKernelBackend sets. */
function fakeNative(opts: { gpu: boolean; gpuPackage: boolean; core?: string; failToStart?: boolean }) {
  return async () => {
    tf.registerBackend(
      'tensorflow',
      () => {
        if (opts.failToStart) throw new Error('Exception creating TFE_Context');
        return Object.assign(new MathBackendCPU(), {
          isUsingGpuDevice: opts.gpu,
          isGPUPackage: opts.gpuPackage,
        });
      },
      3,
    );
    return { version: { 'tfjs-core': opts.core ?? tf.version_core } };
  };
}

afterEach(async () => {
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
  await tf.setBackend('cpu');
});

describe('selectBackend in Node, auto', () => {
  it('falls back to wasm when neither native package is installed, saying why', async () => {
    const selection = await selectBackend({
      loaders: {
        'tensorflow-gpu': notInstalled('@tensorflow/tfjs-node-gpu'),
        tensorflow: notInstalled('@tensorflow/tfjs-node'),
      },
      threads: 2,
    });
    expect(selection.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(selection.forced).toBe(false);
    expect(selection.reasons).toEqual([
      'tensorflow-gpu: @tensorflow/tfjs-node-gpu is not installed',
      'tensorflow: @tensorflow/tfjs-node is not installed',
    ]);
    expect(selection.device).toMatch(/^CPU \(WebAssembly with SIMD, 1 thread\)$/);
    // The kernels' relaxed-SIMD build where this engine has relaxed SIMD (on Node 20 only behind V8's
    // flag, which this test leaves alone), else the plain one.
    const simd = relaxedSimdSupported() ? 'relaxed' : 'plain';
    const kernels = `fused WebAssembly SIMD kernels (${simd === 'relaxed' ? 'relaxed SIMD, fused multiply-add' : 'plain SIMD'}) on 2 threads`;
    expect(selection.message).toBe(
      `backend wasm (${selection.device}); skipped tensorflow-gpu: @tensorflow/tfjs-node-gpu is not installed; ` +
        `tensorflow: @tensorflow/tfjs-node is not installed; recurrent layers: ${kernels}`,
    );
    expect(selection.fusedKernels).toEqual({ available: true, threads: 2, simd, message: kernels });
    // The wasm backend runs with the training kernels in place.
    for (const name of [...WASM_TRAINING_KERNELS.added, ...WASM_TRAINING_KERNELS.replaced]) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
    }
  });

  it('reports the real import failure of a package that is absent here', async () => {
    // No loaders: the default dynamic import runs against this machine, where neither is installed.
    const selection = await selectBackend();
    expect(selection.backend).toBe('wasm');
    expect(selection.reasons).toEqual([
      'tensorflow-gpu: @tensorflow/tfjs-node-gpu is not installed',
      'tensorflow: @tensorflow/tfjs-node is not installed',
    ]);
  });

  it('says when a native package is installed without its native addon', async () => {
    const selection = await selectBackend({
      loaders: { 'tensorflow-gpu': notInstalled('@tensorflow/tfjs-node-gpu'), tensorflow: bindingMissing },
    });
    expect(selection.backend).toBe('wasm');
    expect(selection.reasons[1]).toMatch(
      /^tensorflow: @tensorflow\/tfjs-node is installed but its native addon is missing/,
    );
  });

  it('claims the GPU only when TensorFlow lists a GPU device', async () => {
    const selection = await selectBackend({
      loaders: { 'tensorflow-gpu': fakeNative({ gpu: true, gpuPackage: true }) },
    });
    expect(selection.backend).toBe('tensorflow-gpu');
    expect(selection.tfjsBackend).toBe('tensorflow');
    expect(selection.device).toBe('GPU (CUDA, native TensorFlow)');
    expect(selection.reasons).toEqual([]);
  });

  it('says so when tfjs-node-gpu loads without a usable CUDA, and runs TensorFlow on the CPU', async () => {
    const selection = await selectBackend({
      loaders: { 'tensorflow-gpu': fakeNative({ gpu: false, gpuPackage: true }) },
    });
    expect(selection.backend).toBe('tensorflow');
    expect(selection.device).toBe('CPU (native TensorFlow)');
    expect(selection.reasons).toHaveLength(1);
    expect(selection.reasons[0]).toMatch(
      /^tensorflow-gpu: @tensorflow\/tfjs-node-gpu loaded, but TensorFlow found no usable CUDA GPU/,
    );
    expect(selection.reasons[0]).toContain('CUDA 11.2');
    expect(selection.reasons[0]).toContain('cuDNN 8.1');
    expect(selection.message).not.toMatch(/backend tensorflow-gpu/);
  });

  it('takes tfjs-node when the GPU package is absent', async () => {
    const selection = await selectBackend({
      loaders: {
        'tensorflow-gpu': notInstalled('@tensorflow/tfjs-node-gpu'),
        tensorflow: fakeNative({ gpu: false, gpuPackage: false }),
      },
    });
    expect(selection.backend).toBe('tensorflow');
    expect(selection.device).toBe('CPU (native TensorFlow)');
    expect(selection.reasons).toEqual(['tensorflow-gpu: @tensorflow/tfjs-node-gpu is not installed']);
  });

  it('checks setBackend: a native backend that fails to start is skipped, not claimed', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const selection = await selectBackend({
        loaders: {
          'tensorflow-gpu': notInstalled('@tensorflow/tfjs-node-gpu'),
          tensorflow: fakeNative({ gpu: false, gpuPackage: false, failToStart: true }),
        },
      });
      expect(selection.backend).toBe('wasm');
      expect(selection.reasons[1]).toBe(
        'tensorflow: @tensorflow/tfjs-node loaded but its TensorFlow backend failed to start',
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('notes a second tfjs-core version brought by a native package', async () => {
    const selection = await selectBackend({
      loaders: { 'tensorflow-gpu': fakeNative({ gpu: true, gpuPackage: true, core: '4.1.0' }) },
    });
    expect(selection.notes).toEqual([
      `@tensorflow/tfjs-node-gpu brought tfjs-core 4.1.0 while rnnlm uses ${tf.version_core}: install @tensorflow/tfjs-node-gpu@4.22.0`,
    ]);
  });
});

describe('selectBackend in Node, forced', () => {
  it('runs the backend asked for', async () => {
    for (const name of ['wasm', 'cpu'] as const) {
      const selection = await selectBackend({ backend: name });
      expect(selection).toMatchObject({ backend: name, tfjsBackend: name, forced: true, reasons: [] });
      expect(tf.getBackend()).toBe(name);
    }
  });

  it('rejects a native backend that is not installed, saying how to install it', async () => {
    const attempt = selectBackend({
      backend: 'tensorflow',
      loaders: { tensorflow: notInstalled('@tensorflow/tfjs-node') },
    });
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(
      selectBackend({
        backend: 'tensorflow',
        loaders: { tensorflow: notInstalled('@tensorflow/tfjs-node') },
      }),
    ).rejects.toThrow(
      /^Backend tensorflow is not available: @tensorflow\/tfjs-node is not installed\. Install @tensorflow\/tfjs-node@4\.22\.0/,
    );
  });

  it('rejects tensorflow-gpu when it is absent, naming the package, CUDA and cuDNN versions', async () => {
    const error = await selectBackend({ backend: 'tensorflow-gpu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^Backend tensorflow-gpu is not available: @tensorflow\/tfjs-node-gpu is not installed\./,
    );
    expect(message).toContain('@tensorflow/tfjs-node-gpu@4.22.0');
    expect(message).toContain('CUDA 11.2');
    expect(message).toContain('cuDNN 8.1');
  });

  it('rejects tensorflow-gpu that loads but has no usable GPU, instead of running on the CPU', async () => {
    await expect(
      selectBackend({
        backend: 'tensorflow-gpu',
        loaders: { 'tensorflow-gpu': fakeNative({ gpu: false, gpuPackage: true }) },
      }),
    ).rejects.toThrow(/^Backend tensorflow-gpu is not available: .*found no usable CUDA GPU/);
  });

  it('rejects an unknown name, listing the valid ones', async () => {
    await expect(selectBackend({ backend: 'metal' as never })).rejects.toThrow(
      'Unknown backend "metal": choose one of auto, tensorflow-gpu, tensorflow, wasm, cpu, webgpu.',
    );
  });
});

describe('describeLoadFailure', () => {
  it('names a missing shared library', () => {
    const error = new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory');
    expect(describeLoadFailure('@tensorflow/tfjs-node', error)).toBe(
      '@tensorflow/tfjs-node is installed but could not load libtensorflow.so.2',
    );
  });

  it('does not call a missing dependency of the package "not installed"', () => {
    const error = Object.assign(new Error("Cannot find package 'node-pre-gyp' imported from /x"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(describeLoadFailure('@tensorflow/tfjs-node', error)).toBe(
      "@tensorflow/tfjs-node failed to load: Cannot find package 'node-pre-gyp' imported from /x",
    );
  });
});

describe('the Node banner', () => {
  it('is silenced for the cpu backend, and only that banner', async () => {
    // A fresh cpu backend instance prints the banner on its first tensor unless silenced.
    const fresh = async (silence: boolean) => {
      tf.removeBackend('cpu');
      tf.registerBackend('cpu', () => new MathBackendCPU(), 1);
      if (silence) await selectBackend({ backend: 'cpu' });
      else await tf.setBackend('cpu');
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      tf.env().set('PROD', false);
      try {
        tf.tensor([1, 2, 3]).dispose();
        return warn.mock.calls.map((args) => String(args[0]));
      } finally {
        tf.env().set('PROD', true);
        warn.mockRestore();
      }
    };
    expect(
      (await fresh(false)).some((line) =>
        line.includes('looks like you are running TensorFlow.js in Node.js'),
      ),
    ).toBe(true);
    expect(await fresh(true)).toEqual([]);
  });
});
