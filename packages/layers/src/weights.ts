import type { LanguageModel, ModelConfig } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';

/** Weights by stable name (as in `LanguageModel.weightNames`). */
export type NamedWeights = Record<string, tf.Tensor>;

/**
 * How scratch weight names (see @rnnlm/cells) map to layers weight names, per layer and direction.
 *
 * Both implementations keep one input kernel, one recurrent kernel and one bias per layer and
 * direction, with the gates fused along the last axis:
 * - RNN: `W_xh`, `W_hh`, `b_h` are `kernel`, `recurrent_kernel`, `bias` as they are.
 * - GRU: scratch order (z, r, h) is tfjs-layers' order (z, r, h), and tfjs-layers' GRU with
 *   `resetAfter: false` is the notebooks' GRU (reset gate applied to h before the recurrent
 *   matmul, one bias per gate), so `W_x`, `W_h`, `b` copy as they are.
 * - LSTM: scratch order (i, f, o, c) as d2l's get_lstm_params; tfjs-layers' order is (i, f, c, o).
 *   The last two H-wide blocks swap; the swap is its own inverse, so the same permutation maps
 *   either way.
 * - Head: `W_hq`, `b_q` are the dense layer's `kernel`, `bias` (tied: `b_q` alone, the tied head's `bias`).
 * - Embedding (when the config has one): `embedding/W_e` is the embedding layer's `embeddings`.
 */
const SCRATCH_TO_LAYERS_SUFFIX: Record<string, string> = {
  W_xh: 'kernel',
  W_hh: 'recurrent_kernel',
  b_h: 'bias',
  W_x: 'kernel',
  W_h: 'recurrent_kernel',
  b: 'bias',
  W_hq: 'kernel',
  b_q: 'bias',
  W_e: 'embeddings',
};

function scratchSuffixes(config: ModelConfig): { recurrent: string[]; head: string[] } {
  return {
    recurrent: config.cell === 'rnn' ? ['W_xh', 'W_hh', 'b_h'] : ['W_x', 'W_h', 'b'],
    head: config.tieWeights ? ['b_q'] : ['W_hq', 'b_q'],
  };
}

/** Pairs of (scratch name, layers name) for every weight of a model with this architecture. */
export function weightNameMapping(config: ModelConfig): Array<{ scratch: string; layers: string }> {
  const directions = config.bidirectional ? ['forward', 'backward'] : ['forward'];
  const { recurrent, head } = scratchSuffixes(config);
  const pairs: Array<{ scratch: string; layers: string }> = [];
  if (config.embedding !== undefined)
    pairs.push({ scratch: 'embedding/W_e', layers: 'embedding/embeddings' });
  for (let layer = 0; layer < config.layers; layer++) {
    for (const direction of directions) {
      for (const suffix of recurrent) {
        pairs.push({
          scratch: `layer${layer}/${direction}/${suffix}`,
          layers: `layer${layer}/${direction}/${SCRATCH_TO_LAYERS_SUFFIX[suffix]}`,
        });
      }
    }
  }
  for (const suffix of head)
    pairs.push({ scratch: `head/${suffix}`, layers: `head/${SCRATCH_TO_LAYERS_SUFFIX[suffix]}` });
  return pairs;
}

/**
 * Swaps the last two H-wide gate blocks along the last axis: LSTM (i, f, o, c) <-> (i, f, c, o).
 * Only recurrent weights of an LSTM are permuted; the head and the embedding have no gates.
 */
function reorderGates(config: ModelConfig, name: string, value: tf.Tensor): tf.Tensor {
  if (config.cell !== 'lstm' || !name.startsWith('layer')) return tf.clone(value);
  const H = config.hidden;
  const axis = value.rank - 1;
  if (value.shape[axis] !== 4 * H) {
    throw new Error(
      `LSTM weight ${name} must have 4 x hidden = ${4 * H} columns, got shape [${value.shape}]`,
    );
  }
  return tf.tidy(() => {
    const [i, f, third, fourth] = tf.split(value, 4, axis) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    return tf.concat([i, f, fourth, third], axis);
  });
}

/**
 * Scratch-named weights (from `@rnnlm/cells`) converted to layers names and gate order. Returns new
 * tensors; the caller disposes them. Throws when a weight is missing.
 */
export function scratchToLayersWeights(config: ModelConfig, scratch: NamedWeights): NamedWeights {
  return convert(config, scratch, 'scratch', 'layers');
}

/** Layers-named weights converted to scratch names and gate order (the inverse of scratchToLayersWeights). */
export function layersToScratchWeights(config: ModelConfig, layers: NamedWeights): NamedWeights {
  return convert(config, layers, 'layers', 'scratch');
}

function convert(
  config: ModelConfig,
  source: NamedWeights,
  from: 'scratch' | 'layers',
  to: 'scratch' | 'layers',
): NamedWeights {
  const out: NamedWeights = {};
  try {
    for (const pair of weightNameMapping(config)) {
      const value = source[pair[from]];
      if (value === undefined) {
        throw new Error(
          `weight ${pair[from]} is missing (have: ${Object.keys(source).join(', ') || 'none'})`,
        );
      }
      out[pair[to]] = reorderGates(config, pair[from], value);
    }
  } catch (error) {
    tf.dispose(Object.values(out));
    throw error;
  }
  return out;
}

/** A model's variables by their stable names (the tensors are the model's own: do not dispose). */
export function namedWeights(model: LanguageModel): NamedWeights {
  const out: NamedWeights = {};
  model.weightNames.forEach((name, i) => {
    out[name] = model.variables[i] as tf.Variable;
  });
  return out;
}

/**
 * Assigns weights to a model by name. Every weight of the model must be given, with its exact shape;
 * names the model does not have are an error too (a checkpoint of another architecture).
 * Checks everything before assigning anything, so a failed load leaves the model as it was.
 */
export function loadWeights(model: LanguageModel, weights: NamedWeights): void {
  const expected = new Set(model.weightNames);
  const unknown = Object.keys(weights).filter((name) => !expected.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `loadWeights: the model has no weights named ${unknown.join(', ')}; it expects ${model.weightNames.join(', ')}`,
    );
  }
  model.weightNames.forEach((name, i) => {
    const value = weights[name];
    const variable = model.variables[i] as tf.Variable;
    if (value === undefined) throw new Error(`loadWeights: weight ${name} is missing`);
    if (!tf.util.arraysEqual(value.shape, variable.shape)) {
      throw new Error(
        `loadWeights: weight ${name} has shape [${value.shape}], the model needs [${variable.shape}]`,
      );
    }
    if (value.dtype !== variable.dtype) {
      throw new Error(`loadWeights: weight ${name} is ${value.dtype}, the model needs ${variable.dtype}`);
    }
  });
  model.weightNames.forEach((name, i) => {
    (model.variables[i] as tf.Variable).assign(weights[name] as tf.Tensor);
  });
}

function sameArchitecture(a: ModelConfig, b: ModelConfig): boolean {
  return (
    a.cell === b.cell &&
    a.vocabSize === b.vocabSize &&
    a.hidden === b.hidden &&
    a.layers === b.layers &&
    a.bidirectional === b.bidirectional &&
    a.embedding === b.embedding &&
    (a.tieWeights ?? false) === (b.tieWeights ?? false)
  );
}

function assertSameArchitecture(source: LanguageModel, target: LanguageModel): void {
  if (!sameArchitecture(source.config, target.config)) {
    throw new Error(
      `cannot copy weights between different architectures: ${JSON.stringify(source.config)} vs ${JSON.stringify(target.config)}`,
    );
  }
}

/** Copies a scratch model's weights into a layers model of the same architecture. */
export function copyScratchWeightsToLayers(scratch: LanguageModel, layers: LanguageModel): void {
  copyConverted(scratch, layers, scratchToLayersWeights);
}

/** Copies a layers model's weights into a scratch model of the same architecture. */
export function copyLayersWeightsToScratch(layers: LanguageModel, scratch: LanguageModel): void {
  copyConverted(layers, scratch, layersToScratchWeights);
}

/** Loads `from`'s weights, converted to `to`'s names and layouts, into `to`; frees the converted copies. */
function copyConverted(
  from: LanguageModel,
  to: LanguageModel,
  convert: (config: ModelConfig, weights: NamedWeights) => NamedWeights,
): void {
  assertSameArchitecture(from, to);
  const converted = convert(from.config, namedWeights(from));
  try {
    loadWeights(to, converted);
  } finally {
    tf.dispose(Object.values(converted));
  }
}
