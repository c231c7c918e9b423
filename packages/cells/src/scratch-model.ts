import * as tf from '@tensorflow/tfjs-core';
import { checkModelArguments, statesPerCell } from './config.js';
import { dropoutMasksFor } from './dropout.js';
import { type FusedMode, stackLossAndGradients, useFused } from './fused/index.js';
import { assertIdsInRange, assertIdsTensor, assertLabelledBatch } from './ids.js';
import { initialWeights } from './init.js';
import type {
  ForwardMode,
  ForwardResult,
  LabelledBatch,
  LanguageModel,
  LossAndGradients,
  ModelConfig,
  State,
} from './model.js';
import { forwardStack, type StackWeights } from './stack.js';

/** Options of `createScratchModel`. */
export interface ScratchModelOptions {
  /** Seeds the weight initialisation: the same seed builds exactly the same weights. Default 0. */
  seed?: number;
  /**
   * Check in `forward` that every id is in [0, vocabSize) (default true). The check reads the ids
   * once per call, before any op uses them: ids made from host data (the trainer's batches,
   * generation's prompts) are still on the host then, so the read is a copy of B*T integers and needs
   * no round trip to a GPU. Turn it off only when the ids come out of GPU ops and are known to be
   * valid (`assertIdsInRange` checks host data): WebGL's gather reads an unknown id as a row of zeros.
   */
  checkIds?: boolean;
  /**
   * How each layer's recurrence runs (see `SequenceOptions.recurrence`): `auto` (default) uses the
   * fused WebAssembly kernel on the wasm and cpu backends (on webgpu its WGSL version, once
   * @rnnlm/backend registered it), `ops` the op-by-op form everywhere, `fused` the kernel or an error.
   */
  recurrence?: FusedMode;
}

const DIRECTIONS = ['forward', 'backward'] as const;

/** tfjs wants variable names unique within a process; stable names live in `weightNames`. */
let modelCounter = 0;

/**
 * A language model written from scratch on tfjs-core ops, in the efficient form of the notebooks'
 * math: layer 0 gathers rows of its input weight (one-hot times a matrix is a row lookup), deeper
 * layers project the inputs of all steps in one matmul, the gates of a cell share one fused weight
 * per input (one matmul per step on the recurrent path), and the output head runs over all steps in
 * one matmul.
 *
 * With `config.embedding` E, the tokens are looked up in an embedding [V, E] first and layer 0
 * projects those rows; with `config.tieWeights` the head's weight is that embedding transposed.
 *
 * Weight names (stable, also the checkpoint keys): `embedding/W_e` [V, E] when there is one; for
 * layer l and direction d, RNN `layer{l}/{d}/W_xh`, `W_hh`, `b_h`; GRU and LSTM `layer{l}/{d}/W_x`,
 * `W_h`, `b` with gates fused in the order (z, r, h~) and (i, f, o, c~); then `head/W_hq` (not when
 * tied), `head/b_q`.
 */
export function createScratchModel(config: ModelConfig, options: ScratchModelOptions = {}): LanguageModel {
  const {
    config: valid,
    seed,
    recurrence,
  } = checkModelArguments('createScratchModel', 'scratch', config, options);
  return new ScratchLanguageModel(valid, seed, options.checkIds ?? true, recurrence);
}

class ScratchLanguageModel implements LanguageModel {
  readonly config: ModelConfig;
  readonly variables: tf.Variable[] = [];
  readonly weightNames: string[] = [];
  readonly #stack: StackWeights;
  readonly #checkIds: boolean;
  readonly #recurrence: FusedMode;
  #disposed = false;

  constructor(config: ModelConfig, seed: number, checkIds: boolean, recurrence: FusedMode) {
    this.#checkIds = checkIds;
    this.#recurrence = recurrence;
    this.config = Object.freeze({ ...config });
    const { cell, layers, bidirectional } = config;
    const prefix = `rnnlm_scratch_${++modelCounter}`;
    const initial = new Map(initialWeights(config, seed).map((w) => [w.name, w]));
    const add = <R extends tf.Rank>(name: string) => {
      const { shape, values } = initial.get(name)!;
      // tidy frees the initial tensor; the variable (not tracked by tidy) keeps its own copy.
      const variable: tf.Variable = tf.tidy(() =>
        tf.variable(tf.tensor(values, shape, 'float32'), true, `${prefix}/${name}`),
      );
      this.variables.push(variable);
      this.weightNames.push(name);
      return variable as tf.Variable<R>;
    };
    const directions = DIRECTIONS.slice(0, bidirectional ? 2 : 1);
    const [xName, hName, bName] = cell === 'rnn' ? ['W_xh', 'W_hh', 'b_h'] : ['W_x', 'W_h', 'b'];
    const embedding = config.embedding === undefined ? undefined : add<tf.Rank.R2>('embedding/W_e');
    const stackLayers = [];
    for (let l = 0; l < layers; l++) {
      stackLayers.push(
        directions.map((d) => ({
          Wx: add<tf.Rank.R2>(`layer${l}/${d}/${xName}`),
          W: add<tf.Rank.R2>(`layer${l}/${d}/${hName}`),
          b: add<tf.Rank.R1>(`layer${l}/${d}/${bName}`),
        })),
      );
    }
    // Tied: no W_hq of its own, the head reads the embedding transposed (see forwardStack).
    const head = {
      ...(config.tieWeights ? {} : { W: add<tf.Rank.R2>('head/W_hq') }),
      b: add<tf.Rank.R1>('head/b_q'),
    };
    this.#stack = { cell, ...(embedding ? { embedding } : {}), layers: stackLayers, head };
  }

  beginState(batchSize: number): State {
    this.#assertLive();
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`beginState: batchSize must be a positive integer, got ${batchSize}`);
    }
    const count = this.#stateCount();
    return Array.from({ length: count }, () => tf.zeros([batchSize, this.config.hidden]) as tf.Tensor2D);
  }

  forward(ids: tf.Tensor2D, state: State, mode?: ForwardMode): ForwardResult {
    this.#assertLive();
    const masks = dropoutMasksFor(this.config, mode);
    assertIdsTensor(ids);
    const [batch, steps] = ids.shape;
    this.#assertState(state, batch);
    // Before any op touches the ids, so that host-made ids are read where they are (see checkIds).
    if (this.#checkIds) assertIdsInRange(ids.dataSync(), this.config.vocabSize, steps);
    return forwardStack(this.#stack, ids, state, useFused(this.#recurrence), masks);
  }

  lossAndGradients(batch: LabelledBatch, state: State, mode: ForwardMode): LossAndGradients | null {
    this.#assertLive();
    if (dropoutMasksFor(this.config, mode) !== null || !useFused(this.#recurrence)) return null;
    // The ids are checked whatever checkIds says: they are host data here, and the kernels index by them.
    assertLabelledBatch(batch, this.config.vocabSize);
    this.#assertState(state, batch.batchSize);
    return stackLossAndGradients(this.#stack, this.variables, batch, state);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const v of this.variables) v.dispose();
  }

  #stateCount(): number {
    return this.config.layers * (this.config.bidirectional ? 2 : 1) * statesPerCell(this.config.cell);
  }

  #assertState(state: State, batch: number): void {
    const count = this.#stateCount();
    if (!Array.isArray(state) || state.length !== count) {
      throw new Error(
        `state must hold ${count} tensors for this model (layers x directions x ${this.config.cell === 'lstm' ? 'h and c' : 'h'}), ` +
          `got ${Array.isArray(state) ? state.length : typeof state}; start from model.beginState(batchSize)`,
      );
    }
    for (const t of state) {
      if (t.isDisposed)
        throw new Error(
          'state holds a disposed tensor; keep the state returned by forward (tf.keep) or begin a new one',
        );
      if (t.rank !== 2 || t.shape[0] !== batch || t.shape[1] !== this.config.hidden) {
        throw new Error(
          `state tensors must be [batch ${batch}, hidden ${this.config.hidden}], got [${t.shape.join(', ')}]; ` +
            'the batch size of ids and state must match',
        );
      }
    }
  }

  #assertLive(): void {
    if (this.#disposed) throw new Error('this model has been disposed');
  }
}
