/**
 * The names of the backends a user chooses from, without loading TensorFlow.js (a command line lists
 * them in its help before it starts any backend).
 */

/** The Node backends, fastest first. `tensorflow` is native TensorFlow on the CPU. */
export const NODE_BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
/** A backend `selectBackend` can start in Node. */
export type NodeBackendName = (typeof NODE_BACKENDS)[number];
