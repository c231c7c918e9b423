import type { TokenVocab } from '../generate.js';

/** A minimal vocabulary for tests: `<unk>` at 0, then tokens by descending count, ties by first appearance. */
export function toyVocab(
  tokens: string[],
): TokenVocab & { toJSON(): unknown; ids(tokens: string[]): Int32Array } {
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  const order = ['<unk>', ...[...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)!)];
  const index = new Map(order.map((t, i) => [t, i]));
  return {
    size: order.length,
    unk: 0,
    indexOf: (t) => index.get(t) ?? 0,
    toTokens: (ids) => Array.from(ids, (i) => order[i]!),
    toJSON: () => ({ tokens: order }),
    ids: (ts) => Int32Array.from(ts, (t) => index.get(t) ?? 0),
  };
}
