import { CELL_KINDS } from '@rnnlm/kernels';
import { type FusedMode, recurrenceOption } from './fused/mode.js';
import {
  DROPOUT_MODES,
  type DropoutMode,
  INIT_SCHEMES,
  type InitScheme,
  MODEL_IMPLS,
  type ModelConfig,
  type ModelImpl,
} from './model.js';

/**
 * Checks a model configuration (for example one read from a checkpoint or built from CLI flags) and
 * returns a normalised copy. Every problem is a clear error that names the field, the value and what
 * is allowed, instead of a NaN or a shape error from deep inside tfjs later.
 */
export function validateModelConfig(config: unknown): ModelConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new Error(
      `model config must be an object like { impl, cell, vocabSize, hidden, layers, bidirectional }`,
    );
  }
  const c = config as Record<string, unknown>;
  const impl = c.impl ?? 'scratch';
  if (!MODEL_IMPLS.includes(impl as never)) {
    throw new Error(
      `model config: unknown impl ${JSON.stringify(impl)}; use one of ${MODEL_IMPLS.join(', ')}`,
    );
  }
  if (!CELL_KINDS.includes(c.cell as never)) {
    throw new Error(
      `model config: unknown cell ${JSON.stringify(c.cell)}; use one of ${CELL_KINDS.join(', ')}`,
    );
  }
  const bidirectional = c.bidirectional ?? false;
  if (typeof bidirectional !== 'boolean') {
    throw new Error(
      `model config: bidirectional must be true or false, got ${JSON.stringify(bidirectional)}`,
    );
  }
  const valid: ModelConfig = {
    impl: impl as ModelConfig['impl'],
    cell: c.cell as ModelConfig['cell'],
    vocabSize: positiveInteger(c.vocabSize, 'vocabSize', 'the vocabulary size (at least 1 token)'),
    hidden: positiveInteger(c.hidden, 'hidden', 'the number of hidden units per layer'),
    layers: positiveInteger(c.layers ?? 1, 'layers', 'the number of stacked recurrent layers'),
    bidirectional,
    ...dropoutFields(c.dropout, c.dropoutMode),
  };
  // Added only when set, so a config without them (every checkpoint before them) stays as it was.
  if (c.embedding !== undefined) {
    valid.embedding = positiveInteger(c.embedding, 'embedding', 'the size of the token embedding');
  }
  const tieWeights = c.tieWeights ?? false;
  if (typeof tieWeights !== 'boolean') {
    throw new Error(`model config: tieWeights must be true or false, got ${JSON.stringify(tieWeights)}`);
  }
  if (tieWeights) {
    checkTying(valid);
    valid.tieWeights = true;
  }
  const init = c.init ?? 'normal';
  if (!INIT_SCHEMES.includes(init as never)) {
    throw new Error(
      `model config: unknown init ${JSON.stringify(c.init)}; use one of ${INIT_SCHEMES.join(', ')} ` +
        "(normal: the notebooks' N(0, 0.01²); uniform: PyTorch's defaults)",
    );
  }
  if (init !== 'normal') valid.init = init as InitScheme;
  return valid;
}

/**
 * Tying makes the head's weight [top width, vocabulary] the embedding [vocabulary, embedding]
 * transposed, so the embedding must be as wide as the top layer's output.
 */
function checkTying(config: ModelConfig): void {
  const top = config.hidden * (config.bidirectional ? 2 : 1);
  const topSize = config.bidirectional ? `2 x hidden = ${top} (bidirectional)` : `hidden = ${top}`;
  if (config.embedding === undefined) {
    throw new Error(
      `model config: tieWeights needs an embedding to tie the output head to; set embedding to ${topSize} (--embedding ${top}), or turn tieWeights off`,
    );
  }
  if (config.embedding !== top) {
    throw new Error(
      `model config: tieWeights needs embedding equal to the top layer's output size, ${topSize}, ` +
        `but embedding is ${config.embedding}; set embedding to ${top} (--embedding ${top}), ` +
        `change hidden, or turn tieWeights off (--tie-weights)`,
    );
  }
}

/** The width of the first layer's input: the embedding size, or the vocabulary (one-hot). */
export function firstLayerInputSize(config: ModelConfig): number {
  return config.embedding ?? config.vocabSize;
}

/**
 * The dropout fields of a normalised config: both when the rate is above 0, none when it is 0 or
 * absent (so a config without dropout is the same object as before dropout existed).
 */
function dropoutFields(rate: unknown, mode: unknown): Pick<ModelConfig, 'dropout' | 'dropoutMode'> {
  const p = rate ?? 0;
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) {
    throw new Error(
      `model config: dropout must be a number from 0 (none) up to but not including 1, got ${JSON.stringify(rate)}; ` +
        'it is the probability that a unit is dropped in training (0.2 to 0.5 are usual)',
    );
  }
  const m = mode ?? 'standard';
  if (!DROPOUT_MODES.includes(m as never)) {
    throw new Error(
      `model config: unknown dropoutMode ${JSON.stringify(mode)}; use one of ${DROPOUT_MODES.join(', ')}`,
    );
  }
  return p === 0 ? {} : { dropout: p, dropoutMode: m as DropoutMode };
}

function positiveInteger(value: unknown, name: string, meaning: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(
      `model config: ${name} must be a positive integer (${meaning}), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Number of state tensors per layer and direction: h for RNN and GRU, h and c for LSTM. */
export function statesPerCell(cell: ModelConfig['cell']): number {
  return cell === 'lstm' ? 2 : 1;
}

/** The factory that builds each impl, for the error that names the right one. */
const FACTORIES: Record<ModelImpl, string> = {
  scratch: 'createScratchModel from @rnnlm/cells',
  layers: 'createLayersModel from @rnnlm/layers',
};

/**
 * What every model factory (`fn`, building `impl` models) checks before it builds: the config, that
 * its impl is the factory's, a finite seed (default 0) and the recurrence option.
 */
export function checkModelArguments(
  fn: string,
  impl: ModelImpl,
  config: unknown,
  options: { seed?: number; recurrence?: FusedMode },
): { config: ModelConfig; seed: number; recurrence: FusedMode } {
  const valid = validateModelConfig(config);
  if (valid.impl !== impl) {
    throw new Error(
      `${fn} builds impl '${impl}' models, but the config says impl '${valid.impl}'; ` +
        `use ${FACTORIES[valid.impl]} for it, or set impl: '${impl}'`,
    );
  }
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) throw new Error(`${fn}: seed must be a finite number, got ${seed}`);
  return { config: valid, seed, recurrence: recurrenceOption(fn, options) };
}
