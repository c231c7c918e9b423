/**
 * The whole-text `buildCorpus` as it was before the streaming tokenizer, kept verbatim as a test oracle:
 * clean into lines, tokenize into nested lists of strings, count in a Map, sort stably by count, look
 * every token up. Simple and obviously right for small texts; the streaming path must give the same ids
 * and vocabulary for every option.
 */
import type { CleanMode } from '../clean.js';
import type { TokenMode } from '../tokenize.js';

export interface ReferenceCorpus {
  ids: number[];
  /** Token of each id, `<unk>` first. */
  tokens: string[];
  /** Count of each token of `tokens`. */
  counts: number[];
}

function splitLines(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').split('\n');
}

function cleanLines(text: string, mode: CleanMode): string[] {
  if (mode === 'letters') {
    return splitLines(text).map((line) =>
      line
        .replace(/[^A-Za-z]+/g, ' ')
        .trim()
        .toLowerCase(),
    );
  }
  const lines = splitLines(text.normalize('NFC'));
  return lines.map((line, i) => (i < lines.length - 1 ? `${line}\n` : line)).filter((line) => line !== '');
}

function tokenize(lines: readonly string[], mode: TokenMode): string[][] {
  if (mode === 'char') return lines.map((line) => Array.from(line));
  return lines.map((line) => line.split(/\s+/).filter((token) => token !== ''));
}

export function referenceCorpus(
  text: string,
  options: {
    token: TokenMode;
    clean: CleanMode;
    maxTokens?: number | null;
    minFreq?: number;
    reservedTokens?: readonly string[];
  },
): ReferenceCorpus {
  const { token, clean, maxTokens, minFreq = 0, reservedTokens = [] } = options;
  if (text.trim() === '') throw new Error('the corpus is empty: it has no text but whitespace');
  const all = tokenize(cleanLines(text, clean), token).flat();
  if (all.length === 0) throw new Error(`the corpus has no ${token} tokens after '${clean}' cleaning`);
  const counter = new Map<string, number>();
  for (const t of all) counter.set(t, (counter.get(t) ?? 0) + 1);
  const byFreq = [...counter.entries()].sort((a, b) => b[1] - a[1]);
  const tokens: string[] = [];
  const counts: number[] = [];
  const index = new Map<string, number>();
  const add = (t: string, count: number) => {
    if (index.has(t)) return;
    index.set(t, tokens.length);
    tokens.push(t);
    counts.push(count);
  };
  for (const t of ['<unk>', ...reservedTokens]) add(t, counter.get(t) ?? 0);
  for (const [t, count] of byFreq) {
    if (count < minFreq) break;
    add(t, count);
  }
  const kept = maxTokens ? all.slice(0, maxTokens) : all;
  return { ids: kept.map((t) => index.get(t) ?? 0), tokens, counts };
}
