/**
 * How big a model is before it is built: its parameter count from the config alone, and the limit past
 * which rnnlm refuses to build one. A crafted or mistyped size (`--hidden 100000`, a checkpoint whose
 * config was edited) is then an error that says how much it would take, instead of minutes of
 * allocation or an internal "Invalid typed array length".
 */
import { firstLayerInputSize, gatesPerCell, type ModelConfig } from '@rnnlm/cells';

/** The most parameters rnnlm builds a model of: 1 GiB of float32 weights (about 4 GiB to train with Adam). */
export const MAX_PARAMETERS = 2 ** 28;

/** Bytes per parameter while training: the weight, its gradient and an optimizer's two slots, in float32. */
export const TRAINING_BYTES_PER_PARAMETER = 16;

/**
 * The parameter count of a model (both implementations have the same weights): the embedding
 * [vocabulary, embedding] when there is one; per layer and direction an input matrix
 * [in, gates x hidden] (`in` on the first layer is the embedding size, or the vocabulary for the
 * one-hot input), a recurrent matrix [hidden, gates x hidden] and a bias; then the dense head and its
 * bias. Tied weights count once: a tied head's weight is the embedding.
 */
export function parameterCount(config: ModelConfig): number {
  const { vocabSize, hidden, layers, bidirectional, cell } = config;
  const directions = bidirectional ? 2 : 1;
  const width = gatesPerCell(cell) * hidden;
  let total = config.embedding === undefined ? 0 : vocabSize * config.embedding;
  for (let layer = 0; layer < layers; layer++) {
    const input = layer === 0 ? firstLayerInputSize(config) : hidden * directions;
    total += directions * (input * width + hidden * width + width);
  }
  const headWeight = config.tieWeights ? 0 : hidden * directions * vocabSize;
  return total + headWeight + vocabSize;
}

/** What a model of this config would take, and whether rnnlm builds it. */
export function modelSize(config: ModelConfig): {
  parameters: number;
  weightBytes: number;
  trainingBytes: number;
  tooBig: boolean;
} {
  const parameters = parameterCount(config);
  return {
    parameters,
    weightBytes: parameters * 4,
    trainingBytes: parameters * TRAINING_BYTES_PER_PARAMETER,
    tooBig: !(parameters <= MAX_PARAMETERS),
  };
}

/** Bytes in GiB, for messages. */
export function formatGiB(bytes: number): string {
  const gib = bytes / 2 ** 30;
  return gib >= 100 ? Math.round(gib).toLocaleString('en-US') : gib.toPrecision(3);
}
