/**
 * Several samples from one prefix at once: on the kernels' token step, one call per token advances
 * every sample (a matrix product of the batch's states instead of one vector product per sample),
 * shared out between the kernels' threads when they run on several (groups of 4 samples each).
 * Sample i samples as `generateTokens` does with seed + i, so the batch gives exactly the texts of
 * `count` single runs; where the token step cannot run, it is those single runs, side by side.
 */
import type { LanguageModel } from '@rnnlm/cells';
import {
  type GenerateEnd,
  type GenerateOptions,
  generateTokens,
  makeSampler,
  startGeneration,
  type TokenVocab,
  tokenLookup,
} from './generate.js';
import { choosePath, openStepModel } from './step-path.js';

/**
 * Generates `count` samples of `length` tokens after `prefix`, yielding at each step the new token of
 * every sample (index i is sample i, seeded with `options.seed` (default 0) + i).
 */
export function* generateBatchTokens(
  model: LanguageModel,
  vocab: TokenVocab,
  prefix: string,
  length: number,
  count: number,
  options: GenerateOptions,
): Generator<string[], GenerateEnd> {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`count must be a positive integer, got ${count}`);
  const seed = options.seed ?? 0;
  const seeded = (i: number): GenerateOptions => ({ ...options, seed: seed + i });
  const { prefixTokens, unknownTokens, ids } = startGeneration(model, vocab, prefix, length, options);
  const step = openStepModel(model, count, options.path);
  if (!step) {
    const runs = Array.from({ length: count }, (_, i) =>
      generateTokens(model, vocab, prefix, length, { ...seeded(i), path: 'tfjs' }),
    );
    try {
      for (let t = 0; t < length; t++) yield runs.map((run) => run.next().value as string);
    } finally {
      for (const run of runs) run.return(undefined as never);
    }
    return { prefixTokens, unknownTokens, ...choosePath(model, options.path) };
  }
  const V = model.config.vocabSize;
  const samplers = Array.from({ length: count }, (_, i) => makeSampler(seeded(i)));
  try {
    for (const id of ids.slice(0, -1)) step.step(new Array<number>(count).fill(id));
    const inputs = new Array<number>(count).fill(ids[ids.length - 1]!);
    const token = tokenLookup(vocab);
    for (let t = 0; t < length; t++) {
      const logits = step.step(inputs);
      for (let i = 0; i < count; i++) inputs[i] = samplers[i]!(logits.subarray(i * V, (i + 1) * V));
      yield inputs.map(token);
    }
  } finally {
    // A batch on the kernels' threads holds their memory until given back (see StepModel).
    step.dispose();
  }
  return { prefixTokens, unknownTokens, path: 'kernels', pathReason: null };
}

/** `generateBatchTokens` run to the end: each sample's tokens. */
export function generateSamples(
  model: LanguageModel,
  vocab: TokenVocab,
  prefix: string,
  length: number,
  count: number,
  options: GenerateOptions,
): { samples: string[][] } & GenerateEnd {
  const samples: string[][] = Array.from({ length: count }, () => []);
  const run = generateBatchTokens(model, vocab, prefix, length, count, options);
  let next = run.next();
  for (; !next.done; next = run.next())
    for (const [i, token] of next.value.entries()) samples[i]!.push(token);
  return { samples, ...next.value };
}
