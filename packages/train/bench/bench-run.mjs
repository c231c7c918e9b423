// The training run `rnnlm bench` makes, as the train benchmarks here set it up from their flags:
// sequential batches of 32 x 35 on the given ids, SGD with lr 1, clip 1, and the model `--model`
// names (rnn, gru, lstm: tfjs-layers; with -scratch: rnnlm's own cells).
import { assembleRun } from '../dist/index.js';

export const BATCH_SIZE = 32;
export const NUM_STEPS = 35;

/** A run for `ids` of `flags` ({ model, hidden, layers }, strings as parseArgs gives them). */
export function benchRun(ids, vocabSize, flags) {
  return assembleRun({
    ids,
    token: 'char',
    batchSize: BATCH_SIZE,
    numSteps: NUM_STEPS,
    sampling: 'sequential',
    model: {
      impl: flags.model.endsWith('-scratch') ? 'scratch' : 'layers',
      cell: flags.model.replace(/-scratch$/, ''),
      vocabSize,
      hidden: Number(flags.hidden),
      layers: Number(flags.layers),
      bidirectional: false,
    },
    optimizer: { name: 'sgd', lr: 1 },
    clip: 1,
  });
}
