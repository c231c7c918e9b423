/** The unknown token: id 0 of every vocabulary, the id of any token not in it. */
export const UNK = '<unk>';

/** Options of the `Vocab` constructor. */
export interface VocabOptions {
  /** Tokens seen fewer times than this map to `<unk>`. Default 0 (keep all). */
  minFreq?: number;
  /** Tokens placed right after `<unk>`, whatever their counts (for example `<bos>`, `<eos>`). */
  reservedTokens?: readonly string[];
}

/**
 * Tokens in id order as one text and where each ends in it (UTF-16 units): token `i` is
 * `text.slice(ends[i - 1] ?? 0, ends[i])`. How a saved vocabulary is stored compactly.
 */
export interface PackedTokens {
  text: string;
  ends: ArrayLike<number>;
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
  /** Token of each id; made from `#packed` on first need when the vocabulary came packed. */
  #tokens: string[] | null;
  #packed: PackedTokens | null = null;
  #counts: number[];
  /** Token to id; built on first use when the vocabulary came from `fromIdOrder` (see there). */
  #index: Map<string, number> | null = new Map<string, number>();

  constructor(tokens: readonly string[] | readonly (readonly string[])[] = [], options: VocabOptions = {}) {
    const counter = new Map<string, number>();
    for (const item of tokens) {
      if (typeof item === 'string') counter.set(item, (counter.get(item) ?? 0) + 1);
      else for (const token of item) counter.set(token, (counter.get(token) ?? 0) + 1);
    }
    this.#tokens = [];
    this.#counts = [];
    this.#build([...counter.keys()], [...counter.values()], options);
  }

  /**
   * A vocabulary from tokens already counted: `tokens[i]` was seen `counts[i]` times, and `tokens` lists
   * each distinct token once in order of first appearance (what a streaming tokenizer collects).
   * Gives the same vocabulary as the constructor on the token sequence itself.
   */
  static fromCounts(tokens: readonly string[], counts: ArrayLike<number>, options: VocabOptions = {}): Vocab {
    if (tokens.length !== counts.length) {
      throw new Error(`Vocab.fromCounts: ${tokens.length} tokens but ${counts.length} counts`);
    }
    const vocab = new Vocab();
    vocab.#tokens = [];
    vocab.#counts = [];
    vocab.#index = new Map();
    vocab.#build(tokens, counts, options);
    return vocab;
  }

  #build(tokens: readonly string[], counts: ArrayLike<number>, options: VocabOptions): void {
    const { minFreq = 0, reservedTokens = [] } = options;
    // Array.prototype.sort is stable, so equal counts keep first-appearance order.
    const byFreq = Array.from({ length: tokens.length }, (_, i) => i).sort((a, b) => counts[b]! - counts[a]!);
    for (const token of [UNK, ...reservedTokens]) {
      const i = tokens.indexOf(token);
      this.#add(token, i < 0 ? 0 : counts[i]!);
    }
    for (const i of byFreq) {
      if (counts[i]! < minFreq) break;
      this.#add(tokens[i]!, counts[i]!);
    }
  }

  #add(token: string, count: number): void {
    const index = this.#tokenIndex();
    if (index.has(token)) return;
    const tokens = this.#tokenList();
    index.set(token, tokens.length);
    tokens.push(token);
    this.#counts.push(count);
  }

  /** The number of tokens, `<unk>` included: the model's vocabulary size. */
  get size(): number {
    return this.#counts.length;
  }

  /** The id of `<unk>`: 0. */
  get unk(): number {
    return 0;
  }

  /** The id of a token, or `<unk>`'s for a token not in the vocabulary. */
  indexOf(token: string): number {
    return this.#tokenIndex().get(token) ?? 0;
  }

  /** Whether the token has an id of its own (is not read as `<unk>`). */
  has(token: string): boolean {
    return this.#tokenIndex().has(token);
  }

  /** The id of each token (`<unk>`'s for unknown ones). */
  lookup(tokens: readonly string[]): number[] {
    return tokens.map((token) => this.indexOf(token));
  }

  /** The token of each id; throws on an id outside the vocabulary. */
  toTokens(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => {
      const token = id >= 0 && id < this.size ? this.#tokenOf(id) : undefined;
      if (token === undefined)
        throw new Error(`token id ${id} is out of range for a vocabulary of ${this.size} tokens`);
      return token;
    });
  }

  /** [token, count] pairs of the corpus's tokens in id order (`<unk>` and reserved tokens excluded when unseen). */
  get tokenFreqs(): [string, number][] {
    return this.#tokenList()
      .map((token, i): [string, number] => [token, this.#counts[i]!])
      .filter(([, count]) => count > 0);
  }

  /** The vocabulary as plain JSON, for checkpoints (`fromJSON` reads it back). */
  toJSON(): VocabJSON {
    return { tokens: [...this.#tokenList()], counts: [...this.#counts] };
  }

  /**
   * A vocabulary whose ids are already decided: token `i` (`<unk>` first) is `tokens[i]`, or the `i`-th
   * piece of packed tokens, and `counts[i]` its corpus count, as `toJSON` lists them. Nothing is counted
   * or sorted; packed tokens become strings only when asked for, and the map from token to id is built
   * on the first `indexOf`, `has` or `lookup`: making and hashing 440,000 words takes most of a second,
   * which a run that only reads ids (a cached corpus, training) never needs. Throws when `<unk>` is not
   * first, the lengths differ or packed ends do not fit the text; the first lookup throws if a token is
   * listed twice.
   */
  static fromIdOrder(tokens: readonly string[] | PackedTokens, counts: ArrayLike<number>): Vocab {
    const packed = 'text' in tokens ? tokens : null;
    const size = packed ? packed.ends.length : (tokens as readonly string[]).length;
    const first = packed ? packed.text.slice(0, packed.ends[0]) : (tokens as readonly string[])[0];
    if (size !== counts.length || first !== UNK) {
      throw new Error(
        `Vocab.fromIdOrder: expected <unk> first and one count a token (${size} tokens, ${counts.length} counts)`,
      );
    }
    if (packed) {
      for (let i = 0, start = 0; i < size; start = packed.ends[i]!, i++) {
        const end = packed.ends[i]!;
        if (!(end >= start && end <= packed.text.length)) {
          throw new Error(
            `Vocab.fromIdOrder: token ${i} ends at ${end}, outside ${start}..${packed.text.length}`,
          );
        }
      }
    }
    const vocab = new Vocab();
    vocab.#tokens = packed ? null : (tokens as readonly string[]).slice();
    vocab.#packed = packed && { text: packed.text, ends: packed.ends };
    vocab.#counts = new Array<number>(size);
    for (let i = 0; i < size; i++) vocab.#counts[i] = counts[i]!;
    vocab.#index = null;
    return vocab;
  }

  #tokenOf(id: number): string {
    if (this.#tokens) return this.#tokens[id]!;
    const { text, ends } = this.#packed!;
    return text.slice(id === 0 ? 0 : ends[id - 1], ends[id]);
  }

  #tokenList(): string[] {
    if (!this.#tokens) this.#tokens = Array.from({ length: this.size }, (_, id) => this.#tokenOf(id));
    return this.#tokens;
  }

  #tokenIndex(): Map<string, number> {
    if (this.#index) return this.#index;
    const index = new Map<string, number>();
    this.#tokenList().forEach((token, id) => {
      const first = index.get(token);
      if (first !== undefined) {
        throw new Error(
          `not a vocabulary: ${JSON.stringify(token)} is listed twice (ids ${first} and ${id})`,
        );
      }
      index.set(token, id);
    });
    this.#index = index;
    return index;
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
    vocab.#tokens = [];
    vocab.#counts = [];
    vocab.#index = new Map();
    data.tokens.forEach((token, i) => {
      vocab.#add(token, data.counts![i]!);
    });
    return vocab;
  }
}
