/**
 * A token embedding's row lookup as a tfjs op on the host backends (wasm and cpu), run by the projection
 * kernels of @rnnlm/kernels, with its gradient (the rows of dy summed into the table's rows by id) a
 * second op: tfjs's gather has a gradient too, but on UnsortedSegmentSum, which tfjs's wasm backend
 * lacks. Registered on first use.
 */
import { embeddingGrad, embeddingLookup, kernelRuntime } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { HOST_BACKENDS, readFloats, readInts, writeFloats } from './host-memory.js';

const LOOKUP_OP = 'RnnlmEmbeddingLookup';
const GRAD_OP = 'RnnlmEmbeddingGrad';
/** The kernel names of the lookup and its gradient. */
export const EMBEDDING_OPS: readonly string[] = [LOOKUP_OP, GRAD_OP];

/** Inputs table [V, E] and ids [N]; output [N, E]. */
const lookupKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const table = inputs.table!;
  const [V, E] = table.shape as [number, number];
  const ids = readInts(backend, inputs.ids!);
  const rows = embeddingLookup(kernelRuntime()!, readFloats(backend, table), ids, V, E);
  return writeFloats(backend, [ids.length, E], rows);
};

/** Inputs dy [N, E] and ids [N]; attribute rows (V); output dTable [V, E]. */
const gradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs.dy!;
  const E = dy.shape[1]!;
  const V = (attrs as { rows: number }).rows;
  const dTable = embeddingGrad(
    kernelRuntime()!,
    readFloats(backend, dy),
    readInts(backend, inputs.ids!),
    V,
    E,
  );
  return writeFloats(backend, [V, E], dTable);
};

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  for (const backendName of HOST_BACKENDS) {
    tf.registerKernel({ kernelName: LOOKUP_OP, backendName, kernelFunc: lookupKernel });
    tf.registerKernel({ kernelName: GRAD_OP, backendName, kernelFunc: gradKernel });
  }
  tf.registerGradient({
    kernelName: LOOKUP_OP,
    inputsToSave: ['table', 'ids'],
    gradFunc: (dy, saved) => {
      const [table, ids] = saved as [tf.Tensor2D, tf.Tensor1D];
      const rows = table.shape[0];
      return {
        table: () => tf.engine().runKernel(GRAD_OP, { dy: dy as tf.Tensor, ids }, { rows }) as tf.Tensor,
        // Token ids have no gradient; as tfjs's gather, hand back the ids themselves (never used).
        ids: () => ids,
      };
    },
  });
}

/**
 * The rows of `table` [V, E] at time-major `ids` [N] int32 (each in [0, V), checked by the model):
 * [N, E], differentiable with respect to the table. Only where the fused kernels run (`useFused()`);
 * the caller checks.
 */
export function fusedEmbeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  register();
  return tf.engine().runKernel(LOOKUP_OP, { table, ids }) as tf.Tensor2D;
}
