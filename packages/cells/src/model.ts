import type { CellKind } from '@rnnlm/kernels';
import type * as tf from '@tensorflow/tfjs-core';

/** How a model is built: hand-written cells on tfjs-core ops, or tfjs-layers recurrent layers. */
export type ModelImpl = 'scratch' | 'layers';
/** Every `ModelImpl`, for validating input and listing choices. */
export const MODEL_IMPLS: readonly ModelImpl[] = ['scratch', 'layers'];

/** Plain JSON: enough to rebuild the same architecture (checkpoints store it). */
export interface ModelConfig {
  impl: ModelImpl;
  cell: CellKind;
  vocabSize: number;
  hidden: number;
  layers: number;
  bidirectional: boolean;
  /**
   * The size of a learned embedding of the tokens, fed to the first layer (absent: the notebooks'
   * one-hot input, the first layer's input weight then has a row per token). Word-level models want
   * one: a vocabulary of 10,000 words one-hot makes the first input weight 10,000 rows per gate.
   */
  embedding?: number;
  /**
   * The output head's weight is the embedding transposed, one shared matrix (Press and Wolf 2017).
   * Needs `embedding` equal to the top layer's output size (hidden, twice that when bidirectional).
   */
  tieWeights?: boolean;
}

/**
 * The recurrent state: for each layer (bottom first), for each direction (forward, then backward
 * when bidirectional), `h` for RNN and GRU, or `h` then `c` for LSTM; each tensor is [batch, hidden].
 */
export type State = tf.Tensor2D[];

/** What `LanguageModel.forward` returns: the logits of every step and the state after the last. */
export interface ForwardResult {
  /** Time-major logits [T*B, V]: row t*B + b is step t of sequence b. */
  logits: tf.Tensor2D;
  /** The state after the last step, in the same layout as the state passed in. */
  state: State;
}

/**
 * The one interface between models and everything that trains, generates, saves or benchmarks them.
 *
 * Ownership: `forward` and `beginState` return new tensors and never dispose their arguments; the
 * caller disposes (or runs them inside `tf.tidy`).
 */
export interface LanguageModel {
  readonly config: ModelConfig;
  /** A zero state for `batchSize` sequences. */
  beginState(batchSize: number): State;
  /** `ids` is [B, T] int32 token ids. */
  forward(ids: tf.Tensor2D, state: State): ForwardResult;
  /** Trainable weights, in a stable order. */
  readonly variables: tf.Variable[];
  /**
   * Stable names of `variables`, in the same order (for example `layer0/forward/W_xh`, `head/W_hq`).
   * Checkpoints save and load weights by these names; tfjs's own variable names must be unique per
   * process and so are not stable.
   */
  readonly weightNames: readonly string[];
  /** Frees the model's weights; the model cannot be used afterwards. */
  dispose(): void;
}
