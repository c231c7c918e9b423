import type { CellKind } from '@rnnlm/kernels';
import type * as tf from '@tensorflow/tfjs-core';

/** How a model is built: hand-written cells on tfjs-core ops, or tfjs-layers recurrent layers. */
export type ModelImpl = 'scratch' | 'layers';
/** Every `ModelImpl`, for validating input and listing choices. */
export const MODEL_IMPLS: readonly ModelImpl[] = ['scratch', 'layers'];

/**
 * `standard`: a fresh mask for every step of every sequence. `variational` (Gal and Ghahramani 2016):
 * one mask per sequence of the minibatch, shared by all its time steps.
 */
export type DropoutMode = 'standard' | 'variational';
/** Every `DropoutMode`, for validating input and listing choices. */
export const DROPOUT_MODES: readonly DropoutMode[] = ['standard', 'variational'];

/**
 * How a new model's weights are drawn (see `initialWeights`): `normal`, the notebooks' N(0, 0.01²)
 * weights and zero biases; `uniform`, PyTorch's defaults (recurrent weights and biases U(±1/√hidden),
 * the head U(±1/√fanIn), the embedding N(0, 1)).
 */
export type InitScheme = 'normal' | 'uniform';
/** Every `InitScheme`, for validating input and listing choices. */
export const INIT_SCHEMES: readonly InitScheme[] = ['normal', 'uniform'];

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
  /**
   * Dropout rate on the non-recurrent connections in training, 0 <= p < 1; absent or 0: none (the
   * model computes exactly what it did before dropout existed).
   */
  dropout?: number;
  /** How masks are drawn when `dropout` > 0; default `standard`. */
  dropoutMode?: DropoutMode;
  /**
   * How the weights were initialised; absent: `normal` (a normalised config holds it only when it is
   * another, so configs from before schemes are unchanged). Only a new model reads it.
   */
  init?: InitScheme;
}

/**
 * What a forward call is for. Evaluation (the default: scoring, generation, validation) never drops
 * anything. Training applies the model's dropout with masks drawn from `maskSeed`: the same seed, the
 * same masks (the trainer derives it from the run's seed and the step number).
 */
export type ForwardMode = { training: false } | { training: true; maskSeed: number };

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

/** A training minibatch: `labels[b*T + t]` is the token that follows `ids[b*T + t]`. */
export interface LabelledBatch {
  /** [B, T] token ids, row-major. */
  ids: Int32Array;
  /** [B, T] the next tokens, row-major. */
  labels: Int32Array;
  batchSize: number;
  numSteps: number;
}

/** What `LanguageModel.lossAndGradients` returns: new tensors, which the caller disposes. */
export interface LossAndGradients {
  /** The mean cross-entropy per token, as float32 (what the loss tensor of the tape's path holds). */
  loss: number;
  /** The gradient of each of `variables`, in their order. */
  grads: tf.Tensor[];
  /** The state after the last step, in the layout of the state passed in. */
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
  /** `ids` is [B, T] int32 token ids; `mode` says training or evaluation (default evaluation). */
  forward(ids: tf.Tensor2D, state: State, mode?: ForwardMode): ForwardResult;
  /**
   * Training's loss and gradients of one minibatch in one call, where the model computes them without
   * tfjs's tape (its layers in the kernels, on a backend whose tensors live in CPU memory: see
   * `stackLossAndGradients`): the values `forward` under `tf.variableGrads` with the mean cross-entropy
   * gives, bit for bit, at less cost a batch. Null where it cannot (dropout, for one); the caller then
   * takes the tape. Optional: a model without it always trains through the tape.
   */
  lossAndGradients?(batch: LabelledBatch, state: State, mode: ForwardMode): LossAndGradients | null;
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
