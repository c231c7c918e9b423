/**
 * The names of the backends a user chooses from, without loading TensorFlow.js (a command line lists
 * them in its help before it starts any backend).
 */

/**
 * The Node backends in the order `auto` tries them without measuring. `tensorflow` is native TensorFlow
 * on the CPU. `webgpu` (tfjs's WebGPU backend on the `webgpu` package) comes last, so that only measured
 * `auto` (or `--backend webgpu`) takes it: in Node it cannot read a tensor synchronously, which
 * generation does, and a software adapter is slower than the CPU backends.
 */
export const NODE_BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'webgpu'] as const;
/** A backend `selectBackend` can start in Node. */
export type NodeBackendName = (typeof NODE_BACKENDS)[number];
