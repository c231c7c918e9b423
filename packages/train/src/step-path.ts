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
import type * as tf from '@tensorflow/tfjs-core';

/** How generation runs its steps: `auto` on the kernels where it can, `kernels` or an error, `tfjs`. */
export type GenerationPath = 'auto' | 'kernels' | 'tfjs';
/** Every `GenerationPath`. */
export const GENERATION_PATHS: readonly GenerationPath[] = ['auto', 'kernels', 'tfjs'];

/** The config fields the token step knows; any other field may change the model's math. */
const KNOWN_CONFIG_FIELDS = new Set(['impl', 'cell', 'vocabSize', 'hidden', 'layers', 'bidirectional']);

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
  if (model.variables.length !== 3 * config.layers + 2) {
    return `the model has ${model.variables.length} weights, not the ${3 * config.layers + 2} of a plain stack`;
  }
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

/**
 * Both implementations keep, per layer, the input weight [in, G*H], the recurrent one [H, G*H] and the
 * bias [G*H], then the head [H, V] and [V] (scratch's W_x, W_h, b and head/W_hq, b_q; tfjs-layers'
 * kernel, recurrent_kernel, bias); tfjs-layers' LSTM keeps its gates as (i, f, c~, o).
 */
function copyWeights(model: LanguageModel): StepModelWeights {
  const { cell, hidden, vocabSize, layers, impl } = model.config;
  const G = gatesPerCell(cell) * hidden;
  const read = (i: number, shape: number[]): Float32Array => {
    const v = model.variables[i]!;
    if (v.shape.join() !== shape.join()) {
      throw new Error(
        `weight ${model.weightNames[i]} is [${v.shape.join(', ')}], expected [${shape.join(', ')}]`,
      );
    }
    // A copy: some backends hand out their own buffer, which the next update overwrites.
    return Float32Array.from(v.dataSync() as Float32Array);
  };
  const stack = Array.from({ length: layers }, (_, l) => ({
    Wx: l === 0 ? null : read(3 * l, [hidden, G]),
    W: read(3 * l + 1, [hidden, G]),
    b: read(3 * l + 2, [G]),
  }));
  return {
    cell,
    hidden,
    vocabSize,
    gateOrder: impl === 'layers' ? 'ifco' : 'ifoc',
    table: read(0, [vocabSize, G]),
    layers: stack,
    head: { W: read(3 * layers, [hidden, vocabSize]), b: read(3 * layers + 1, [vocabSize]) },
  };
}
