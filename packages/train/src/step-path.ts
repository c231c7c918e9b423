/**
 * Generation on the kernels' token step (`StepModel` of @rnnlm/kernels): the model's weights copied
 * once into WebAssembly memory, then one call per token for the whole stack and its head, instead of
 * a tfjs forward per token. What it cannot run (a bidirectional model, a config field it does not know)
 * stays on the tfjs path, with the reason.
 *
 * The copy belongs to one version of the weights: it is remembered per model together with the
 * tensors (data ids) its variables held, and made again when training has assigned any of them.
 */
import type { LanguageModel } from '@rnnlm/cells';
import {
  gatesPerCell,
  prepareStepModels,
  StepModel,
  type StepModelWeights,
  stepModelsUnavailable,
} from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';

/** How generation runs its steps: `auto` on the kernels where it can, `kernels` or an error, `tfjs`. */
export type GenerationPath = 'auto' | 'kernels' | 'tfjs';
/** Every `GenerationPath`. */
export const GENERATION_PATHS: readonly GenerationPath[] = ['auto', 'kernels', 'tfjs'];

/**
 * The config fields the token step knows; any other field may change the model's math. Dropout is
 * among them because it acts only in training: generation is evaluation, where a model with dropout
 * computes exactly what one without does; `init` says only how the weights were first drawn.
 */
const KNOWN_CONFIG_FIELDS = new Set([
  'impl',
  'cell',
  'vocabSize',
  'hidden',
  'layers',
  'bidirectional',
  'embedding',
  'tieWeights',
  'dropout',
  'dropoutMode',
  'init',
]);

/** Per model, the weights as last copied and the tensors they were copied from. */
const copies = new WeakMap<LanguageModel, { sources: readonly object[]; weights: StepModelWeights }>();

/**
 * Why `model` cannot generate on the kernels' token step, or null when it can. Generation then uses
 * the tfjs path (one forward per token), which gives the same tokens, only slower.
 */
export function kernelPathUnavailable(model: LanguageModel): string | null {
  const { config } = model;
  const unknown = Object.entries(config).find(
    ([key, value]) =>
      !KNOWN_CONFIG_FIELDS.has(key) && value !== undefined && value !== false && value !== null,
  );
  if (unknown) return `the token step does not know the model config field '${unknown[0]}'`;
  if (config.bidirectional) return 'the model is bidirectional';
  const missing = weightIndices(model).find(([, i]) => i < 0);
  if (missing) return `the model has no weight named like ${missing[0]}`;
  return stepModelsUnavailable();
}

/** Compiles the kernels where that must be asynchronous (a page's main thread); call before generating. */
export async function prepareGeneration(): Promise<void> {
  if (typeof WebAssembly === 'object') await prepareStepModels().catch(() => undefined);
}

/**
 * Where generation with `path` runs `model`'s steps, and why not on the kernels when it does not;
 * `path` 'kernels' turns the reason into an error.
 */
export function choosePath(
  model: LanguageModel,
  path: GenerationPath = 'auto',
): { path: 'kernels' | 'tfjs'; pathReason: string | null } {
  if (!GENERATION_PATHS.includes(path)) {
    throw new Error(`path must be one of ${GENERATION_PATHS.join(', ')}, got ${JSON.stringify(path)}`);
  }
  if (path === 'tfjs') return { path: 'tfjs', pathReason: "the tfjs path was asked for (path: 'tfjs')" };
  const reason = kernelPathUnavailable(model);
  if (reason === null) return { path: 'kernels', pathReason: null };
  if (path === 'kernels') throw new Error(`generation cannot run on the kernels: ${reason}`);
  return { path: 'tfjs', pathReason: reason };
}

/** A token step for `batch` sequences of `model` with zero state, or null where `choosePath` says tfjs. */
export function openStepModel(
  model: LanguageModel,
  batch: number,
  path: GenerationPath = 'auto',
): StepModel | null {
  return choosePath(model, path).path === 'kernels' ? StepModel.create(weightsOf(model), batch) : null;
}

/** The model's weights as the token step takes them, copied again when any variable has changed. */
function weightsOf(model: LanguageModel): StepModelWeights {
  const sources = model.variables.map((v) => (v as tf.Tensor).dataId);
  const cached = copies.get(model);
  if (cached?.sources.every((s, i) => s === sources[i])) return cached.weights;
  const weights = copyWeights(model);
  copies.set(model, { sources, weights });
  return weights;
}

/** Each weight's names in the two implementations (scratch's, then tfjs-layers'). */
const NAMES = {
  embedding: ['embedding/W_e', 'embedding/embeddings'],
  Wx: ['W_x', 'W_xh', 'kernel'],
  W: ['W_h', 'W_hh', 'recurrent_kernel'],
  b: ['b', 'b_h', 'bias'],
  headW: ['head/W_hq', 'head/kernel'],
  headB: ['head/b_q', 'head/bias'],
};

/**
 * Where each weight the step needs is among the model's variables (-1: missing), by the stable names
 * both implementations share in form: per layer the input weight [in, G*H], the recurrent one
 * [H, G*H] and the bias [G*H]; the head [H, V] (not when tied to the embedding) and [V]; the embedding
 * [V, E] when there is one.
 */
function weightIndices(model: LanguageModel): Array<[string, number]> {
  const { layers, embedding, tieWeights } = model.config;
  const find = (names: string[]): [string, number] => [
    names[0]!,
    model.weightNames.findIndex((n) => names.includes(n)),
  ];
  const inLayer = (l: number, names: string[]) => names.map((n) => `layer${l}/forward/${n}`);
  return [
    ...(embedding === undefined ? [] : [find(NAMES.embedding)]),
    ...Array.from({ length: layers }, (_, l) => [
      find(inLayer(l, NAMES.Wx)),
      find(inLayer(l, NAMES.W)),
      find(inLayer(l, NAMES.b)),
    ]).flat(),
    ...(tieWeights ? [] : [find(NAMES.headW)]),
    find(NAMES.headB),
  ];
}

/**
 * The step's weights: layer 0's table is its input weight itself (one-hot input), or the embedding
 * times it, E W_x [V, G*H] (the row of a token is its embedding's projection); a tied head is the
 * embedding transposed. tfjs-layers' LSTM keeps its gates as (i, f, c~, o).
 */
function copyWeights(model: LanguageModel): StepModelWeights {
  const { cell, hidden, vocabSize, layers, impl, embedding, tieWeights } = model.config;
  const G = gatesPerCell(cell) * hidden;
  const at = new Map(weightIndices(model));
  const variable = (name: string, l?: number) =>
    model.variables[at.get(l === undefined ? name : `layer${l}/forward/${name}`)!]!;
  // Copies: some backends hand out their own buffer, which the next update overwrites.
  const read = (t: tf.Tensor): Float32Array => Float32Array.from(t.dataSync() as Float32Array);
  const stack = Array.from({ length: layers }, (_, l) => ({
    Wx: l === 0 ? null : read(variable('W_x', l)),
    W: read(variable('W_h', l)),
    b: read(variable('b', l)),
  }));
  const E = embedding === undefined ? null : variable('embedding/W_e');
  const table = E ? tf.tidy(() => read(tf.matMul(E, variable('W_x', 0)))) : read(variable('W_x', 0));
  const headW = tieWeights ? tf.tidy(() => read(tf.transpose(E!))) : read(variable('head/W_hq'));
  const weights: StepModelWeights = {
    cell,
    hidden,
    vocabSize,
    gateOrder: impl === 'layers' ? 'ifco' : 'ifoc',
    table,
    layers: stack,
    head: { W: headW, b: read(variable('head/b_q')) },
  };
  if (table.length !== vocabSize * G)
    throw new Error(`the input table of layer 0 must be [${vocabSize}, ${G}]`);
  return weights;
}
