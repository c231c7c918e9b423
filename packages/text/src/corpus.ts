import { idArray } from './ids.js';
import { type Corpus, CorpusBuilder, type CorpusOptions } from './stream.js';
import type { Vocab } from './vocab.js';

export type { Corpus, CorpusOptions } from './stream.js';

/** Pieces `buildCorpus` feeds the streaming tokenizer, so that NFC never copies a whole large text. */
const PIECE = 1 << 22;

/**
 * Text to ids and vocabulary, as the PyTorch reference's `load_corpus`: clean into lines, tokenize,
 * build the vocabulary from all of the text, then flatten the lines' tokens into one sequence (no
 * separator between lines: under `letters` the Time Machine's lines run together) and cut it to
 * `maxTokens`. The same streaming tokenizer reads files chunk by chunk (`@rnnlm/text/node`).
 */
export function buildCorpus(text: string, options: CorpusOptions): Corpus {
  const builder = new CorpusBuilder(options);
  for (let i = 0; i < text.length; i += PIECE) builder.push(text.slice(i, i + PIECE));
  return builder.finish();
}

/**
 * A corpus's ids under another vocabulary (a saved model's): each token keeps its text and gets the
 * other vocabulary's id, `<unk>` where it has none. `corpus` should be built with `minFreq` 0, so that
 * no token was already folded into `<unk>`.
 */
export function encodeWithVocab(corpus: Corpus, vocab: Vocab): Corpus['ids'] {
  const table = Uint32Array.from(corpus.vocab.toJSON().tokens, (token) => vocab.indexOf(token));
  const ids = idArray(vocab.size, corpus.ids.length);
  for (let i = 0; i < ids.length; i++) ids[i] = table[corpus.ids[i]!]!;
  return ids;
}
