import {
  applyDropout,
  assertIdsInRange,
  assertIdsTensor,
  assertLabelledBatch,
  checkModelArguments,
  DROPOUT_INPUT_SITE,
  dropoutMasksFor,
  type ForwardMode,
  type ForwardResult,
  type FusedMode,
  firstLayerInputSize,
  forwardStack,
  type LabelledBatch,
  type LanguageModel,
  type LossAndGradients,
  layerOutputSite,
  type ModelConfig,
  NORMAL_INIT_STDDEV,
  type StackWeights,
  type State,
  stackLossAndGradients,
  statesPerCell,
  useFused,
} from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { assignInitialWeights } from './init.js';

/** Options of `createLayersModel`. */
export interface LayersModelOptions {
  /** Seeds the weight initialisers: the same seed builds exactly the same weights. Default 0, as in cells. */
  seed?: number;
  /**
   * How the recurrent layers compute. `auto` (default): on the wasm, cpu and webgpu backends each layer runs,
   * with its own tfjs-layers weights, in the fused kernel of @rnnlm/cells (as Keras runs an LSTM layer
   * in cuDNN's kernel when its settings allow); elsewhere tfjs-layers runs it. `ops` always runs
   * tfjs-layers' own implementation; `fused` insists on the kernel.
   */
  recurrence?: FusedMode;
}

/** The names tfjs-layers gives a recurrent cell's weights, in the order it creates them. */
const RECURRENT_WEIGHT_SUFFIXES = ['kernel', 'recurrent_kernel', 'bias'] as const;
const HEAD_WEIGHT_SUFFIXES = ['kernel', 'bias'] as const;
const EMBEDDING_WEIGHT_SUFFIXES = ['embeddings'] as const;

type Direction = 'forward' | 'backward';

interface RecurrentUnit {
  layer: number;
  direction: Direction;
  rnn: tfl.RNN;
  /** The layer's weights (kernel [in, G*H], recurrent kernel [H, G*H], bias [G*H]). */
  kernel: tf.Variable;
  recurrentKernel: tf.Variable;
  bias: tf.Variable;
}

/** Per-process counter: tfjs-layers wants layer names unique within a process. */
let modelCounter = 0;

/**
 * A language model built from tfjs-layers recurrent layers (`simpleRNN`, `gru`, `lstm`), stacked
 * `config.layers` deep, optionally bidirectional, with a dense output head; the same interface and
 * state layout as the scratch models of `@rnnlm/cells`.
 *
 * Inputs are fed as one-hot vectors, as in the notebooks: layer 0's kernel then has V rows and is
 * the same matrix as scratch's layer-0 `W_x` (the scratch model gathers its rows; one-hot times a
 * matrix is the same math). With `config.embedding` E, a `tf.layers.embedding` [V, E] (weight
 * `embedding/embeddings`, scratch's `embedding/W_e`) looks the tokens up first and layer 0's kernel has
 * E rows; with `config.tieWeights` the head has no kernel of its own: its logits are the top outputs
 * times the embeddings transposed, plus its bias (`head/bias`).
 *
 * Layers are not `stateful`: the state goes in through `initialState` and comes out through
 * `returnState`, so the same weights run at any batch size (train at 32, generate at 1).
 */
export function createLayersModel(config: ModelConfig, options: LayersModelOptions = {}): LanguageModel {
  const {
    config: valid,
    seed,
    recurrence,
  } = checkModelArguments('createLayersModel', 'layers', config, options);
  return new TfjsLayersLanguageModel(valid, seed, recurrence);
}

class TfjsLayersLanguageModel implements LanguageModel {
  readonly config: ModelConfig;
  readonly variables: tf.Variable[];
  readonly weightNames: readonly string[];

  readonly #units: RecurrentUnit[] = [];
  /** The token embedding, when the config has one. */
  readonly #embedding: tfl.layers.Layer | undefined;
  #embeddings: tf.Variable | undefined;
  /** The dense head; absent when tied (then #headBias is a variable of its own). */
  readonly #head: tfl.layers.Layer | undefined;
  /** The dense head's kernel [width, V] and bias [V], for the fused path's own product. */
  #headKernel: tf.Variable | undefined;
  #headBias: tf.Variable | undefined;
  readonly #directions: Direction[];
  readonly #statesPerUnit: number;
  readonly #recurrence: FusedMode;
  /** The weights as the fused path reads them, gathered on its first call. */
  #stack: StackWeights | undefined;
  #disposed = false;

  constructor(config: ModelConfig, seed: number, recurrence: FusedMode) {
    this.#recurrence = recurrence;
    this.config = Object.freeze({ ...config });
    const { cell, vocabSize, hidden, layers, bidirectional } = config;
    this.#directions = bidirectional ? ['forward', 'backward'] : ['forward'];
    this.#statesPerUnit = statesPerCell(cell);
    const prefix = `rnnlm_layers${++modelCounter}`;
    let initializerIndex = 0;
    // `normal`: tfjs-layers' seeded initialisers, each its own seed (a shared one would draw the same
    // matrix for every weight of a shape). Other schemes: zeros here, then the values of
    // `initialWeights` (the scratch model's), assigned once the weights exist.
    const uniform = config.init !== undefined && config.init !== 'normal';
    const normal = () =>
      uniform
        ? tfl.initializers.zeros()
        : tfl.initializers.randomNormal({
            mean: 0,
            stddev: NORMAL_INIT_STDDEV,
            seed: deriveSeed(seed, initializerIndex++),
          });

    const variables: tf.Variable[] = [];
    const names: string[] = [];
    try {
      if (config.embedding !== undefined) {
        this.#embedding = tfl.layers.embedding({
          inputDim: vocabSize,
          outputDim: config.embedding,
          embeddingsInitializer: normal(),
          name: `${prefix}_embedding`,
        });
        buildEagerly(this.#embedding, [1, 1]);
        collectWeights(this.#embedding, EMBEDDING_WEIGHT_SUFFIXES, 'embedding', variables, names);
        this.#embeddings = variables.at(-1);
      }
      for (let layer = 0; layer < layers; layer++) {
        const inputSize = layer === 0 ? firstLayerInputSize(config) : hidden * this.#directions.length;
        for (const direction of this.#directions) {
          const args = {
            units: hidden,
            returnSequences: true,
            returnState: true,
            // The backward direction reads the sequence from its end; see `forward` for why this is
            // not tf.layers.bidirectional.
            goBackwards: direction === 'backward',
            kernelInitializer: normal(),
            recurrentInitializer: normal(),
            biasInitializer: 'zeros' as const,
            name: `${prefix}_layer${layer}_${direction}`,
          };
          const rnn =
            cell === 'rnn'
              ? tfl.layers.simpleRNN({ ...args, activation: 'tanh' })
              : cell === 'gru'
                ? tfl.layers.gru(gruArgs({ ...args, recurrentActivation: 'sigmoid' }))
                : tfl.layers.lstm({ ...args, recurrentActivation: 'sigmoid', unitForgetBias: false });
          buildEagerly(rnn, [1, 1, inputSize]);
          const first = variables.length;
          collectWeights(rnn, RECURRENT_WEIGHT_SUFFIXES, `layer${layer}/${direction}`, variables, names);
          const [kernel, recurrentKernel, bias] = variables.slice(first) as [
            tf.Variable,
            tf.Variable,
            tf.Variable,
          ];
          this.#units.push({ layer, direction, rnn, kernel, recurrentKernel, bias });
        }
      }
      if (config.tieWeights) {
        // No dense layer: its kernel would be the embeddings transposed, which a layer cannot share.
        this.#headBias = tf.tidy(() => tf.variable(tf.zeros([vocabSize]), true, `${prefix}_head/bias`));
        variables.push(this.#headBias);
        names.push('head/bias');
      } else {
        this.#head = tfl.layers.dense({
          units: vocabSize,
          kernelInitializer: normal(),
          biasInitializer: 'zeros',
          name: `${prefix}_head`,
        });
        buildEagerly(this.#head, [1, hidden * this.#directions.length]);
        collectWeights(this.#head, HEAD_WEIGHT_SUFFIXES, 'head', variables, names);
        [this.#headKernel, this.#headBias] = variables.slice(-2) as [tf.Variable, tf.Variable];
      }
      if (uniform) assignInitialWeights(config, seed, variables);
    } catch (error) {
      this.#disposeLayers();
      throw error;
    }
    this.variables = variables;
    this.weightNames = Object.freeze(names);
  }

  beginState(batchSize: number): State {
    this.#assertLive();
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`beginState: batchSize must be a positive integer, got ${batchSize}`);
    }
    const count = this.#units.length * this.#statesPerUnit;
    return Array.from({ length: count }, () => tf.zeros([batchSize, this.config.hidden]) as tf.Tensor2D);
  }

  forward(ids: tf.Tensor2D, state: State, mode?: ForwardMode): ForwardResult {
    this.#assertLive();
    const masks = dropoutMasksFor(this.config, mode);
    const [batchSize, numSteps] = this.#checkInputs(ids, state);
    if (useFused(this.#recurrence)) {
      this.#stack ??= this.#stackWeights();
      return forwardStack(this.#stack, ids, state, true, masks);
    }
    // Dropout with the masks of the stack of @rnnlm/cells, on time-major rows (t * B + b).
    const timeMajorRows = (x: tf.Tensor3D) =>
      tf.reshape(tf.transpose(x, [1, 0, 2]), [numSteps * batchSize, x.shape[2]]) as tf.Tensor2D;
    const dropBatchMajor = (x: tf.Tensor3D, site: number) => {
      const dropped = applyDropout(timeMajorRows(x), masks, site, numSteps, batchSize);
      return tf.transpose(tf.reshape(dropped, [numSteps, batchSize, x.shape[2]]), [1, 0, 2]) as tf.Tensor3D;
    };
    return tf.tidy(() => {
      let x = this.#embedTokens(ids);
      // The embedded tokens are a dense input: dropped as the stack drops them (one-hot inputs are not).
      if (masks !== null && this.#embedding) x = dropBatchMajor(x, DROPOUT_INPUT_SITE);
      const nextState: tf.Tensor2D[] = [];
      let stateIndex = 0;
      for (let layer = 0; layer < this.config.layers; layer++) {
        const outputs: tf.Tensor3D[] = [];
        for (const unit of this.#units.filter((u) => u.layer === layer)) {
          const initialState = state.slice(stateIndex, stateIndex + this.#statesPerUnit);
          stateIndex += this.#statesPerUnit;
          // Bidirectional by hand, not tf.layers.bidirectional: that wrapper clones the layer from its
          // config (a seeded initialiser would give both directions the same weights), hides the two
          // directions' weights behind one layer, and its state handling has a bug history. A
          // goBackwards layer given its own initial state, with its output sequence reversed back into
          // time order, is the same computation (a test checks it against the wrapper).
          const result = unit.rnn.apply(x, { initialState }) as tf.Tensor[];
          const [sequence, ...finalState] = result as [tf.Tensor3D, ...tf.Tensor2D[]];
          // goBackwards emits outputs in the order it read them, last time step first.
          outputs.push(unit.direction === 'backward' ? tf.reverse(sequence, 1) : sequence);
          nextState.push(...finalState);
        }
        x = outputs.length === 1 ? (outputs[0] as tf.Tensor3D) : tf.concat(outputs, 2);
        if (masks !== null && layer < this.config.layers - 1) x = dropBatchMajor(x, layerOutputSite(layer));
      }
      // Time-major rows (t * B + b), then the head over all steps in one matmul.
      const top = this.config.layers - 1;
      const rows = applyDropout(timeMajorRows(x), masks, layerOutputSite(top), numSteps, batchSize);
      const logits = this.#head
        ? (this.#head.apply(rows) as tf.Tensor2D)
        : (tf.add(tf.matMul(rows, this.#embeddings!, false, true), this.#headBias!) as tf.Tensor2D);
      return { logits, state: nextState };
    });
  }

  lossAndGradients(batch: LabelledBatch, state: State, mode: ForwardMode): LossAndGradients | null {
    this.#assertLive();
    if (dropoutMasksFor(this.config, mode) !== null || !useFused(this.#recurrence)) return null;
    assertLabelledBatch(batch, this.config.vocabSize);
    this.#checkState(state, batch.batchSize, 'lossAndGradients');
    this.#stack ??= this.#stackWeights();
    return stackLossAndGradients(this.#stack, this.variables, batch, state);
  }

  /**
   * Layer 0's input [B, T, D]: the tokens' embeddings (D = E), or the notebooks' one-hot vectors
   * (D = V). The one place this path looks tokens up.
   */
  #embedTokens(ids: tf.Tensor2D): tf.Tensor3D {
    if (this.#embedding) return this.#embedding.apply(ids) as tf.Tensor3D;
    return tf.oneHot(ids, this.config.vocabSize, 1, 0, 'float32') as tf.Tensor3D;
  }

  /**
   * The same model through the fused kernels, with the stack of @rnnlm/cells' models: each layer's
   * tfjs-layers weights go to one op that gathers rows of the kernel (one-hot times the kernel) or
   * multiplies the layer below, adds the bias and runs the recurrence, in time-major order (LSTM gates
   * in tfjs-layers' order, i, f, c~, o); the dense head's weights in one product (what its apply
   * computes, without tfjs-layers' per-call bookkeeping, a few percent of a small model's step).
   */
  #stackWeights(): StackWeights {
    const layers = Array.from({ length: this.config.layers }, (_, layer) =>
      this.#units
        .filter((u) => u.layer === layer)
        .map((unit) => ({
          Wx: unit.kernel as tf.Variable<tf.Rank.R2>,
          W: unit.recurrentKernel as tf.Variable<tf.Rank.R2>,
          b: unit.bias as tf.Variable<tf.Rank.R1>,
        })),
    );
    // Tied: no W, the stack reads the embeddings transposed.
    const head = {
      ...(this.#headKernel ? { W: this.#headKernel as tf.Variable<tf.Rank.R2> } : {}),
      b: this.#headBias as tf.Variable<tf.Rank.R1>,
    };
    const embedding = this.#embeddings as tf.Variable<tf.Rank.R2> | undefined;
    return { cell: this.config.cell, ...(embedding ? { embedding } : {}), layers, head, gateOrder: 'ifco' };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#disposeLayers();
  }

  #disposeLayers(): void {
    if (this.#embedding?.built) this.#embedding.dispose();
    for (const { rnn } of this.#units) if (rnn.built) rnn.dispose();
    // A tied head's bias is a variable of its own, not a layer's.
    if (!this.#head) this.#headBias?.dispose();
    // The head is made last in the constructor; it is missing when construction failed before it.
    if (this.#head?.built) this.#head.dispose();
  }

  #assertLive(): void {
    if (this.#disposed) throw new Error('This layers model has been disposed; create a new one');
  }

  #checkInputs(ids: tf.Tensor2D, state: State): [number, number] {
    if (!(ids instanceof tf.Tensor)) {
      throw new Error(`forward: ids must be a [batch, steps] int32 tensor, got ${describe(ids)}`);
    }
    assertIdsTensor(ids);
    const [batchSize, numSteps] = ids.shape;
    this.#checkState(state, batchSize);
    // One-hot turns an id outside [0, V) into a row of zeros on every backend: silently wrong, so
    // refuse it here. Ids made from host data (the usual case) are still on the host when read here,
    // so this costs no device read-back.
    assertIdsInRange(ids.dataSync(), this.config.vocabSize);
    return [batchSize, numSteps];
  }

  /** `fn`: the method whose argument it is, for the messages. */
  #checkState(state: State, batchSize: number, fn = 'forward'): void {
    const expected = this.#units.length * this.#statesPerUnit;
    if (!Array.isArray(state) || state.length !== expected) {
      throw new Error(
        `${fn}: state must hold ${expected} tensors (${this.#stateLayout()}), got ` +
          `${Array.isArray(state) ? state.length : typeof state}; start from beginState(batchSize)`,
      );
    }
    for (const [i, s] of state.entries()) {
      if (s instanceof tf.Tensor && s.isDisposed) {
        throw new Error(
          `${fn}: state[${i}] has been disposed; keep the state returned by forward (tf.keep) or begin a new one`,
        );
      }
      if (
        !(s instanceof tf.Tensor) ||
        s.rank !== 2 ||
        s.shape[0] !== batchSize ||
        s.shape[1] !== this.config.hidden
      ) {
        throw new Error(
          `${fn}: state[${i}] must be [${batchSize}, ${this.config.hidden}] (batch of ids, hidden), ` +
            `got ${describe(s)}; start from beginState(${batchSize})`,
        );
      }
    }
  }

  #stateLayout(): string {
    const perUnit = this.#statesPerUnit === 2 ? 'h and c' : 'h';
    return `${perUnit} for each of ${this.config.layers} layer(s) x ${this.#directions.length} direction(s)`;
  }
}

/**
 * GRU arguments with `resetAfter: false` said out loud: the reset gate multiplies h before the
 * recurrent matmul, as in the notebooks (and d2l's scratch GRU). tfjs-layers implements only this
 * form (its GRUCell throws on `resetAfter: true`) and its GRU layer's argument type omits the field,
 * though the layer passes it on to the cell.
 */
function gruArgs(args: tfl.GRULayerArgs): tfl.GRULayerArgs {
  const withForm: tfl.GRULayerArgs & Pick<tfl.GRUCellLayerArgs, 'resetAfter'> = {
    ...args,
    resetAfter: false,
  };
  return withForm;
}

/**
 * Builds a layer (creates its weights) by one eager call on zeros. Building through a call rather
 * than `build()` is what arms tfjs-layers' `dispose()` (it sets the layer's reference count).
 */
function buildEagerly(layer: tfl.layers.Layer, inputShape: number[]): void {
  tf.tidy(() => {
    layer.apply(tf.zeros(inputShape));
  });
}

/** Appends a built layer's weights as tf.Variables, named `${scope}/${suffix}`, checking tfjs-layers' order. */
function collectWeights(
  layer: tfl.layers.Layer,
  suffixes: readonly string[],
  scope: string,
  variables: tf.Variable[],
  names: string[],
): void {
  const weights = layer.trainableWeights;
  if (weights.length !== suffixes.length) {
    throw new Error(
      `tfjs-layers gave ${layer.name} ${weights.length} weights, expected ${suffixes.join(', ')}`,
    );
  }
  weights.forEach((weight, i) => {
    const suffix = suffixes[i] as string;
    // Positional order is what we rely on; the name check catches a tfjs-layers change early.
    if (!weight.originalName.endsWith(`/${suffix}`)) {
      throw new Error(`tfjs-layers weight ${weight.originalName} is not the expected ${suffix}`);
    }
    const value = weight.read();
    if (!(value instanceof tf.Variable)) {
      throw new Error(`tfjs-layers weight ${weight.name} is not a tf.Variable`);
    }
    variables.push(value);
    names.push(`${scope}/${suffix}`);
  });
}

/** A distinct, repeatable seed per initialiser (splitmix32 step), so weights differ but repeat. */
function deriveSeed(seed: number, index: number): number {
  let z = (Math.trunc(seed) + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function describe(value: unknown): string {
  if (value instanceof tf.Tensor) return `a ${value.dtype} tensor of shape [${value.shape}]`;
  return value === null ? 'null' : typeof value;
}
