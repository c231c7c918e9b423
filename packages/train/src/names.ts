/**
 * The names of the optimizers a user chooses from, without loading TensorFlow.js (a command line lists
 * them in its help before it starts any backend).
 */

/** An optimizer rnnlm implements: SGD, Adam, or AdamW (Adam with decoupled weight decay). */
export type OptimizerName = 'sgd' | 'adam' | 'adamw';
/** Every `OptimizerName`, for validating input and listing choices. */
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['sgd', 'adam', 'adamw'];

/**
 * A learning-rate schedule: constant, step decay (every few epochs times gamma), cosine decay over the
 * run's batches, or reduce-on-plateau of the validation perplexity.
 */
export type ScheduleName = 'constant' | 'step' | 'cosine' | 'plateau';
/** Every `ScheduleName`, for validating input and listing choices. */
export const SCHEDULE_NAMES: readonly ScheduleName[] = ['constant', 'step', 'cosine', 'plateau'];
