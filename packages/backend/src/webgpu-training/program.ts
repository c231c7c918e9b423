/**
 * A WGSL compute shader as tfjs's webgpu backend runs one (`runWebGPUProgram`): the backend declares
 * the output buffer `result` (read-write), one read-only buffer per input name, and a `uniforms` struct
 * with our own integer fields; the shader body is `fn main(index: i32)`, one invocation per index of a
 * flat dispatch. Running through the backend keeps the shaders in tfjs's command stream (ordered with
 * every other op, pipelines cached by key, buffers pooled).
 *
 * A program may write into an output passed in (`into`): the recurrences write every time step into
 * one buffer, one dispatch a step, and a dispatch reads what the previous one wrote there.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The part of tfjs's WebGPUBackend used by these kernels. */
export interface GpuBackend {
  runWebGPUProgram(
    program: object,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms?: Array<{ type: string; data: number[] }>,
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Int32Array | Float32Array): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  readSync(dataId: object): unknown;
}

const WORKGROUP = 64;

/** A compiled-once shader: `key` names its code (tfjs caches the pipeline under it, with input ranks). */
export interface Shader {
  key: string;
  inputs: readonly string[];
  /** Integer uniforms, in the order `run` passes their values. */
  uniforms: readonly string[];
  /** The body: helper functions and `fn main(index: i32)`. */
  code: string;
  /** Workgroups of one invocation each index; a reduction in one workgroup sets this to 'one'. */
  workgroups?: 'per-index' | 'one';
}

/** WGSL helpers every recurrence shader uses: the activations, in forms that cannot overflow. */
export const ACTIVATIONS = `
fn sigmoidf(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn tanhf(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let y = (1.0 - e) / (1.0 + e);
  return select(y, -y, x < 0.0);
}
`;

/**
 * Runs `shader` over `threads` indices on `inputs` with integer uniform `values`, writing `into` (an
 * existing tensor's buffer, kept) or a new float32 tensor of `shape`.
 */
export function run(
  backend: GpuBackend,
  shader: Shader,
  inputs: tf.TensorInfo[],
  values: readonly number[],
  threads: number,
  out: { into: tf.TensorInfo } | { shape: number[] },
): tf.TensorInfo {
  if (values.length !== shader.uniforms.length) {
    throw new Error(
      `rnnlm webgpu kernel ${shader.key}: ${values.length} uniforms for ${shader.uniforms.length}`,
    );
  }
  const one = shader.workgroups === 'one';
  const program = {
    shaderKey: `rnnlm_${shader.key}`,
    outputShape: 'into' in out ? out.into.shape : out.shape,
    dispatchLayout: { x: [0] },
    dispatch: [one ? 1 : Math.max(1, Math.ceil(threads / WORKGROUP)), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    variableNames: [...shader.inputs],
    uniforms: shader.uniforms.map((name) => `${name} : i32,`).join(' '),
    size: false,
    getUserCode: () => shader.code,
  };
  const uniforms = values.map((v) => ({ type: 'int32', data: [v] }));
  const output = 'into' in out ? out.into : backend.makeTensorInfo(out.shape, 'float32');
  return backend.runWebGPUProgram(program, inputs, 'float32', uniforms, output);
}

/**
 * Copies rows of `width` values, `stride` apart from element `start` of `src`, into a new tensor of
 * `shape`: the outputs, final states and gradients that live inside a step buffer.
 */
const COPY_ROWS: Shader = {
  key: 'copy_rows',
  inputs: ['src'],
  uniforms: ['total', 'start', 'width', 'stride'],
  code: `
fn main(index: i32) {
  if (index >= uniforms.total) { return; }
  let row = index / uniforms.width;
  result[index] = src[uniforms.start + row * uniforms.stride + index - row * uniforms.width];
}`,
};

export function copyRows(
  backend: GpuBackend,
  src: tf.TensorInfo,
  shape: number[],
  start: number,
  width: number,
  stride: number,
): tf.TensorInfo {
  const total = shape.reduce((a, b) => a * b, 1);
  return run(backend, COPY_ROWS, [src], [total, start, width, stride], total, { shape });
}

/** Runs one of the webgpu backend's own kernels on TensorInfos (no engine tensors are made). */
export function webgpuKernel(
  backend: GpuBackend,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: object = {},
): tf.TensorInfo {
  const config = tf.getKernel(name, 'webgpu');
  if (!config) throw new Error(`rnnlm webgpu kernel: tfjs's webgpu backend lacks ${name}`);
  return config.kernelFunc({
    inputs,
    backend: backend as never,
    attrs: attrs as tf.NamedAttrMap,
  }) as tf.TensorInfo;
}
