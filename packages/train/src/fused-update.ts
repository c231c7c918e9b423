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

/** What this file uses of tfjs's wasm backend (reached through its methods; no import of the package). */
interface WasmLikeBackend {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

function wasmBackend(): WasmLikeBackend | null {
  const backend = tf.backend() as unknown as Partial<WasmLikeBackend>;
  return typeof backend.typedArrayFromHeap === 'function' ? (backend as WasmLikeBackend) : null;
}

/**
 * A tensor's float32 values without a copy: on wasm a view of its heap (valid until the backend next
 * allocates, so copy it before making tensors), on cpu the backend's own array.
 */
export function floatsOf(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`optimizer: expected float32 tensors, got ${t.dtype}`);
  const wasm = wasmBackend();
  return (wasm ? wasm.typedArrayFromHeap(t) : t.dataSync()) as Float32Array;
}

/** A new tensor of the active backend holding a copy of `values` (a view of kernel memory). */
function tensorOf(values: Float32Array, shape: number[]): tf.Tensor {
  const wasm = wasmBackend();
  if (wasm) {
    const info = wasm.makeOutput(shape, 'float32');
    wasm.typedArrayFromHeap(info).set(values);
    return tf.engine().makeTensorFromTensorInfo(info);
  }
  // A fresh array (the cpu backend keeps what it is given), filled with set(): slice() of a view of
  // shared memory copies slowly.
  const copy = new Float32Array(values.length);
  copy.set(values);
  return tf.tensor(copy, shape, 'float32');
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
      for (const [i, target] of targets.entries()) target.assign(tensorOf(values[i]!, target.shape));
    };
    assign(variables, result.weights);
    if (rule.kind === 'adam') {
      assign(m, result.m);
      assign(v, result.v);
    }
  });
}
