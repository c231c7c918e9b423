/** The unknown token: id 0 of every vocabulary, the id of any token not in it. */
export const UNK = '<unk>';

/** Options of the `Vocab` constructor. */
export interface VocabOptions {
  /** Tokens seen fewer times than this map to `<unk>`. Default 0 (keep all). */
  minFreq?: number;
  /** Tokens placed right after `<unk>`, whatever their counts (for example `<bos>`, `<eos>`). */
  reservedTokens?: readonly string[];
}

/** A vocabulary as plain JSON (`Vocab.toJSON`, `Vocab.fromJSON`). */
export interface VocabJSON {
  /** Token of each id, `<unk>` first. */
  tokens: string[];
  /** Corpus count of each token of `tokens` (0 for `<unk>` and reserved tokens never seen). */
  counts: number[];
}

/**
 * Maps tokens to ids, as d2l's `Vocab`: `<unk>` at 0, then reserved tokens, then the corpus's tokens by
 * descending frequency, ties in order of first appearance (the PyTorch reference sorts a Counter, which
 * keeps insertion order, with a stable sort: ids agree with it).
 */
export class Vocab {
  readonly #tokens: string[];
  readonly #counts: number[];
  readonly #index = new Map<string, number>();

  constructor(tokens: readonly string[] | readonly (readonly string[])[] = [], options: VocabOptions = {}) {
    const { minFreq = 0, reservedTokens = [] } = options;
    const counter = new Map<string, number>();
    for (const item of tokens) {
      if (typeof item === 'string') counter.set(item, (counter.get(item) ?? 0) + 1);
      else for (const token of item) counter.set(token, (counter.get(token) ?? 0) + 1);
    }
    // Array.prototype.sort is stable, so equal counts keep the Map's first-appearance order.
    const byFreq = [...counter.entries()].sort((a, b) => b[1] - a[1]);
    this.#tokens = [];
    this.#counts = [];
    for (const token of [UNK, ...reservedTokens]) this.#add(token, counter.get(token) ?? 0);
    for (const [token, count] of byFreq) {
      if (count < minFreq) break;
      this.#add(token, count);
    }
  }

  #add(token: string, count: number): void {
    if (this.#index.has(token)) return;
    this.#index.set(token, this.#tokens.length);
    this.#tokens.push(token);
    this.#counts.push(count);
  }

  /** The number of tokens, `<unk>` included: the model's vocabulary size. */
  get size(): number {
    return this.#tokens.length;
  }

  /** The id of `<unk>`: 0. */
  get unk(): number {
    return 0;
  }

  /** The id of a token, or `<unk>`'s for a token not in the vocabulary. */
  indexOf(token: string): number {
    return this.#index.get(token) ?? 0;
  }

  /** Whether the token has an id of its own (is not read as `<unk>`). */
  has(token: string): boolean {
    return this.#index.has(token);
  }

  /** The id of each token (`<unk>`'s for unknown ones). */
  lookup(tokens: readonly string[]): number[] {
    return tokens.map((token) => this.indexOf(token));
  }

  /** The token of each id; throws on an id outside the vocabulary. */
  toTokens(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => {
      const token = this.#tokens[id];
      if (token === undefined)
        throw new Error(`token id ${id} is out of range for a vocabulary of ${this.size} tokens`);
      return token;
    });
  }

  /** [token, count] pairs of the corpus's tokens in id order (`<unk>` and reserved tokens excluded when unseen). */
  get tokenFreqs(): [string, number][] {
    return this.#tokens
      .map((token, i): [string, number] => [token, this.#counts[i]!])
      .filter(([, count]) => count > 0);
  }

  /** The vocabulary as plain JSON, for checkpoints (`fromJSON` reads it back). */
  toJSON(): VocabJSON {
    return { tokens: [...this.#tokens], counts: [...this.#counts] };
  }

  /** Rebuilds a vocabulary saved with `toJSON`, with the same ids; throws on anything else. */
  static fromJSON(json: unknown): Vocab {
    const data = json as Partial<VocabJSON> | null;
    if (
      !data ||
      !Array.isArray(data.tokens) ||
      !Array.isArray(data.counts) ||
      data.tokens.length !== data.counts.length ||
      data.tokens[0] !== UNK ||
      !data.tokens.every((t) => typeof t === 'string') ||
      new Set(data.tokens).size !== data.tokens.length
    ) {
      throw new Error(
        'not a saved vocabulary: expected { tokens, counts } with <unk> first and no duplicates',
      );
    }
    const vocab = new Vocab();
    vocab.#tokens.length = 0;
    vocab.#counts.length = 0;
    vocab.#index.clear();
    data.tokens.forEach((token, i) => {
      vocab.#add(token, data.counts![i]!);
    });
    return vocab;
  }
}
