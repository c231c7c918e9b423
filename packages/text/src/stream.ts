/**
 * The streaming tokenizer: text arrives in pieces of any size, each token is counted and stored as a
 * provisional id (its order of first appearance) in compact blocks, and at the end the vocabulary is
 * sorted and the provisional ids remapped once. No line, token list or string per character is ever
 * built, so memory is about one to four bytes a token, whatever the size of the text.
 *
 * It reproduces `cleanLines` + `tokenize` + `Vocab` exactly (the test suite checks it against the
 * whole-text implementation for every option and every split of the text):
 * - `letters`: a line break (`\n`, `\r\n` or `\r`) ends a line; in a line every run of non-letters is
 *   one space, dropped at the line's ends; letters are lower-cased; lines run together.
 * - `unicode`: the text in NFC with `\r\n` and `\r` turned into `\n`.
 * - `char` tokens are code points; `word` tokens are maximal runs of non-whitespace (`\s`).
 */
import { CLEAN_MODES, type CleanMode } from './clean.js';
import { FNV_OFFSET, FNV_PRIME, isBlank, isLetter, isSpace, lastAscii, sameWord } from './code-units.js';
import { IdBlocks, type TokenIds } from './ids.js';
import { TOKEN_MODES, type TokenMode } from './tokenize.js';
import { Vocab } from './vocab.js';

/** How `buildCorpus` and `CorpusBuilder` turn text into ids: tokens, cleaning, and which tokens to keep. */
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
  /** One id a token, as narrow as the vocabulary allows (1, 2 or 4 bytes). */
  ids: TokenIds;
  vocab: Vocab;
  token: TokenMode;
  clean: CleanMode;
}

/**
 * Unicode text is normalised to NFC a segment at a time. A segment may end only where NFC cannot act
 * across the cut: after a `\n`, or before an ASCII character (a starter that never composes with what
 * precedes it). Text with neither waits for more, up to this many code units before cutting at an
 * ASCII character.
 */
const MAX_PENDING = 1 << 20;

/**
 * Text in pieces of any size in, `Corpus` out: `push` each piece in order, then `finish` once. The ids
 * equal those of the whole text given to `buildCorpus` at once, wherever the pieces are cut.
 */
export class CorpusBuilder {
  readonly #token: TokenMode;
  readonly #clean: CleanMode;
  readonly #limit: number;
  readonly #minFreq: number;
  readonly #reserved: readonly string[];

  /** Provisional id of each BMP code unit seen (-1: not yet), and of astral code points. */
  readonly #units = new Int32Array(0x10000).fill(-1);
  readonly #astral = new Map<number, number>();
  /**
   * Words by hash, open addressing (provisional id + 1; 0 is empty): a word already seen is found by
   * hashing and comparing it where it lies in the text, so no string is made for it.
   */
  #slots = new Int32Array(1 << 12);
  #hashes = new Int32Array(1024);
  /** Token and count of each provisional id, in order of first appearance. */
  readonly #tokens: string[] = [];
  #counts = new Float64Array(1024);
  readonly #ids = new IdBlocks();
  #total = 0;
  /** The provisional ids of the piece being scanned, counted and stored in one go after the scan. */
  #out = new Uint32Array(0);
  #n = 0;

  #blank = true;
  #pending = '';
  /** The start of a word not yet ended by whitespace, carried from one piece to the next. */
  #partial = '';
  // letters + char: whether the current line has a letter yet, and a space is owed before the next.
  #lineHasLetter = false;
  #spaceOwed = false;
  // unicode + char: the last character was `\r`, so a `\n` right after it is the same line break.
  #afterCR = false;
  #finished = false;

  constructor(options: CorpusOptions) {
    const { token, clean, maxTokens, minFreq, reservedTokens } = options;
    if (!TOKEN_MODES.includes(token)) {
      throw new Error(`unknown token mode ${JSON.stringify(token)}; use one of ${TOKEN_MODES.join(', ')}`);
    }
    if (!CLEAN_MODES.includes(clean)) {
      throw new Error(`unknown cleaning mode ${JSON.stringify(clean)}; use one of ${CLEAN_MODES.join(', ')}`);
    }
    if (maxTokens !== undefined && maxTokens !== null && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
      throw new Error(`maxTokens must be a positive integer (or left out for all tokens), got ${maxTokens}`);
    }
    this.#token = token;
    this.#clean = clean;
    this.#limit = maxTokens ?? Number.POSITIVE_INFINITY;
    this.#minFreq = minFreq ?? 0;
    this.#reserved = reservedTokens ?? [];
  }

  /** True while nothing but whitespace has been pushed. */
  get blank(): boolean {
    return this.#blank;
  }

  /** Tokens seen so far (all of them, also those past `maxTokens`). */
  get tokenCount(): number {
    return this.#total;
  }

  /**
   * The next piece of text. Pieces may split a line, a word, a `\r\n` or a surrogate pair anywhere.
   * `characters` is the piece's true text when `text` is a Latin-1 reading of its UTF-8 bytes (which
   * `letters` cleaning tokenizes the same): it is only needed while the corpus is still blank.
   */
  push(text: string, characters: string = text): void {
    if (this.#finished) throw new Error('CorpusBuilder: push after finish');
    if (this.#blank && !isBlank(characters)) this.#blank = false;
    if (this.#clean === 'letters') {
      this.#scan(text);
      return;
    }
    let cut = text.lastIndexOf('\n') + 1;
    if (cut === 0 && this.#pending.length + text.length > MAX_PENDING) cut = lastAscii(text);
    if (cut <= 0) {
      this.#pending += text;
      return;
    }
    const segment = this.#pending + text.slice(0, cut);
    this.#pending = text.slice(cut);
    this.#scan(segment.normalize('NFC'));
  }

  /** The ids and vocabulary of everything pushed. */
  finish(): Corpus {
    if (this.#finished) throw new Error('CorpusBuilder: finish called twice');
    if (this.#pending !== '') this.#scan(this.#pending.normalize('NFC'));
    this.#pending = '';
    if (this.#partial !== '') {
      this.#n = 0;
      this.#out[this.#n++] = this.#wordOf(this.#partial);
      this.#partial = '';
      this.#store();
    }
    this.#finished = true;
    if (this.#blank) throw new Error('the corpus is empty: it has no text but whitespace');
    if (this.#total === 0) {
      throw new Error(
        `the corpus has no ${this.#token} tokens after '${this.#clean}' cleaning (letters cleaning keeps only A-Z); try --clean unicode`,
      );
    }
    const counts = this.#counts.subarray(0, this.#tokens.length);
    const vocab = Vocab.fromCounts(this.#tokens, counts, {
      minFreq: this.#minFreq,
      reservedTokens: this.#reserved,
    });
    const table = Uint32Array.from(this.#tokens, (token) => vocab.indexOf(token));
    const ids = this.#ids.remap(table, vocab.size);
    return { ids, vocab, token: this.#token, clean: this.#clean };
  }

  #scan(s: string): void {
    if (this.#out.length < s.length + 2) this.#out = new Uint32Array(s.length + 2);
    this.#n = 0;
    if (this.#clean === 'letters') {
      if (this.#token === 'char') this.#lettersChars(s);
      else this.#lettersWords(s);
    } else if (this.#token === 'char') this.#unicodeChars(s);
    else this.#unicodeWords(s);
    this.#store();
  }

  /** Counts the scanned piece's ids and keeps those within `maxTokens`. */
  #store(): void {
    const out = this.#out;
    const n = this.#n;
    const counts = this.#counts;
    for (let k = 0; k < n; k++) counts[out[k]!]!++;
    const keep = Math.min(n, this.#limit - this.#total);
    if (keep > 0) this.#ids.append(out.subarray(0, keep), this.#tokens.length - 1);
    this.#total += n;
    this.#n = 0;
  }

  #lettersChars(s: string): void {
    let lineHasLetter = this.#lineHasLetter;
    let spaceOwed = this.#spaceOwed;
    const units = this.#units;
    const out = this.#out;
    let n = this.#n;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const lower = c | 0x20;
      if (lower >= 0x61 && lower <= 0x7a) {
        if (spaceOwed) {
          out[n++] = units[0x20]! >= 0 ? units[0x20]! : this.#newUnit(0x20);
          spaceOwed = false;
        }
        out[n++] = units[lower]! >= 0 ? units[lower]! : this.#newUnit(lower);
        lineHasLetter = true;
      } else if (c === 0x0a || c === 0x0d) {
        lineHasLetter = false;
        spaceOwed = false;
      } else if (lineHasLetter) {
        spaceOwed = true;
      }
    }
    this.#n = n;
    this.#lineHasLetter = lineHasLetter;
    this.#spaceOwed = spaceOwed;
  }

  #lettersWords(s: string): void {
    const out = this.#out;
    let n = this.#n;
    let i = 0;
    if (this.#partial !== '') {
      while (i < s.length && isLetter(s.charCodeAt(i))) i++;
      if (i === s.length) {
        this.#partial += s;
        return;
      }
      out[n++] = this.#wordOf(this.#partial + s.slice(0, i));
      this.#partial = '';
    }
    let start = -1;
    let h = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const lower = c | 0x20;
      if (lower >= 0x61 && lower <= 0x7a) {
        if (start < 0) {
          start = i;
          h = FNV_OFFSET;
        }
        h = Math.imul(h ^ lower, FNV_PRIME);
      } else if (start >= 0) {
        out[n++] = this.#wordAt(s, start, i, h);
        start = -1;
      }
    }
    this.#n = n;
    if (start >= 0) this.#partial = s.slice(start);
  }

  #unicodeChars(s: string): void {
    let afterCR = this.#afterCR;
    const units = this.#units;
    const out = this.#out;
    let n = this.#n;
    const length = s.length;
    for (let i = 0; i < length; i++) {
      let c = s.charCodeAt(i);
      if (c === 0x0a && afterCR) {
        afterCR = false;
        continue;
      }
      afterCR = c === 0x0d;
      if (afterCR) c = 0x0a;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          out[n++] = this.#astralChar(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000);
          i++;
          continue;
        }
      }
      out[n++] = units[c]! >= 0 ? units[c]! : this.#newUnit(c);
    }
    this.#n = n;
    this.#afterCR = afterCR;
  }

  #unicodeWords(s: string): void {
    const out = this.#out;
    let n = this.#n;
    let i = 0;
    if (this.#partial !== '') {
      while (i < s.length && !isSpace(s.charCodeAt(i))) i++;
      if (i === s.length) {
        this.#partial += s;
        return;
      }
      out[n++] = this.#wordOf(this.#partial + s.slice(0, i));
      this.#partial = '';
    }
    let start = -1;
    let h = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) {
        if (start >= 0) {
          out[n++] = this.#wordAt(s, start, i, h);
          start = -1;
        }
      } else {
        if (start < 0) {
          start = i;
          h = FNV_OFFSET;
        }
        h = Math.imul(h ^ c, FNV_PRIME);
      }
    }
    this.#n = n;
    if (start >= 0) this.#partial = s.slice(start);
  }

  /** The id of a word given whole (one that ran across pieces), lower-cased under letters cleaning. */
  #wordOf(text: string): number {
    const word = this.#clean === 'letters' ? text.toLowerCase() : text;
    let h = FNV_OFFSET;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), FNV_PRIME);
    return this.#wordAt(word, 0, word.length, h);
  }

  /**
   * The id of the word `s[start, end)` whose hash is `h` (under letters cleaning, of its lower-case
   * form, which is what it is compared and stored as).
   */
  #wordAt(s: string, start: number, end: number, h: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    const fold = this.#clean === 'letters' ? 0x20 : 0;
    let slot = h & mask;
    for (let id = slots[slot]! - 1; id >= 0; id = slots[slot]! - 1) {
      if (this.#hashes[id] === h && sameWord(this.#tokens[id]!, s, start, end, fold)) return id;
      slot = (slot + 1) & mask;
    }
    const word = fold ? s.slice(start, end).toLowerCase() : s.slice(start, end);
    const id = this.#newToken(word);
    this.#hashes[id] = h;
    slots[slot] = id + 1;
    if (this.#tokens.length * 2 > slots.length) this.#rehash();
    return id;
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.#tokens.length; id++) {
      let slot = this.#hashes[id]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.#slots = slots;
  }

  #newUnit(c: number): number {
    const id = this.#newToken(String.fromCharCode(c));
    this.#units[c] = id;
    return id;
  }

  #astralChar(cp: number): number {
    let id = this.#astral.get(cp);
    if (id === undefined) {
      id = this.#newToken(String.fromCodePoint(cp));
      this.#astral.set(cp, id);
    }
    return id;
  }

  #newToken(token: string): number {
    const id = this.#tokens.length;
    this.#tokens.push(token);
    if (id === this.#counts.length) {
      const counts = new Float64Array(id * 2);
      counts.set(this.#counts);
      this.#counts = counts;
      const hashes = new Int32Array(id * 2);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    return id;
  }
}
