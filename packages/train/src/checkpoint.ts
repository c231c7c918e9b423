/**
 * One checkpoint format for Node and the browser: tfjs `ModelArtifacts` whose `modelTopology` holds our
 * metadata (model config, vocabulary, corpus settings, training state) and whose weights hold the model's
 * weights by stable name, plus the optimizer's slots and the carried hidden state. On disk (Node) and in
 * a download (browser) it is tfjs's layout: `model.json` with a weights manifest, and a weights file. Any
 * `tf.io` handler (IndexedDB, downloads, file upload) saves and loads it.
 */
import { type LanguageModel, type ModelConfig, validateModelConfig } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import { formatGiB, MAX_PARAMETERS, parameterCount } from './model-size.js';
import type { Trainer, TrainerState } from './trainer.js';

/** The `format` of an rnnlm checkpoint's `model.json`. */
export const CHECKPOINT_FORMAT = 'rnnlm-checkpoint';
/** The checkpoint format version this rnnlm writes and the newest it reads. */
export const CHECKPOINT_VERSION = 1;

/** How the corpus was read, so that a loaded model reads text the same way. */
export interface CorpusSettings {
  /** `timemachine`, `moby-dick`, a file path, or a label for text given directly. */
  source?: string;
  token: 'char' | 'word';
  clean: 'letters' | 'unicode';
  maxTokens?: number | null;
  minFreq?: number;
}

/** What a checkpoint says besides its weights (kept in `modelTopology`). */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  model: ModelConfig;
  /** The vocabulary's own JSON (`Vocab.toJSON()` of @rnnlm/text). */
  vocab: unknown;
  vocabSize: number;
  corpus: CorpusSettings;
  /** Present when the checkpoint can resume training. */
  training: TrainerState | null;
  /** Anything else the application keeps (CLI flags, seeds); plain JSON. */
  extra?: Record<string, unknown>;
  savedAt: string;
}

/** What `toArtifacts` saves: the model, its vocabulary and corpus settings, optionally its trainer. */
export interface CheckpointInput {
  model: LanguageModel;
  vocab: {
    /** The number of tokens: the model's vocabulary size. */
    size: number;
    /** The vocabulary as plain JSON (`Vocab` of @rnnlm/text has both). */
    toJSON(): unknown;
  };
  corpus: CorpusSettings;
  trainer?: Trainer;
  extra?: Record<string, unknown>;
}

const MODEL_PREFIX = 'model/';

/** Serialises a model (and, when given, its trainer) into tfjs ModelArtifacts. */
export async function toArtifacts(input: CheckpointInput): Promise<tf.io.ModelArtifacts> {
  const { model, vocab, corpus, trainer, extra } = input;
  if (vocab.size !== model.config.vocabSize) {
    throw new Error(
      `the vocabulary has ${vocab.size} tokens but the model expects ${model.config.vocabSize}`,
    );
  }
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: { ...model.config },
    vocab: vocab.toJSON(),
    vocabSize: vocab.size,
    corpus: { ...corpus },
    training: trainer ? trainer.getState() : null,
    ...(extra ? { extra } : {}),
    savedAt: new Date().toISOString(),
  };
  const named = [
    ...model.weightNames.map((name, i) => ({ name: MODEL_PREFIX + name, tensor: model.variables[i]! })),
    ...(trainer ? trainer.tensors() : []),
  ];
  const { data, specs } = await tf.io.encodeWeights(named);
  return {
    format: CHECKPOINT_FORMAT,
    generatedBy: 'rnnlm',
    convertedBy: null,
    modelTopology: meta as unknown as object,
    weightSpecs: specs,
    weightData: data,
  };
}

/**
 * A checkpoint rebuilt by `restoreCheckpoint`: the model with its weights, and what a trainer needs to
 * resume.
 */
export interface RestoredCheckpoint {
  model: LanguageModel;
  meta: CheckpointMeta;
  /** Optimizer slots and carried state by name, for `Trainer.restore`; free them with `dispose()`. */
  trainingTensors: Map<string, tf.Tensor>;
  /** Frees `trainingTensors` (not the model: dispose it yourself). */
  dispose(): void;
}

/**
 * Checks artifacts from any source and rebuilds the model with its weights, the model made by `build`
 * (`createModel` for either implementation: see `restoreCheckpoint`; an app that loads only scratch
 * models passes the scratch factory and bundles no tfjs-layers). Every problem — a foreign file, a
 * newer format, a config or vocabulary that does not fit, missing or mis-shaped weights, a truncated
 * weights file — is an error that says which.
 */
export function restoreCheckpointWith(
  artifacts: tf.io.ModelArtifacts,
  build: (config: ModelConfig) => LanguageModel,
): RestoredCheckpoint {
  const meta = checkArtifacts(artifacts);
  const specs = artifacts.weightSpecs!;
  const decoded = tf.io.decodeWeights(artifacts.weightData!, specs);
  const model = build(meta.model);
  const weights: Record<string, tf.Tensor> = {};
  const trainingTensors = new Map<string, tf.Tensor>();
  for (const [name, tensor] of Object.entries(decoded)) {
    if (name.startsWith(MODEL_PREFIX)) weights[name.slice(MODEL_PREFIX.length)] = tensor;
    else trainingTensors.set(name, tensor);
  }
  try {
    assignByName(model, weights);
  } catch (error) {
    model.dispose();
    tf.dispose(Object.values(decoded));
    throw new Error(`the checkpoint's weights do not fit its model config: ${(error as Error).message}`);
  }
  tf.dispose(Object.values(weights));
  return {
    model,
    meta,
    trainingTensors,
    dispose: () => tf.dispose([...trainingTensors.values()]),
  };
}

/**
 * Every check `restoreCheckpointWith` makes before it builds anything (the metadata, the weights' bytes
 * against the manifest and the config, finite values), and the metadata: an app can refuse a damaged
 * checkpoint before it starts a backend. Creates no tensors.
 */
export function checkArtifacts(artifacts: tf.io.ModelArtifacts): CheckpointMeta {
  const meta = readMeta(artifacts);
  const specs = artifacts.weightSpecs;
  if (!specs || artifacts.weightData === undefined) {
    throw new Error('the checkpoint has no weights: its weights file is missing');
  }
  const buffers = Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData];
  const bytes = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const expected = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * bytesPer(s.dtype), 0);
  if (bytes !== expected) {
    throw new Error(
      `the checkpoint's weights file holds ${bytes} bytes but its model.json describes ${expected}: the file is truncated or belongs to another checkpoint`,
    );
  }
  checkModelWeights(meta.model, specs, buffers);
  return meta;
}

/**
 * Assigns every weight of the model from `weights` by stable name, all checked (names, shapes, dtypes)
 * before any is assigned, so that a failed load leaves the model as it was. (@rnnlm/layers'
 * loadWeights does the same; importing it would bring tfjs-layers into every app that loads a model.)
 */
function assignByName(model: LanguageModel, weights: Record<string, tf.Tensor>): void {
  const expected = new Set(model.weightNames);
  const unknown = Object.keys(weights).filter((name) => !expected.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `the model has no weights named ${unknown.join(', ')}; it expects ${model.weightNames.join(', ')}`,
    );
  }
  model.weightNames.forEach((name, i) => {
    const value = weights[name];
    const variable = model.variables[i]!;
    if (value === undefined) throw new Error(`weight ${name} is missing`);
    if (!tf.util.arraysEqual(value.shape, variable.shape)) {
      throw new Error(`weight ${name} has shape [${value.shape}], the model needs [${variable.shape}]`);
    }
    if (value.dtype !== variable.dtype)
      throw new Error(`weight ${name} is ${value.dtype}, the model needs ${variable.dtype}`);
  });
  for (const [i, name] of model.weightNames.entries()) model.variables[i]!.assign(weights[name]!);
}

/** Reads and checks the metadata of artifacts without touching the weights. */
export function readMeta(artifacts: tf.io.ModelArtifacts): CheckpointMeta {
  const meta = artifacts.modelTopology as Partial<CheckpointMeta> | undefined;
  if (!meta || typeof meta !== 'object' || meta.format !== CHECKPOINT_FORMAT) {
    throw new Error('this is not an rnnlm checkpoint (its model.json has no rnnlm-checkpoint metadata)');
  }
  if (typeof meta.version !== 'number' || meta.version > CHECKPOINT_VERSION || meta.version < 1) {
    throw new Error(
      `the checkpoint has format version ${meta.version}; this rnnlm reads version ${CHECKPOINT_VERSION}: upgrade rnnlm to load it`,
    );
  }
  let model: ModelConfig;
  try {
    model = validateModelConfig(meta.model);
  } catch (error) {
    throw new Error(`the checkpoint's model config is invalid: ${(error as Error).message}`);
  }
  if (meta.vocabSize !== model.vocabSize || meta.vocab === undefined) {
    throw new Error(
      `the checkpoint's vocabulary (${meta.vocabSize} tokens) does not match its model (${model.vocabSize})`,
    );
  }
  if (!meta.corpus || (meta.corpus.token !== 'char' && meta.corpus.token !== 'word')) {
    throw new Error('the checkpoint does not say how its corpus was tokenized (corpus.token)');
  }
  return { ...(meta as CheckpointMeta), model };
}

/** `model.json` as written to disk or downloaded: tfjs's layout, our metadata in `modelTopology`. */
export interface CheckpointModelJson {
  format: typeof CHECKPOINT_FORMAT;
  generatedBy: string;
  convertedBy: null;
  modelTopology: unknown;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** The `model.json` of artifacts whose weights are stored in one file named `weightsFile`. */
export function toModelJson(artifacts: tf.io.ModelArtifacts, weightsFile: string): CheckpointModelJson {
  return {
    format: CHECKPOINT_FORMAT,
    generatedBy: artifacts.generatedBy ?? 'rnnlm',
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
  };
}

/** The weights files a `model.json` names (a leading `./` dropped), checked to stay beside it. */
export function weightsFilesOf(modelJson: unknown, where = 'model.json'): string[] {
  const json = modelJson as Partial<CheckpointModelJson> | null;
  if (
    !json ||
    typeof json !== 'object' ||
    json.format !== CHECKPOINT_FORMAT ||
    !Array.isArray(json.weightsManifest)
  ) {
    throw new Error(`${where} is not an rnnlm checkpoint`);
  }
  return json.weightsManifest.flatMap((group) =>
    group.paths.map((path) => {
      const name = path.replace(/^\.\//, '');
      if (name.includes('/') || name.includes('\\') || name === '..') {
        throw new Error(`${where} names a weights file outside its directory: ${path}`);
      }
      return name;
    }),
  );
}

/** Artifacts from a parsed `model.json` and the contents of the files it names, in its order. */
export function fromModelJson(
  modelJson: unknown,
  weightFiles: ArrayBuffer[],
  where = 'model.json',
): tf.io.ModelArtifacts {
  weightsFilesOf(modelJson, where);
  const json = modelJson as CheckpointModelJson;
  const total = new Uint8Array(weightFiles.reduce((sum, b) => sum + b.byteLength, 0));
  let offset = 0;
  for (const buffer of weightFiles) {
    total.set(new Uint8Array(buffer), offset);
    offset += buffer.byteLength;
  }
  const artifacts: tf.io.ModelArtifacts = {
    format: json.format,
    generatedBy: json.generatedBy ?? 'rnnlm',
    convertedBy: null,
    modelTopology: json.modelTopology as object,
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
    weightData: total.buffer,
  };
  readMeta(artifacts);
  return artifacts;
}

/**
 * Checks, before any model is built, that the config describes the weights that are there (an edited
 * `hidden` or `layers` would otherwise allocate a model of any size) and that every float is finite (NaN
 * weights generate `<unk>` for ever and evaluate to a perplexity of NaN).
 */
function checkModelWeights(
  config: ModelConfig,
  specs: tf.io.WeightsManifestEntry[],
  buffers: ArrayBuffer[],
): void {
  const elements = (s: tf.io.WeightsManifestEntry) => s.shape.reduce((a, b) => a * b, 1);
  const held = specs.filter((s) => s.name.startsWith(MODEL_PREFIX)).reduce((sum, s) => sum + elements(s), 0);
  const expected = parameterCount(config);
  const described =
    `${config.cell}, vocabulary ${config.vocabSize}, ${config.layers} layer(s) of hidden ${config.hidden}` +
    `${config.bidirectional ? ', bidirectional' : ''}${config.embedding === undefined ? '' : `, embedding ${config.embedding}`}` +
    `${config.tieWeights ? ', tied weights' : ''}`;
  if (held !== expected) {
    throw new Error(
      `the model config (${described}) has ${expected} parameters but the weights hold ${held}: model.json was edited or belongs to other weights`,
    );
  }
  if (expected > MAX_PARAMETERS) {
    throw new Error(
      `the model config (${described}) has ${expected} parameters (${formatGiB(expected * 4)} GiB), more than the ${MAX_PARAMETERS} rnnlm builds`,
    );
  }
  const bytes = new Uint8Array(buffers.reduce((sum, b) => sum + b.byteLength, 0));
  let at = 0;
  for (const b of buffers) {
    bytes.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const spec of specs) {
    const count = elements(spec);
    if (spec.dtype === 'float32') {
      for (let i = 0; i < count; i++) {
        if (!Number.isFinite(view.getFloat32(offset + 4 * i, true))) {
          throw new Error(
            `the checkpoint's weight ${spec.name} holds NaN or infinite values: the weights file is corrupt, or was saved from a run that diverged`,
          );
        }
      }
    }
    offset += count * bytesPer(spec.dtype);
  }
}

function bytesPer(dtype: string): number {
  if (dtype === 'float32' || dtype === 'int32') return 4;
  if (dtype === 'bool') return 1;
  throw new Error(`the checkpoint holds a weight of unsupported dtype ${dtype}`);
}
