/**
 * The optimizer update and the gradients' global norm in @rnnlm/kernels' WebAssembly (one pass over
 * every variable) on the backends that keep tensors in CPU memory, where tfjs would run a dozen small
 * ops per variable. Other backends (webgpu, webgl) keep the op-by-op path of optimizers.ts and clip.ts.
 */
import { HOST_BACKENDS, overwriteFloats, readFloats, writeFloats } from '@rnnlm/cells';
import { type KernelRuntime, kernelRuntime, parameterUpdate, type UpdateRule } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';

/** The kernel runtime when the active backend is a host backend and the kernels run here, else null. */
export function hostKernels(): KernelRuntime | null {
  return (HOST_BACKENDS as readonly string[]).includes(tf.getBackend()) ? kernelRuntime() : null;
}

/**
 * A tensor's float32 values without a copy: on wasm a view of its heap (valid until the backend next
 * allocates, so copy it before making tensors), on cpu the backend's own array.
 */
export function floatsOf(t: tf.Tensor): Float32Array {
  return readFloats(tf.backend(), t);
}

/** A new tensor of the active backend holding a copy of `values` (a view of kernel memory). */
function tensorOf(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(writeFloats(tf.backend(), shape, values));
}

/** Variables, their gradients and Adam's moments (empty for SGD), all in the same order. */
export interface FusedUpdateTensors {
  variables: tf.Variable[];
  grads: tf.Tensor[];
  m: tf.Variable[];
  v: tf.Variable[];
}

/** Runs `rule` on every variable at once and assigns the new weights and moments. */
export function applyFusedUpdate(rt: KernelRuntime, tensors: FusedUpdateTensors, rule: UpdateRule): void {
  const { variables, grads, m, v } = tensors;
  const result = parameterUpdate(
    rt,
    {
      weights: variables.map(floatsOf),
      grads: grads.map(floatsOf),
      ...(rule.kind === 'adam' ? { m: m.map(floatsOf), v: v.map(floatsOf) } : {}),
    },
    rule,
  );
  tf.tidy(() => {
    // In place where only the variable holds its values (as in training); a new tensor otherwise.
    const backend = tf.backend();
    const assign = (targets: tf.Variable[], values: Float32Array[]) => {
      for (const [i, target] of targets.entries()) {
        if (!overwriteFloats(backend, target, values[i]!)) target.assign(tensorOf(values[i]!, target.shape));
      }
    };
    assign(variables, result.weights);
    if (rule.kind === 'adam') {
      assign(m, result.m);
      assign(v, result.v);
    }
  });
}
