import { initialWeights, type ModelConfig } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Sets `variables` (this model's, in its order, which is the scratch model's) to the scratch model's
 * initial weights for `seed`, so both implementations start equal: LSTM gate blocks go from d2l's
 * order (i, f, o, c~) to tfjs-layers' (i, f, c~, o); everything else is the same layout.
 */
export function assignInitialWeights(config: ModelConfig, seed: number, variables: tf.Variable[]): void {
  const initial = initialWeights(config, seed);
  if (initial.length !== variables.length) {
    throw new Error(`initial weights: ${initial.length} values for ${variables.length} weights`);
  }
  tf.tidy(() => {
    initial.forEach(({ shape, values, kind }, i) => {
      const gated = config.cell === 'lstm' && (kind === 'input' || kind === 'recurrent' || kind === 'bias');
      variables[i]!.assign(tf.tensor(gated ? swapLastGates(values, config.hidden) : values, shape));
    });
  });
}

/** Swaps the last two H-wide column blocks of each row of a [rows, 4H] (or [4H]) array. */
function swapLastGates(values: Float32Array, hidden: number): Float32Array {
  const out = values.slice();
  for (let row = 0; row < values.length; row += 4 * hidden) {
    out.set(values.subarray(row + 2 * hidden, row + 3 * hidden), row + 3 * hidden);
    out.set(values.subarray(row + 3 * hidden, row + 4 * hidden), row + 2 * hidden);
  }
  return out;
}
