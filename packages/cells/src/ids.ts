import type * as tf from '@tensorflow/tfjs-core';

/**
 * Checks token ids on the host: every id an integer in [0, vocabSize). The trainer and generation check
 * each batch before it becomes a tensor; the scratch model's `forward` checks its ids too (see
 * `ScratchModelOptions.checkIds`), because an unknown id is not always an error inside tfjs: the cpu and
 * wasm gathers throw, WebGL's reads a row of zeros.
 *
 * `steps`, when given, is the row length of row-major [batch, steps] ids, so that the message names
 * the sequence and step instead of a flat position.
 */
export function assertIdsInRange(ids: ArrayLike<number>, vocabSize: number, steps?: number): void {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new Error(`assertIdsInRange: vocabSize must be a positive integer, got ${vocabSize}`);
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      const where =
        steps !== undefined && steps > 0
          ? `at sequence ${Math.floor(i / steps)}, step ${i % steps}`
          : `at position ${i}`;
      throw new Error(
        `token id ${id} ${where} is out of range for a vocabulary of ${vocabSize} tokens ` +
          `(ids must be integers in [0, ${vocabSize - 1}]); was the data encoded with another vocabulary?`,
      );
    }
  }
}

/** Checks the shape and dtype of a batch of ids: [batch, steps] int32, at least one step. */
export function assertIdsTensor(ids: tf.Tensor): asserts ids is tf.Tensor2D {
  // Duck-typed rather than `instanceof`, which fails across two copies of tfjs-core.
  const maybe = ids as Partial<tf.Tensor> | null | undefined;
  if (
    typeof maybe !== 'object' ||
    maybe === null ||
    !Array.isArray(maybe.shape) ||
    typeof maybe.dtype !== 'string'
  ) {
    throw new Error(
      `ids must be a [batch, steps] int32 tensor of token ids, got ${Array.isArray(ids) ? 'an array' : typeof ids}; ` +
        `make one with tf.tensor2d(ids, [batch, steps], 'int32')`,
    );
  }
  if (ids.rank !== 2) {
    throw new Error(`ids must be a [batch, steps] tensor of token ids, got shape [${ids.shape.join(', ')}]`);
  }
  if (ids.dtype !== 'int32') {
    throw new Error(
      `ids must have dtype int32 (token ids), got ${ids.dtype}; use tf.tensor2d(ids, shape, 'int32')`,
    );
  }
  if (ids.shape[0] === 0 || ids.shape[1] === 0) {
    throw new Error(`ids must hold at least one step of one sequence, got shape [${ids.shape.join(', ')}]`);
  }
  if (ids.isDisposed) {
    throw new Error('ids has been disposed; pass a live tensor');
  }
}

/**
 * Checks a training minibatch for `LanguageModel.lossAndGradients`: positive sizes, ids and labels of
 * batchSize * numSteps integers each, in [0, vocabSize).
 */
export function assertLabelledBatch(
  batch: { ids: ArrayLike<number>; labels: ArrayLike<number>; batchSize: number; numSteps: number },
  vocabSize: number,
): void {
  const { batchSize, numSteps } = batch;
  for (const [name, n] of [
    ['batchSize', batchSize],
    ['numSteps', numSteps],
  ] as const) {
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`lossAndGradients: ${name} must be a positive integer, got ${n}`);
  }
  for (const name of ['ids', 'labels'] as const) {
    const values = batch[name];
    if (values?.length !== batchSize * numSteps) {
      throw new Error(
        `lossAndGradients: ${name} must hold batchSize x numSteps = ${batchSize * numSteps} token ids ` +
          `(row-major [batch, steps]), got ${values?.length ?? typeof values}`,
      );
    }
    assertIdsInRange(values, vocabSize, numSteps);
  }
}

/**
 * Token ids (or labels) in the order of the models' time-major rows: d2l's `Y.T.reshape(-1)`. `ids` is
 * row-major [batchSize, numSteps]; row t*B + b of the result is step t of sequence b.
 */
export function timeMajor(ids: ArrayLike<number>, batchSize: number, numSteps: number): Int32Array {
  const out = new Int32Array(batchSize * numSteps);
  for (let b = 0; b < batchSize; b++) {
    for (let t = 0; t < numSteps; t++) out[t * batchSize + b] = ids[b * numSteps + t]!;
  }
  return out;
}
