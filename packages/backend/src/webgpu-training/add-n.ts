/**
 * AddN on webgpu in chunks. tfjs 4.22's webgpu AddN binds every input as a storage buffer in one
 * shader, and WebGPU's default limit is 8 storage buffers a stage (the output takes one): the sum of
 * more than 7 gradients (a weight used at every time step of a recurrence) makes an invalid pipeline,
 * and the result silently stays zeros. tfjs's own Concat splits its inputs the same way.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The part of tfjs's WebGPUBackend read here. */
interface WebgpuBackendLike {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object): void;
}

/** Wraps tfjs's AddN kernel `original` so that each shader it runs sums at most what the device binds. */
export function chunkedAddN(original: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const gpu = backend as unknown as WebgpuBackendLike;
    const perShader = Math.max(2, gpu.device.limits.maxStorageBuffersPerShaderStage - 1);
    let terms = Object.values(inputs) as tf.TensorInfo[];
    const partialSums: tf.TensorInfo[] = [];
    while (terms.length > perShader) {
      const sums: tf.TensorInfo[] = [];
      for (let i = 0; i < terms.length; i += perShader) {
        const chunk = terms.slice(i, i + perShader);
        if (chunk.length === 1) {
          sums.push(chunk[0]!);
          continue;
        }
        const sum = original({
          inputs: chunk as unknown as tf.NamedTensorInfoMap,
          backend,
          attrs,
        }) as tf.TensorInfo;
        partialSums.push(sum);
        sums.push(sum);
      }
      terms = sums;
    }
    const result = original({ inputs: terms as unknown as tf.NamedTensorInfoMap, backend, attrs });
    // The shaders that read them are already queued: the backend frees their buffers after they run.
    for (const sum of partialSums) gpu.disposeData(sum.dataId);
    return result;
  };
}
