/**
 * The names of the optimizers a user chooses from, without loading TensorFlow.js (a command line lists
 * them in its help before it starts any backend).
 */

export type OptimizerName = 'sgd' | 'adam' | 'adamw';
export const OPTIMIZER_NAMES: readonly OptimizerName[] = ['sgd', 'adam', 'adamw'];
