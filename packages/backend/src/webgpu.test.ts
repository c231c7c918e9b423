// The webgpu backend in Node: what a user is told when the `webgpu` package or an adapter is missing
// (with stand-in modules), and the real package on this machine's adapter (SwiftShader here).
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SelectBackendOptions, selectBackend, WEBGPU_SYNC_READ_ERROR } from './index.js';
import { inCi, preferSoftwareAdapter } from './testing.js';

function notInstalled(pkg: string) {
  return async () => {
    throw Object.assign(new Error(`Cannot find package '${pkg}' imported from /somewhere/dist/index.js`), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
  };
}
const noNative = {
  'tensorflow-gpu': notInstalled('@tensorflow/tfjs-node-gpu'),
  tensorflow: notInstalled('@tensorflow/tfjs-node'),
};
/** A `webgpu` package whose Dawn finds no adapter (no Vulkan driver, for example). */
const noAdapter = async () => ({ create: () => ({ requestAdapter: async () => null }), globals: {} });
/** A `webgpu` package whose only adapter runs on the CPU (SwiftShader, lavapipe). */
const softwareOnly = async () => ({
  create: () => ({
    requestAdapter: async () => ({
      info: {
        vendor: 'google',
        architecture: 'swiftshader',
        description: 'SwiftShader driver 5.0.0',
        isFallbackAdapter: true,
      },
    }),
  }),
  globals: {},
});

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('webgpu in Node without the package or an adapter', () => {
  it('says the package is missing and how to install it, when asked for', async () => {
    const options: SelectBackendOptions = { backend: 'webgpu', loaders: { webgpu: notInstalled('webgpu') } };
    const error = await selectBackend(options).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const { message } = error as Error;
    expect(message).toMatch(/^Backend webgpu is not available: webgpu is not installed\. /);
    expect(message).toContain('npm install webgpu@0.6.2');
    expect(message).toContain('Or pass --backend wasm.');
  });

  it('says no adapter was found and what to install, when asked for', async () => {
    const error = await selectBackend({ backend: 'webgpu', loaders: { webgpu: noAdapter } }).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toMatch(/^Backend webgpu is not available: WebGPU found no adapter \(/);
    if (process.platform === 'linux') {
      expect((error as Error).message).toContain('apt-get install libvulkan1');
      expect((error as Error).message).toContain(
        'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json',
      );
    }
  });

  it('is skipped by measured auto with its reason, and never taken by auto without measuring', async () => {
    const measured: string[] = [];
    const selection = await selectBackend({
      loaders: { ...noNative, webgpu: noAdapter },
      threads: 1,
      measure: {
        measure: async (backend) => {
          measured.push(backend);
          return backend === 'cpu' ? 100 : 50;
        },
      },
    });
    expect(measured).toEqual(['wasm', 'cpu']);
    expect(selection.backend).toBe('cpu');
    expect(selection.reasons.at(-1)).toMatch(/^webgpu: WebGPU found no adapter \(/);
    expect(selection.message).toContain('webgpu: WebGPU found no adapter (');

    const software = await selectBackend({
      loaders: { ...noNative, webgpu: softwareOnly },
      threads: 1,
      measure: { measure: async (backend) => (backend === 'cpu' ? 100 : 50) },
    });
    expect(software.reasons.at(-1)).toBe(
      'webgpu: the only WebGPU adapter is a software one on the CPU (SwiftShader driver 5.0.0), ' +
        'slower than the CPU backends: ask for --backend webgpu to use it anyway',
    );

    let tried = false;
    const unmeasured = await selectBackend({
      loaders: {
        ...noNative,
        webgpu: async () => {
          tried = true;
          return noAdapter();
        },
      },
      threads: 1,
    });
    expect(unmeasured.backend).toBe('wasm');
    expect(tried).toBe(false);
  });
});

describe('webgpu in Node on a real adapter', () => {
  let available = '';
  beforeAll(async () => {
    preferSoftwareAdapter();
    try {
      await selectBackend({ backend: 'webgpu' });
      available = 'yes';
    } catch (error) {
      available = (error as Error).message;
    }
  });

  it('starts tfjs webgpu backend and computes on it', async (context) => {
    if (available !== 'yes') {
      if (inCi) throw new Error(`CI needs a WebGPU adapter: ${available}`);
      context.skip(`no WebGPU adapter here: ${available}`);
    }
    const selection = await selectBackend({ backend: 'webgpu' });
    expect(selection).toMatchObject({ backend: 'webgpu', tfjsBackend: 'webgpu', forced: true });
    expect(selection.device).toMatch(/WebGPU/);
    expect(tf.getBackend()).toBe('webgpu');
    const before = tf.memory().numTensors;
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, 0, -1, 2, 0.5, 3], [3, 2]);
    const product = tf.matMul(a, b);
    // [[1*1+2*(-1)+3*0.5, 1*0+2*2+3*3], [4*1+5*(-1)+6*0.5, 4*0+5*2+6*3]]
    expect(Array.from(await product.data())).toEqual([0.5, 13, 2, 28]);
    // A synchronous read says why it cannot be done in Node and what to do.
    expect(() => tf.tidy(() => tf.add(product, 1).dataSync())).toThrow(WEBGPU_SYNC_READ_ERROR);
    tf.dispose([a, b, product]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('sums more gradients than a shader can bind (AddN in chunks) and frees the partial sums', async (context) => {
    if (available !== 'yes') {
      if (inCi) throw new Error(`CI needs a WebGPU adapter: ${available}`);
      context.skip(`no WebGPU adapter here: ${available}`);
    }
    await selectBackend({ backend: 'webgpu' });
    const before = tf.memory().numTensors;
    // 20 terms: three shaders of 7 on an 8-buffer device, then one for the partial sums.
    const terms = Array.from({ length: 20 }, (_, i) => tf.tensor1d([i, -2 * i, 0.5]));
    const sum = tf.addN(terms);
    expect(Array.from(await sum.data())).toEqual([190, -380, 10]);
    tf.dispose([...terms, sum]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
