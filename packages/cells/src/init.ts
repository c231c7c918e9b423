import { Random } from '@rnnlm/data';
import { gatesPerCell } from '@rnnlm/kernels';
import { firstLayerInputSize } from './config.js';
import type { InitScheme, ModelConfig } from './model.js';

/** The notebooks' initialisation: weights N(0, 0.01²), biases zero. */
export const NORMAL_INIT_STDDEV = 0.01;

/**
 * What a weight is, for the initialisation schemes (each kind is drawn its own way under `uniform`):
 * the embedding, a recurrent layer's input kernel, recurrent kernel and (fused) bias, the head's
 * weight and bias.
 */
export type WeightKind = 'embedding' | 'input' | 'recurrent' | 'bias' | 'head' | 'headBias';

/** One weight as the scratch model names and shapes it, with its initial values. */
export interface InitialWeight {
  name: string;
  kind: WeightKind;
  shape: number[];
  values: Float32Array;
}

const DIRECTIONS = ['forward', 'backward'] as const;

/**
 * The initial weights of a model, in the scratch model's names, shapes and order (see
 * `createScratchModel`; LSTM gates in d2l's order i, f, o, c~), drawn from one `Random(seed)` in that
 * order. Both implementations start from these under `uniform`, so the same seed gives them the same
 * model; under `normal` the scratch model uses them and the layers model keeps tfjs-layers' seeded
 * initialisers (as before schemes existed).
 *
 * - `normal` (the default, the notebooks'): every weight matrix N(0, 0.01²), every bias 0 (no draws).
 * - `uniform` (PyTorch's defaults for `nn.LSTM`/`nn.GRU`/`nn.RNN`, `nn.Linear`, `nn.Embedding`): the
 *   recurrent kernels U(−k, k) with k = 1/√hidden; the fused bias b_ih + b_hh, each U(−k, k) as
 *   torch draws its two biases (so b is their sum, a triangular draw on (−2k, 2k)); the head's weight
 *   and bias U(−1/√fanIn, 1/√fanIn) with fanIn its input width; the embedding N(0, 1).
 */
export function initialWeights(config: ModelConfig, seed: number): InitialWeight[] {
  const scheme: InitScheme = config.init ?? 'normal';
  const { cell, vocabSize, hidden, layers } = config;
  const rng = new Random(seed);
  const directions = DIRECTIONS.slice(0, config.bidirectional ? 2 : 1);
  const width = hidden * directions.length;
  const gateWidth = gatesPerCell(cell) * hidden;
  const [xName, hName, bName] = cell === 'rnn' ? ['W_xh', 'W_hh', 'b_h'] : ['W_x', 'W_h', 'b'];
  const weights: InitialWeight[] = [];
  const add = (name: string, kind: WeightKind, shape: number[]) => {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(values, scheme, kind, kind === 'head' || kind === 'headBias' ? width : hidden, rng);
    weights.push({ name, kind, shape, values });
  };
  if (config.embedding !== undefined) add('embedding/W_e', 'embedding', [vocabSize, config.embedding]);
  for (let l = 0; l < layers; l++) {
    const inputs = l === 0 ? firstLayerInputSize(config) : width;
    for (const d of directions) {
      add(`layer${l}/${d}/${xName}`, 'input', [inputs, gateWidth]);
      add(`layer${l}/${d}/${hName}`, 'recurrent', [hidden, gateWidth]);
      add(`layer${l}/${d}/${bName}`, 'bias', [gateWidth]);
    }
  }
  // Tied: the head has no weight of its own (it reads the embedding transposed).
  if (!config.tieWeights) add('head/W_hq', 'head', [width, vocabSize]);
  add('head/b_q', 'headBias', [vocabSize]);
  return weights;
}

/**
 * Fills `values` for a weight of `kind`. `fanIn` is the hidden size for the recurrent layers' weights
 * (torch's k = 1/√hidden) and the head's input width for the head.
 */
function fill(values: Float32Array, scheme: InitScheme, kind: WeightKind, fanIn: number, rng: Random) {
  if (scheme === 'normal') {
    // Biases stay zero, and draw nothing: the weights of the notebooks' order of draws.
    if (kind === 'bias' || kind === 'headBias') return;
    for (let i = 0; i < values.length; i++) values[i] = rng.normal() * NORMAL_INIT_STDDEV;
    return;
  }
  if (kind === 'embedding') {
    for (let i = 0; i < values.length; i++) values[i] = rng.normal();
    return;
  }
  const k = 1 / Math.sqrt(fanIn);
  const uniform = () => (2 * rng.next() - 1) * k;
  if (kind === 'bias') {
    // torch's two biases, b_ih and b_hh, each U(−k, k); the cells add them, so one fused bias.
    for (let i = 0; i < values.length; i++) values[i] = uniform() + uniform();
    return;
  }
  for (let i = 0; i < values.length; i++) values[i] = uniform();
}
