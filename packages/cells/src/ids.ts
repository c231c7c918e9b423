import type * as tf from '@tensorflow/tfjs-core';

/**
 * Checks token ids on the host, where it costs nothing: the trainer and generation check every batch
 * before it becomes a tensor. (Inside `forward` a range check would need a read-back from the backend
 * on every call; the cpu backend's gather throws on a bad index, but WebGL silently reads zeros.)
 */
export function assertIdsInRange(ids: ArrayLike<number>, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(
        `token id ${id} at position ${i} is out of range for a vocabulary of ${vocabSize} tokens ` +
          `(ids must be integers in [0, ${vocabSize - 1}]); was the data encoded with another vocabulary?`,
      );
    }
  }
}

/** Checks the shape and dtype of a batch of ids: [batch, steps] int32. */
export function assertIdsTensor(ids: tf.Tensor): asserts ids is tf.Tensor2D {
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
}
