/**
 * Scoring text with a language model: how likely the model finds it, in total and token by token.
 */
import type { LanguageModel } from '@rnnlm/cells';
import { type CleanMode, cleanLines, tokenize } from '@rnnlm/text';
import * as tf from '@tensorflow/tfjs-core';
import { yieldToEventLoop } from './event-loop.js';
import type { TokenVocab } from './generate.js';

/** Options of `scoreText`: how to read the text, as the model's corpus was read. */
export interface ScoreOptions {
  /** How the text splits into tokens: as the model's corpus did. */
  token: 'char' | 'word';
  /**
   * Clean the text as the model's corpus was (`letters`, `unicode`: see `cleanLines` of @rnnlm/text),
   * lines run together as in a corpus. Leave it out to score the text exactly as given.
   */
  clean?: CleanMode;
  /** Steps run per model call (default 256); only memory and speed depend on it. */
  stepsPerCall?: number;
}

/** One predicted token: how surprised the model was to see it after the tokens before it. */
export interface TokenScore {
  token: string;
  /** Its id in the vocabulary (`<unk>`'s when it is not in it). */
  id: number;
  /** −log2 p(token | tokens before it), in bits. */
  surprisal: number;
}

/** What `scoreText` returns: the text's totals and each predicted token's surprisal. */
export interface TextScore {
  /** The first token: the context of the first prediction, not scored itself. */
  context: string;
  /** Every token after the first, in order. */
  tokens: TokenScore[];
  /** Σ log p(token | before) over `tokens`, in nats (natural log). */
  logLikelihood: number;
  /** Mean surprisal per scored token, in nats: the training loss. */
  crossEntropy: number;
  /** Mean surprisal per scored token, in bits. */
  bitsPerToken: number;
  /** exp(crossEntropy), as `evaluatePerplexity` reports it. */
  perplexity: number;
  /** How many tokens of the text (the context included) are not in the vocabulary: scored as `<unk>`. */
  unknownCount: number;
  /** Those tokens, each once, in order of appearance. */
  unknownTokens: string[];
}

/**
 * Scores `text`: runs the model over its tokens from a fresh state and takes the log-probability of
 * each token given those before it (the first token has none before it: it is only context). Needs at
 * least two tokens. Tensors are freed as it goes; it yields to the event loop between calls.
 */
export async function scoreText(
  model: LanguageModel,
  vocab: TokenVocab,
  text: string,
  options: ScoreOptions,
): Promise<TextScore> {
  if (model.config.bidirectional) {
    throw new Error(
      'a bidirectional model cannot score text token by token: each prediction has seen the tokens that follow it',
    );
  }
  if (vocab.size !== model.config.vocabSize) {
    throw new Error(
      `the vocabulary has ${vocab.size} tokens but the model expects ${model.config.vocabSize}`,
    );
  }
  const stepsPerCall = options.stepsPerCall ?? 256;
  if (!Number.isInteger(stepsPerCall) || stepsPerCall < 1)
    throw new Error(`stepsPerCall must be a positive integer, got ${stepsPerCall}`);
  const words =
    options.clean === undefined
      ? tokenize([text], options.token).flat()
      : tokenize(cleanLines(text, options.clean), options.token).flat();
  if (words.length < 2) {
    throw new Error(
      `the text has ${words.length} ${options.token} token(s)${options.clean ? ` after '${options.clean}' cleaning` : ''}: scoring needs at least 2 (the first is only context)`,
    );
  }
  const ids: number[] = [];
  const unknownTokens: string[] = [];
  let unknownCount = 0;
  for (const word of words) {
    const id = vocab.indexOf(word);
    ids.push(id);
    if (id === vocab.unk && word !== vocab.toTokens([vocab.unk])[0]) {
      unknownCount++;
      if (!unknownTokens.includes(word)) unknownTokens.push(word);
    }
  }
  const logProbs = new Float64Array(ids.length - 1);
  let state = model.beginState(1);
  try {
    for (let start = 0; start < ids.length - 1; start += stepsPerCall) {
      const steps = Math.min(stepsPerCall, ids.length - 1 - start);
      const { picked, next } = tf.tidy(() => {
        const out = model.forward(tf.tensor2d([ids.slice(start, start + steps)], [1, steps], 'int32'), state);
        const labels = tf.oneHot(tf.tensor1d(ids.slice(start + 1, start + 1 + steps), 'int32'), vocab.size);
        // Batch 1: row t of the time-major logits is step t.
        return { picked: tf.sum(tf.mul(tf.logSoftmax(out.logits), labels), 1), next: out.state };
      });
      tf.dispose(state);
      state = next;
      const values = await picked.data();
      picked.dispose();
      logProbs.set(values, start);
      await yieldToEventLoop();
    }
  } finally {
    tf.dispose(state);
  }
  let logLikelihood = 0;
  const tokens: TokenScore[] = [];
  for (let i = 0; i < logProbs.length; i++) {
    logLikelihood += logProbs[i]!;
    tokens.push({ token: words[i + 1]!, id: ids[i + 1]!, surprisal: -logProbs[i]! / Math.LN2 });
  }
  const crossEntropy = -logLikelihood / logProbs.length;
  return {
    context: words[0]!,
    tokens,
    logLikelihood,
    crossEntropy,
    bitsPerToken: crossEntropy / Math.LN2,
    perplexity: Math.exp(crossEntropy),
    unknownCount,
    unknownTokens,
  };
}
