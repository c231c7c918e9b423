/**
 * Export to a standard TensorFlow.js LayersModel, which `tf.loadLayersModel` opens without rnnlm and
 * `tensorflowjs_converter` turns into a Keras model. Browser-safe: the result is tfjs `ModelArtifacts`,
 * which any `tf.io` handler saves (`saveTfjsLayersExport` in `@rnnlm/train/node` writes them to a
 * directory; the web demo downloads them).
 *
 * The exported model, for a model of either implementation (scratch weights are mapped onto tfjs-layers'
 * names and gate order, as `@rnnlm/layers` does):
 *
 *     ids [batch, steps] int32
 *       -> Embedding                     (see below)
 *       -> simpleRNN | gru | lstm        x layers, returnSequences; Bidirectional(concat) when bidirectional
 *       -> Dense(vocabSize, softmax)     the next-token distribution at every step, [batch, steps, V]
 *
 * Outputs are probabilities, not logits: what a consumer of `predict` wants. Sampling at a temperature
 * works on their logarithm (log p / t differs from logits / t by a constant per row, which softmax drops).
 *
 * The input. rnnlm feeds one-hot vectors, so layer 0 computes onehot(id) @ W_xh, which is row `id` of
 * W_xh. A standard model takes ids through an Embedding layer, and its recurrent layer multiplies what the
 * embedding gives by its own input kernel, so the table E and the kernel K must multiply to W_xh. Two exact
 * factorings, chosen by size:
 * - `one-hot` (vocabulary no wider than layer 0's gates, V <= D*G*H: char-level models, as a rule): E is the
 *   V x V identity, so the embedding yields the one-hot vector and K is W_xh itself, weight for weight.
 * - `folded` (larger vocabularies, where a V x V identity would dwarf the model): E is W_xh (both
 *   directions' side by side when bidirectional) and K is the identity (or, bidirectional, the 0/1 matrix
 *   that picks the direction's columns), so the embedding yields the gate pre-activations.
 * Either way the products are exact (each sum adds one nonzero term), so the exported model computes the
 * same numbers as the rnnlm model.
 * - `embedding` (a model with its own embedding, `config.embedding`): the Embedding layer is that table and
 *   K is layer 0's kernel, as they are.
 *
 * Tied weights (`config.tieWeights`): the head's kernel is a copy of the embedding transposed. A
 * LayersModel cannot share one weight between an Embedding and a Dense layer, so the export stores the
 * matrix twice; it computes the same numbers, and a model trained further from it is no longer tied.
 *
 * The state starts at zero for every call, as `beginState` does. The optional step form (`stateful: true`,
 * batch 1) keeps its state between calls for generation: feed the prompt, then one id at a time, and call
 * `resetStates()` to start over. Bidirectional models read the future, so they have no step form.
 */
import { gatesPerCell, type LanguageModel, type ModelConfig } from '@rnnlm/cells';
import { type NamedWeights, namedWeights, scratchToLayersWeights } from '@rnnlm/layers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** The `format` of the vocabulary file written beside an exported model. */
export const EXPORT_VOCABULARY_FORMAT = 'rnnlm-vocabulary';

/** How the exported model's Embedding layer and first recurrent kernel factor W_xh (see the module comment). */
export type ExportInputMapping = 'one-hot' | 'folded' | 'embedding';

/** What the exported model's `userDefinedMetadata.rnnlm` says about it. */
export interface ExportedModelInfo {
  /** The architecture of the model it was exported from. */
  source: ModelConfig;
  /** How ids become layer 0's input (see the module comment). */
  input: ExportInputMapping;
  /** The model's output: the next-token probabilities at every step, `[batch, steps, vocabSize]`. */
  output: 'softmax';
  /** Whether the layers keep their state between calls (the batch-1 step form). */
  stateful: boolean;
}

/** The vocabulary file: everything needed to turn text into the model's ids and back, in plain JSON. */
export interface ExportedVocabulary {
  /** Always `rnnlm-vocabulary`. */
  format: typeof EXPORT_VOCABULARY_FORMAT;
  /** The version of this layout. */
  version: 1;
  /** How text was split into tokens: characters (code points) or whitespace-separated words. */
  token: 'char' | 'word';
  /** How the text was cleaned before tokenizing (rnnlm's `cleanLines` modes). */
  clean: 'letters' | 'unicode';
  /** What joins tokens back into text: `''` for characters, `' '` for words. */
  join: string;
  /** The id of tokens not in the vocabulary (`<unk>`). */
  unknownId: number;
  /** The token of each id: `tokens[id]`. */
  tokens: string[];
}

/** What `exportTfjsLayers` exports: the model and what its vocabulary file says. */
export interface TfjsLayersExportInput {
  /** The model to export, of either implementation. */
  model: LanguageModel;
  /** Token of each id (a `Vocab` of @rnnlm/text gives them with `toJSON().tokens`). */
  tokens: readonly string[];
  /** How its corpus was tokenized (a checkpoint's `corpus.token`). */
  token: 'char' | 'word';
  /** How its corpus was cleaned (a checkpoint's `corpus.clean`). */
  clean: 'letters' | 'unicode';
}

/** An export, ready for any `tf.io` handler (or `saveTfjsLayersExport` in Node). */
export interface TfjsLayersExport {
  /** The LayersModel for any batch size (zero initial state each call). */
  model: tf.io.ModelArtifacts;
  /** The stateful batch-1 form for generation; absent for bidirectional models. */
  step: tf.io.ModelArtifacts | null;
  vocabulary: ExportedVocabulary;
}

/** Options of `toTfjsLayersModel`. */
export interface TfjsLayersModelOptions {
  /** Build the step form: batch size 1, layers `stateful: true`. Default false. */
  stateful?: boolean;
}

/**
 * Exports a model and its vocabulary: the standard LayersModel, its step form (unless bidirectional) and
 * the vocabulary file, as plain data. The rnnlm model is not changed.
 */
export async function exportTfjsLayers(input: TfjsLayersExportInput): Promise<TfjsLayersExport> {
  const { model, tokens, token, clean } = input;
  if (tokens.length !== model.config.vocabSize) {
    throw new Error(
      `the vocabulary has ${tokens.length} tokens but the model expects ${model.config.vocabSize}`,
    );
  }
  const vocabulary: ExportedVocabulary = {
    format: EXPORT_VOCABULARY_FORMAT,
    version: 1,
    token,
    clean,
    join: token === 'char' ? '' : ' ',
    unknownId: 0,
    tokens: [...tokens],
  };
  const artifacts = async (stateful: boolean) => {
    const layersModel = toTfjsLayersModel(model, { stateful });
    try {
      let saved: tf.io.ModelArtifacts | undefined;
      await layersModel.save(
        tf.io.withSaveHandler(async (a) => {
          saved = a;
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      return saved as tf.io.ModelArtifacts;
    } finally {
      // A stateful layer's state tensors are not weights: LayersModel.dispose leaves them.
      for (const layer of layersModel.layers) if (layer instanceof tfl.RNN) tf.dispose(layer.states);
      layersModel.dispose();
    }
  };
  return {
    model: await artifacts(false),
    step: model.config.bidirectional ? null : await artifacts(true),
    vocabulary,
  };
}

/**
 * The standard tfjs `model.json` of artifacts (from `exportTfjsLayers`) whose weights are stored in one
 * file, `weightsPath` relative to it: what `tf.loadLayersModel` reads over http or from disk.
 */
export function layersModelJson(artifacts: tf.io.ModelArtifacts, weightsPath: string): tf.io.ModelJSON {
  return {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? 'rnnlm',
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology as object,
    weightsManifest: [{ paths: [weightsPath], weights: artifacts.weightSpecs ?? [] }],
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
  };
}

/** Which factoring of W_xh an export of this architecture uses (see the module comment). */
export function exportInputMapping(config: ModelConfig): ExportInputMapping {
  if (config.embedding !== undefined) return 'embedding';
  const directions = config.bidirectional ? 2 : 1;
  return config.vocabSize <= directions * gatesPerCell(config.cell) * config.hidden ? 'one-hot' : 'folded';
}

/**
 * The model as a tfjs-layers LayersModel with a copy of its weights (see the module comment). The caller
 * disposes it; the rnnlm model is not changed.
 */
export function toTfjsLayersModel(
  model: LanguageModel,
  options: TfjsLayersModelOptions = {},
): tfl.LayersModel {
  const config = model.config;
  const stateful = options.stateful ?? false;
  if (stateful && config.bidirectional) {
    throw new Error(
      'a bidirectional model has no step form: its backward layers read the whole sequence first',
    );
  }
  const directions = config.bidirectional ? (['forward', 'backward'] as const) : (['forward'] as const);
  const G = gatesPerCell(config.cell);
  const H = config.hidden;
  const mapping = exportInputMapping(config);
  // The model's weights under tfjs-layers' names and gate order; for impl 'layers' they already are.
  const converted = config.impl === 'scratch';
  const weights: NamedWeights = converted
    ? scratchToLayersWeights(config, namedWeights(model))
    : namedWeights(model);
  const built: tf.Tensor[] = [];
  const layersModel = (() => {
    try {
      const ids = tfl.input(
        stateful
          ? { batchShape: [1, null], dtype: 'int32', name: 'ids' }
          : { shape: [null], dtype: 'int32', name: 'ids' },
      );
      const firstKernels = directions.map((d) => weights[`layer0/${d}/kernel`] as tf.Tensor2D);
      const table =
        mapping === 'embedding'
          ? (weights['embedding/embeddings'] as tf.Tensor2D)
          : mapping === 'one-hot'
            ? tf.eye(config.vocabSize)
            : firstKernels.length === 1
              ? (firstKernels[0] as tf.Tensor2D)
              : tf.concat(firstKernels, 1);
      if (table !== firstKernels[0] && mapping !== 'embedding') built.push(table);
      const embedding = tfl.layers.embedding({
        inputDim: config.vocabSize,
        outputDim: table.shape[1] as number,
        embeddingsInitializer: 'zeros',
        name: 'embedding',
      });
      let x = embedding.apply(ids) as tfl.SymbolicTensor;
      embedding.setWeights([table]);
      for (let layer = 0; layer < config.layers; layer++) {
        const values: tf.Tensor[] = [];
        directions.forEach((direction, d) => {
          const scope = `layer${layer}/${direction}`;
          let kernel = weights[`${scope}/kernel`] as tf.Tensor;
          if (layer === 0 && mapping === 'folded') {
            // Picks this direction's G*H columns out of the embedding's D*G*H.
            kernel = tf.tidy(() => {
              const eye = tf.eye(G * H);
              const parts = directions.map((_, other) => (other === d ? eye : tf.zerosLike(eye)));
              return tf.concat(parts, 0);
            });
            built.push(kernel);
          }
          values.push(kernel, weights[`${scope}/recurrent_kernel`]!, weights[`${scope}/bias`]!);
        });
        const rnn = recurrentLayer(
          config,
          stateful,
          config.bidirectional ? `layer${layer}_forward` : `layer${layer}`,
        );
        const wrapped = config.bidirectional
          ? tfl.layers.bidirectional({ layer: rnn, mergeMode: 'concat', name: `layer${layer}` })
          : rnn;
        x = wrapped.apply(x) as tfl.SymbolicTensor;
        wrapped.setWeights(values);
      }
      const head = tfl.layers.dense({
        units: config.vocabSize,
        activation: 'softmax',
        kernelInitializer: 'zeros',
        name: 'head',
      });
      const probabilities = head.apply(x) as tfl.SymbolicTensor;
      // Tied: the one matrix, transposed, as the head's own copy (see the module comment).
      const headKernel = config.tieWeights ? tf.transpose(table) : weights['head/kernel']!;
      if (config.tieWeights) built.push(headKernel);
      head.setWeights([headKernel, weights['head/bias']!]);
      const result = tfl.model({ inputs: ids, outputs: probabilities, name: 'rnnlm' });
      const info: ExportedModelInfo = { source: { ...config }, input: mapping, output: 'softmax', stateful };
      result.setUserDefinedMetadata({ rnnlm: info });
      return result;
    } finally {
      tf.dispose(built);
      if (converted) tf.dispose(Object.values(weights));
    }
  })();
  return layersModel;
}

/**
 * One recurrent layer as rnnlm computes it: tfjs-layers' defaults differ (hard sigmoid gates), and the
 * weights are set afterwards, so the initialisers are zeros (no slow orthogonal initialisation).
 */
function recurrentLayer(config: ModelConfig, stateful: boolean, name: string): tfl.RNN {
  const args = {
    units: config.hidden,
    returnSequences: true,
    stateful,
    kernelInitializer: 'zeros' as const,
    recurrentInitializer: 'zeros' as const,
    biasInitializer: 'zeros' as const,
    name,
  };
  if (config.cell === 'rnn') return tfl.layers.simpleRNN({ ...args, activation: 'tanh' });
  if (config.cell === 'gru') {
    // resetAfter: false is the notebooks' GRU (the only form tfjs-layers implements); said out loud.
    const gru: tfl.GRULayerArgs & { resetAfter: boolean } = {
      ...args,
      activation: 'tanh',
      recurrentActivation: 'sigmoid',
      resetAfter: false,
    };
    return tfl.layers.gru(gru);
  }
  return tfl.layers.lstm({
    ...args,
    activation: 'tanh',
    recurrentActivation: 'sigmoid',
    unitForgetBias: false,
  });
}
