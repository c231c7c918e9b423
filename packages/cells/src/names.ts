/**
 * The names of the cells and implementations a user chooses from, without loading TensorFlow.js (a
 * command line lists them in its help before it starts any backend).
 */
export { CELL_KINDS, type CellKind } from '@rnnlm/kernels';
export {
  DROPOUT_MODES,
  type DropoutMode,
  INIT_SCHEMES,
  type InitScheme,
  MODEL_IMPLS,
  type ModelImpl,
} from './model.js';
