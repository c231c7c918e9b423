import { Random } from '@rnnlm/data';
import * as tf from '@tensorflow/tfjs-core';
import { gatesPerCell, statesPerCell, validateModelConfig } from './config.js';
import { fusedHeadLayer, fusedLayer, SEQUENCE_KERNELS, type SequenceKernels, useFused } from './fused.js';
import { assertIdsInRange, assertIdsTensor } from './ids.js';
import type { ForwardResult, LanguageModel, ModelConfig, State } from './model.js';
import { gruSequence, lstmSequence, rnnSequence } from './sequence.js';

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
   * How each layer's recurrence runs (see `SequenceOptions.kernels`): `auto` (default) uses the fused
   * WebAssembly kernel on the wasm and cpu backends, `ops` the op-by-op form everywhere.
   */
  kernels?: SequenceKernels;
}

/** Initialisation as in the notebooks: weights normal with standard deviation 0.01, biases zero. */
const INIT_STDDEV = 0.01;
const DIRECTIONS = ['forward', 'backward'] as const;

/** tfjs wants variable names unique within a process; stable names live in `weightNames`. */
let modelCounter = 0;

interface RecurrentWeights {
  W_x: tf.Variable<tf.Rank.R2>;
  W_h: tf.Variable<tf.Rank.R2>;
  b: tf.Variable<tf.Rank.R1>;
}

/**
 * A language model written from scratch on tfjs-core ops, in the efficient form of the notebooks'
 * math: layer 0 gathers rows of its input weight (one-hot times a matrix is a row lookup), deeper
 * layers project the inputs of all steps in one matmul, the gates of a cell share one fused weight
 * per input (one matmul per step on the recurrent path), and the output head runs over all steps in
 * one matmul.
 *
 * Weight names (stable, also the checkpoint keys), for layer l and direction d:
 * RNN `layer{l}/{d}/W_xh`, `W_hh`, `b_h`; GRU and LSTM `layer{l}/{d}/W_x`, `W_h`, `b` with gates fused in
 * the order (z, r, h~) and (i, f, o, c~); then `head/W_hq`, `head/b_q`.
 */
export function createScratchModel(config: ModelConfig, options: ScratchModelOptions = {}): LanguageModel {
  const valid = validateModelConfig(config);
  if (valid.impl !== 'scratch') {
    throw new Error(
      `createScratchModel builds impl 'scratch' models, but the config says impl '${valid.impl}'; ` +
        `use createLayersModel from @rnnlm/layers for it, or set impl: 'scratch'`,
    );
  }
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed))
    throw new Error(`createScratchModel: seed must be a finite number, got ${seed}`);
  const kernels = options.kernels ?? 'auto';
  if (!SEQUENCE_KERNELS.includes(kernels)) {
    throw new Error(
      `createScratchModel: kernels must be one of ${SEQUENCE_KERNELS.join(', ')}, got ${JSON.stringify(kernels)}`,
    );
  }
  return new ScratchLanguageModel(valid, seed, options.checkIds ?? true, kernels);
}

class ScratchLanguageModel implements LanguageModel {
  readonly config: ModelConfig;
  readonly variables: tf.Variable[] = [];
  readonly weightNames: string[] = [];
  readonly #layers: RecurrentWeights[][] = [];
  readonly #W_hq: tf.Variable;
  readonly #b_q: tf.Variable;
  readonly #checkIds: boolean;
  readonly #kernels: SequenceKernels;
  #disposed = false;

  constructor(config: ModelConfig, seed: number, checkIds: boolean, kernels: SequenceKernels) {
    this.#checkIds = checkIds;
    this.#kernels = kernels;
    this.config = Object.freeze({ ...config });
    const { cell, vocabSize, hidden, layers, bidirectional } = config;
    const rng = new Random(seed);
    const prefix = `rnnlm_scratch_${++modelCounter}`;
    const add = (name: string, shape: number[], init: 'normal' | 'zeros'): tf.Variable => {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(size);
      if (init === 'normal') for (let i = 0; i < size; i++) values[i] = rng.normal() * INIT_STDDEV;
      // tidy frees the initial tensor; the variable (not tracked by tidy) keeps its own copy.
      const variable = tf.tidy(() =>
        tf.variable(tf.tensor(values, shape, 'float32'), true, `${prefix}/${name}`),
      );
      this.variables.push(variable);
      this.weightNames.push(name);
      return variable;
    };
    const directions = DIRECTIONS.slice(0, bidirectional ? 2 : 1);
    const gateWidth = gatesPerCell(cell) * hidden;
    const [xName, hName, bName] = cell === 'rnn' ? ['W_xh', 'W_hh', 'b_h'] : ['W_x', 'W_h', 'b'];
    for (let l = 0; l < layers; l++) {
      const inputs = l === 0 ? vocabSize : hidden * directions.length;
      this.#layers.push(
        directions.map((d) => ({
          W_x: add(`layer${l}/${d}/${xName}`, [inputs, gateWidth], 'normal') as tf.Variable<tf.Rank.R2>,
          W_h: add(`layer${l}/${d}/${hName}`, [hidden, gateWidth], 'normal') as tf.Variable<tf.Rank.R2>,
          b: add(`layer${l}/${d}/${bName}`, [gateWidth], 'zeros') as tf.Variable<tf.Rank.R1>,
        })),
      );
    }
    this.#W_hq = add('head/W_hq', [hidden * directions.length, vocabSize], 'normal');
    this.#b_q = add('head/b_q', [vocabSize], 'zeros');
  }

  beginState(batchSize: number): State {
    this.#assertLive();
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`beginState: batchSize must be a positive integer, got ${batchSize}`);
    }
    const count = this.#stateCount();
    return Array.from({ length: count }, () => tf.zeros([batchSize, this.config.hidden]) as tf.Tensor2D);
  }

  forward(ids: tf.Tensor2D, state: State): ForwardResult {
    this.#assertLive();
    assertIdsTensor(ids);
    const [batch, steps] = ids.shape;
    this.#assertState(state, batch);
    const { cell, vocabSize } = this.config;
    // Before any op touches the ids, so that host-made ids are read where they are (see checkIds).
    if (this.#checkIds) assertIdsInRange(ids.dataSync(), vocabSize, steps);
    const perCell = statesPerCell(cell);
    const fused = useFused(this.#kernels);
    return tf.tidy(() => {
      // Time-major ids, so that step t's rows are contiguous: row t*B + b is step t of sequence b.
      const flatIds = tf.reshape(tf.transpose(ids), [steps * batch]);
      let input: tf.Tensor2D | undefined; // [T*B, D] for layers above the first
      const newState: tf.Tensor2D[] = [];
      let s = 0;
      const top = this.#layers.length - 1;
      for (const [l, directions] of this.#layers.entries()) {
        const outputs: tf.Tensor3D[] = [];
        for (const [d, w] of directions.entries()) {
          // The backward direction walks the steps from last to first, from its own initial state.
          const reverse = d === 1;
          const h0 = state[s]!;
          const c0 = cell === 'lstm' ? state[s + 1]! : null;
          if (fused && l === top && directions.length === 1) {
            // The top layer and the output head in one kernel: its outputs never leave it.
            const layerInput = l === 0 ? { ids: flatIds as tf.Tensor1D } : { x: input! };
            const recurrence = { cell, h0, c0, W: w.W_h, reverse };
            const out = fusedHeadLayer(layerInput, w.W_x, w.b, recurrence, {
              W: this.#W_hq as tf.Variable<tf.Rank.R2>,
              b: this.#b_q as tf.Variable<tf.Rank.R1>,
            });
            newState.push(out.h);
            if (out.c) newState.push(out.c);
            return { logits: out.logits, state: newState };
          }
          let result: { outputs: tf.Tensor3D; h: tf.Tensor2D; c?: tf.Tensor2D };
          if (fused) {
            // The whole layer in one kernel: the projection below and the recurrence.
            const layerInput = l === 0 ? { ids: flatIds as tf.Tensor1D } : { x: input! };
            result = fusedLayer(layerInput, w.W_x, w.b, { cell, h0, c0, W: w.W_h, reverse });
          } else {
            // One-hot(x) W_x is row x of W_x: layer 0 gathers rows; deeper layers project all steps at once.
            const projected =
              l === 0 ? tf.add(tf.gather(w.W_x, flatIds), w.b) : tf.add(tf.matMul(input!, w.W_x), w.b);
            const xProj = tf.reshape(projected, [steps, batch, -1]) as tf.Tensor3D;
            const options = { reverse, kernels: 'ops' as const };
            if (cell === 'lstm') result = lstmSequence(xProj, h0, c0!, w.W_h, options);
            else if (cell === 'gru') result = gruSequence(xProj, h0, w.W_h, options);
            else result = rnnSequence(xProj, h0, w.W_h, options);
          }
          s += perCell;
          newState.push(result.h);
          if (result.c) newState.push(result.c);
          outputs.push(result.outputs);
        }
        // Per step [forward, backward]: the next layer (or the head) reads H * directions inputs.
        const layerOut = outputs.length === 1 ? outputs[0]! : tf.concat(outputs, 2);
        input = tf.reshape(layerOut, [steps * batch, -1]) as tf.Tensor2D;
      }
      const logits = tf.add(tf.matMul(input!, this.#W_hq), this.#b_q) as tf.Tensor2D;
      return { logits, state: newState };
    });
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
