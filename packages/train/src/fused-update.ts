/**
 * The optimizer update and the gradients' global norm in @rnnlm/kernels' WebAssembly (one pass over
 * every variable) on the backends that keep tensors in CPU memory, where tfjs would run a dozen small
 * ops per variable. Other backends (webgpu, webgl) keep the op-by-op path of optimizers.ts and clip.ts.
 */
import { type KernelRuntime, kernelRuntime, parameterUpdate, type UpdateRule } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';

/** The backends whose tensors the kernels can read without a round trip through a device. */
const HOST_BACKENDS = ['wasm', 'cpu'];

/** The kernel runtime when the active backend is a host backend and the kernels run here, else null. */
export function hostKernels(): KernelRuntime | null {
  return HOST_BACKENDS.includes(tf.getBackend()) ? kernelRuntime() : null;
}

/** A tensor's float32 values (on cpu the backend's own array, on wasm a copy of its heap). */
export function floatsOf(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`optimizer: expected float32 tensors, got ${t.dtype}`);
  return t.dataSync() as Float32Array;
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
    const assign = (targets: tf.Variable[], values: Float32Array[]) => {
      for (const [i, target] of targets.entries()) {
        // A fresh array: the cpu backend keeps what it is given, and the views are kernel memory.
        const copy = new Float32Array(values[i]!.length);
        copy.set(values[i]!);
        target.assign(tf.tensor(copy, target.shape, 'float32'));
      }
    };
    assign(variables, result.weights);
    if (rule.kind === 'adam') {
      assign(m, result.m);
      assign(v, result.v);
    }
  });
}
