/**
 * The cell kinds and their shapes, defined once for every package: @rnnlm/cells and the models
 * re-export these.
 */

/** The recurrent cell of every layer. */
export type CellKind = 'rnn' | 'gru' | 'lstm';
/** Every `CellKind`, for validating input and listing choices. */
export const CELL_KINDS: readonly CellKind[] = ['rnn', 'gru', 'lstm'];

/** Gate blocks of an LSTM's fused weight, by position: d2l's (i, f, o, c~) or tfjs-layers' (i, f, c~, o). */
export type LstmGateOrder = 'ifoc' | 'ifco';
/** Every `LstmGateOrder`. */
export const LSTM_GATE_ORDERS: readonly LstmGateOrder[] = ['ifoc', 'ifco'];

/** Number of fused gates (blocks of `hidden` columns) in one weight: RNN 1, GRU 3, LSTM 4. */
export function gatesPerCell(cell: CellKind): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}
