import { type CleanMode, cleanLines } from './clean.js';
import { type TokenMode, tokenize } from './tokenize.js';
import { Vocab } from './vocab.js';

/** Options of `buildCorpus`: how to tokenize and clean, and which tokens to keep. */
export interface CorpusOptions {
  token: TokenMode;
  clean: CleanMode;
  /** Keep only the first `maxTokens` ids, as d2l's `corpus[:max_tokens]` (its benchmark uses 10,000). */
  maxTokens?: number | null;
  minFreq?: number;
  reservedTokens?: readonly string[];
}

/** A corpus ready for training: its token ids and the vocabulary that maps them. */
export interface Corpus {
  ids: Int32Array;
  vocab: Vocab;
  token: TokenMode;
  clean: CleanMode;
}

/**
 * Text to ids and vocabulary, as the PyTorch reference's `load_corpus`: clean into lines, tokenize,
 * build the vocabulary from all of the text, then flatten the lines' tokens into one sequence (no
 * separator between lines: under `letters` the Time Machine's lines run together) and cut it to
 * `maxTokens`.
 */
export function buildCorpus(text: string, options: CorpusOptions): Corpus {
  const { token, clean, maxTokens, minFreq, reservedTokens } = options;
  if (maxTokens !== undefined && maxTokens !== null && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
    throw new Error(`maxTokens must be a positive integer (or left out for all tokens), got ${maxTokens}`);
  }
  if (text.trim() === '') throw new Error('the corpus is empty: it has no text but whitespace');
  const tokens = tokenize(cleanLines(text, clean), token);
  const vocab = new Vocab(tokens, { minFreq: minFreq ?? 0, reservedTokens: reservedTokens ?? [] });
  const all = tokens.flat();
  if (all.length === 0) {
    throw new Error(
      `the corpus has no ${token} tokens after '${clean}' cleaning (letters cleaning keeps only A-Z); try --clean unicode`,
    );
  }
  const kept = maxTokens ? all.slice(0, maxTokens) : all;
  return { ids: Int32Array.from(vocab.lookup(kept)), vocab, token, clean };
}
