import type { LanguageModel, State } from '@rnnlm/cells';
import * as tf from '@tensorflow/tfjs-core';
import { makeSampler, type Sampler } from './sampling.js';
import { choosePath, type GenerationPath, openStepModel } from './step-path.js';

export { makeSampler, type Sampler, samplingDistribution } from './sampling.js';

/** What generation needs of a vocabulary (`Vocab` from @rnnlm/text has it). */
export interface TokenVocab {
  readonly size: number;
  readonly unk: number;
  /** The id of a token, or the unknown token's id. */
  indexOf(token: string): number;
  /** The token of each id. */
  toTokens(ids: ArrayLike<number>): string[];
}

/** Options of `generate` and `generateTokens`. */
export interface GenerateOptions {
  /** How the prefix splits into tokens and the output joins: chars with '', words with ' '. */
  token: 'char' | 'word';
  /**
   * Sampling temperature. Leave it out (or 0) for greedy decoding, the notebooks' default; 1 samples
   * from the model's distribution; lower is more conservative, higher more adventurous.
   */
  temperature?: number;
  /** Sample only among the k most likely tokens. */
  topK?: number;
  /** Sample only among the most likely tokens whose probabilities add up to p (nucleus sampling). */
  topP?: number;
  /** Seeds sampling so that the same call gives the same text. Default 0. */
  seed?: number;
  /**
   * How the model's steps run: `auto` (default) on the kernels' token step where the model allows it
   * (the weights copied once into WebAssembly, one call per token), else one tfjs forward per token;
   * `kernels` the token step or an error saying why not; `tfjs` the forward. The tokens are the same.
   */
  path?: GenerationPath;
}

/** What a generator returns at its end. */
export interface GenerateEnd {
  prefixTokens: string[];
  unknownTokens: string[];
  /** Where the steps ran, and why not on the kernels when they did not. */
  path: 'kernels' | 'tfjs';
  pathReason: string | null;
}

/** What `generate` returns. */
export interface GenerateResult {
  /** The prefix followed by the generated tokens. */
  text: string;
  /** The generated tokens alone. */
  generated: string[];
  /** Prefix tokens missing from the vocabulary: they were read as `<unk>`. */
  unknownTokens: string[];
  /** Where the steps ran: the kernels' token step, or tfjs (with the reason in `pathReason`). */
  path: 'kernels' | 'tfjs';
  pathReason: string | null;
}

/**
 * Generates `length` tokens after `prefix`, as d2l's `predict_ch8`: warm the state up on the prefix,
 * then feed each predicted token back in. Greedy unless a temperature is given.
 */
export function generate(
  model: LanguageModel,
  vocab: TokenVocab,
  prefix: string,
  length: number,
  options: GenerateOptions,
): GenerateResult {
  const generated: string[] = [];
  const stream = generateTokens(model, vocab, prefix, length, options);
  let next = stream.next();
  for (; !next.done; next = stream.next()) generated.push(next.value);
  const { prefixTokens, unknownTokens, path, pathReason } = next.value;
  const join = options.token === 'char' ? '' : ' ';
  return { text: [...prefixTokens, ...generated].join(join), generated, unknownTokens, path, pathReason };
}

/**
 * The streaming form of `generate`: yields each token as it is produced (a page can show text as it
 * appears) and returns the prefix tokens and the unknown ones at the end.
 */
export function* generateTokens(
  model: LanguageModel,
  vocab: TokenVocab,
  prefix: string,
  length: number,
  options: GenerateOptions,
): Generator<string, GenerateEnd> {
  const { sampler, prefixTokens, unknownTokens, ids } = startGeneration(
    model,
    vocab,
    prefix,
    length,
    options,
  );
  const step = openStepModel(model, 1, options.path);
  if (step) {
    try {
      // One array for the input, and tokens looked up once: nothing is made per token.
      const input = [0];
      for (const id of ids.slice(0, -1)) {
        input[0] = id;
        step.step(input);
      }
      input[0] = ids[ids.length - 1]!;
      const token = tokenLookup(vocab);
      for (let i = 0; i < length; i++) {
        input[0] = sampler(step.step(input));
        yield token(input[0]);
      }
    } finally {
      step.dispose();
    }
    return { prefixTokens, unknownTokens, path: 'kernels', pathReason: null };
  }
  const steps = new TfjsSteps(model, ids);
  let input = ids[ids.length - 1]!;
  try {
    for (let i = 0; i < length; i++) {
      const logits = steps.step(input);
      const values = logits.dataSync() as Float32Array;
      logits.dispose();
      input = sampler(values);
      yield vocab.toTokens([input])[0]!;
    }
  } finally {
    steps.dispose();
  }
  return { prefixTokens, unknownTokens, ...choosePath(model, options.path) };
}

/** A token by id, each looked up once (`toTokens` makes an array a call). */
export function tokenLookup(vocab: TokenVocab): (id: number) => string {
  const known: string[] = [];
  return (id) => (known[id] ??= vocab.toTokens([id])[0]!);
}

/**
 * Why the active backend cannot read a tensor synchronously, or null where it can. tfjs's webgpu
 * backend reads synchronously only through an OffscreenCanvas, which a page has and Node does not;
 * there every read must be `await tensor.data()`.
 */
export function synchronousReadsUnavailable(): string | null {
  if (tf.getBackend() !== 'webgpu' || 'OffscreenCanvas' in globalThis) return null;
  return "tfjs's webgpu backend reads tensors only asynchronously here (no OffscreenCanvas)";
}

/** Where the generators run `model`'s steps on the active backend, and why not on the kernels. */
export function generationPath(
  model: LanguageModel,
  path: GenerationPath = 'auto',
): { path: 'kernels' | 'tfjs'; pathReason: string | null } {
  const where = choosePath(model, path);
  const unreadable = synchronousReadsUnavailable();
  // The token step's copy of the weights reads them synchronously.
  if (where.path === 'tfjs' || unreadable === null) return where;
  if (path === 'kernels') throw new Error(`generation cannot run on the kernels: ${unreadable}`);
  return { path: 'tfjs', pathReason: unreadable };
}

/**
 * `generateTokens` for every backend: where the active one reads tensors only asynchronously (webgpu
 * in Node), the tfjs steps with each step's logits read by `await`; elsewhere `generateTokens` itself,
 * the same tokens for the same options.
 */
export async function* generateTokensAsync(
  model: LanguageModel,
  vocab: TokenVocab,
  prefix: string,
  length: number,
  options: GenerateOptions,
): AsyncGenerator<string, GenerateEnd> {
  const { sampler, prefixTokens, unknownTokens, ids } = startGeneration(
    model,
    vocab,
    prefix,
    length,
    options,
  );
  const where = generationPath(model, options.path);
  if (where.path === 'kernels' || synchronousReadsUnavailable() === null) {
    return yield* generateTokens(model, vocab, prefix, length, options);
  }
  const steps = new TfjsSteps(model, ids);
  const token = tokenLookup(vocab);
  let input = ids[ids.length - 1]!;
  try {
    for (let i = 0; i < length; i++) {
      const logits = steps.step(input);
      let values: Float32Array;
      try {
        values = (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
      input = sampler(values);
      yield token(input);
    }
  } finally {
    steps.dispose();
  }
  return { prefixTokens, unknownTokens, ...where };
}

/** `generate` on every backend, through `generateTokensAsync`. */
export async function generateAsync(
  model: LanguageModel,
  vocab: TokenVocab,
  prefix: string,
  length: number,
  options: GenerateOptions,
): Promise<GenerateResult> {
  const generated: string[] = [];
  const stream = generateTokensAsync(model, vocab, prefix, length, options);
  let next = await stream.next();
  for (; !next.done; next = await stream.next()) generated.push(next.value);
  const { prefixTokens, unknownTokens, path, pathReason } = next.value;
  const join = options.token === 'char' ? '' : ' ';
  return { text: [...prefixTokens, ...generated].join(join), generated, unknownTokens, path, pathReason };
}

/**
 * One tfjs forward a token with the state carried: warmed up on all prefix tokens but the last in one
 * call (the last is the first input). `step` returns the logits; the caller reads and disposes them.
 */
class TfjsSteps {
  readonly #model: LanguageModel;
  #state: State;

  constructor(model: LanguageModel, ids: readonly number[]) {
    this.#model = model;
    this.#state = model.beginState(1);
    if (ids.length > 1) {
      const warm = tf.tidy(
        () => model.forward(tf.tensor2d([ids.slice(0, -1)], [1, ids.length - 1], 'int32'), this.#state).state,
      );
      tf.dispose(this.#state);
      this.#state = warm;
    }
  }

  step(input: number): tf.Tensor {
    const { logits, next } = tf.tidy(() => {
      const out = this.#model.forward(tf.tensor2d([[input]], [1, 1], 'int32'), this.#state);
      return { logits: out.logits, next: out.state };
    });
    tf.dispose(this.#state);
    this.#state = next;
    return logits;
  }

  dispose(): void {
    tf.dispose(this.#state);
  }
}

/** The checks every generator makes before its first step, its sampler and the prefix's ids. */
export function startGeneration(
  model: LanguageModel,
  vocab: TokenVocab,
  prefix: string,
  length: number,
  options: GenerateOptions,
): { sampler: Sampler; prefixTokens: string[]; unknownTokens: string[]; ids: number[] } {
  if (model.config.bidirectional) {
    throw new Error(
      'a bidirectional model cannot generate text: it reads every sequence in both directions, so each ' +
        'prediction has seen the tokens that follow it. Train a unidirectional model to generate.',
    );
  }
  if (vocab.size !== model.config.vocabSize) {
    throw new Error(
      `the vocabulary has ${vocab.size} tokens but the model expects ${model.config.vocabSize}`,
    );
  }
  if (!Number.isInteger(length) || length < 0)
    throw new Error(`length must be a whole number, got ${length}`);
  const sampler = makeSampler(options);
  const { prefixTokens, unknownTokens, ids } = readPrefix(vocab, prefix, options.token);
  if (prefixTokens.length === 0)
    throw new Error('the prefix is empty: give at least one token to start from');
  return { sampler, prefixTokens, unknownTokens, ids };
}

/** The prefix's tokens, their ids, and the distinct ones missing from the vocabulary. */
export function readPrefix(
  vocab: TokenVocab,
  prefix: string,
  token: 'char' | 'word',
): { prefixTokens: string[]; unknownTokens: string[]; ids: number[] } {
  const prefixTokens = token === 'char' ? Array.from(prefix) : prefix.split(/\s+/).filter((t) => t !== '');
  const unknownTokens: string[] = [];
  const ids = prefixTokens.map((t) => {
    const id = vocab.indexOf(t);
    if (id === vocab.unk && !unknownTokens.includes(t)) unknownTokens.push(t);
    return id;
  });
  return { prefixTokens, unknownTokens, ids };
}
