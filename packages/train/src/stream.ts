/**
 * Generation for apps: an async iterator of tokens that yields to the event loop between tokens (a page
 * stays responsive), stops on an `AbortSignal`, at a maximum length, or at a stop string.
 */
import type { LanguageModel } from '@rnnlm/cells';
import { yieldToEventLoop } from './event-loop.js';
import {
  type GenerateOptions,
  generateTokensAsync,
  generationPath,
  readPrefix,
  type TokenVocab,
} from './generate.js';
import { prepareGeneration } from './step-path.js';

/** Options of `generateStream`: sampling as `generate`, plus when to stop. */
export interface GenerateStreamOptions extends GenerateOptions {
  /** The most tokens to generate (the prefix not counted). */
  maxTokens: number;
  /** Stops between two tokens once aborted; the tokens yielded so far stand. */
  signal?: AbortSignal;
  /**
   * Generation ends as soon as the generated text (the tokens joined, each word after a space under
   * `word`) ends with one of these. The stop string is not yielded, nor is any token that holds part of
   * it: tokens that could begin a stop string are held back until it is clear they do not.
   */
  stop?: readonly string[];
}

/** Why a stream ended, with the prefix's tokens and those missing from the vocabulary. */
export interface GenerateStreamResult {
  reason: 'length' | 'stop' | 'aborted';
  /** The stop string that ended generation, when `reason` is `stop`. */
  stop?: string;
  prefixTokens: string[];
  /** Prefix tokens missing from the vocabulary: they were read as `<unk>`. */
  unknownTokens: string[];
  /** Where the steps ran: the kernels' token step, or tfjs (with the reason in `pathReason`). */
  path: 'kernels' | 'tfjs';
  pathReason: string | null;
}

/**
 * Generates up to `maxTokens` tokens after `prefix`, as an async iterator. Without stop strings it
 * yields exactly the tokens of `generateTokens` for the same options and seed (on every backend: where
 * tensors are read only asynchronously, as on webgpu in Node, through `generateTokensAsync`). Bad options, a
 * bidirectional model or an empty prefix throw at the first `next()`. Breaking out of a `for await`
 * (or calling `return()`) frees the model's state.
 */
export async function* generateStream(
  model: LanguageModel,
  vocab: TokenVocab,
  prefix: string,
  options: GenerateStreamOptions,
): AsyncGenerator<string, GenerateStreamResult> {
  const { maxTokens, signal, stop = [] } = options;
  if (!Number.isInteger(maxTokens) || maxTokens < 0)
    throw new Error(`maxTokens must be a whole number, got ${maxTokens}`);
  if (stop.some((s) => typeof s !== 'string' || s === ''))
    throw new Error('stop strings must be non-empty strings');
  // A page's main thread compiles WebAssembly only asynchronously: before the (synchronous) steps.
  if (options.path !== 'tfjs') await prepareGeneration();
  const tokens = generateTokensAsync(model, vocab, prefix, maxTokens, options);
  const separator = options.token === 'char' ? '' : ' ';
  let text = ''; // the generated text so far
  const held: Array<{ token: string; end: number }> = []; // not yielded yet, with where each ends in text
  try {
    let next = await tokens.next(); // checks model, prefix and options before the first yield
    const { prefixTokens, unknownTokens } = readPrefix(vocab, prefix, options.token);
    const where = generationPath(model, options.path);
    for (; !next.done; next = await tokens.next()) {
      text += separator + next.value;
      held.push({ token: next.value, end: text.length });
      const matched = stop.find((s) => text.endsWith(s));
      // Tokens that end by `safe` are yielded: no stop string can still come to cover them.
      const safe = text.length - (matched ? matched.length : longestPartialStop(text, stop));
      while (held.length > 0 && held[0]!.end <= safe) yield held.shift()!.token;
      if (matched) return { reason: 'stop', stop: matched, prefixTokens, unknownTokens, ...where };
      await yieldToEventLoop();
      if (signal?.aborted) return { reason: 'aborted', prefixTokens, unknownTokens, ...where };
    }
    for (const { token } of held) yield token;
    return { reason: 'length', prefixTokens, unknownTokens, ...where };
  } finally {
    await tokens.return(undefined as never); // frees the model's state when stopped early
  }
}

/** The length of the longest end of `text` that is the start of a stop string (but not all of it). */
function longestPartialStop(text: string, stop: readonly string[]): number {
  let longest = 0;
  for (const s of stop) {
    for (let n = Math.min(s.length - 1, text.length); n > longest; n--) {
      if (text.endsWith(s.slice(0, n))) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}
