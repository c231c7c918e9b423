/** What a token is: one character (code point) or one whitespace-separated word. */
export type TokenMode = 'char' | 'word';
/** Every `TokenMode`, for validating input and listing choices. */
export const TOKEN_MODES: readonly TokenMode[] = ['char', 'word'];

/**
 * Splits each line into tokens: characters (code points, so a character outside the Basic
 * Multilingual Plane stays one token) or words (runs of non-whitespace).
 */
export function tokenize(lines: readonly string[], mode: TokenMode): string[][] {
  if (mode === 'char') return lines.map((line) => Array.from(line));
  if (mode === 'word') return lines.map((line) => line.split(/\s+/).filter((token) => token !== ''));
  throw new Error(`unknown token mode ${JSON.stringify(mode)}; use one of ${TOKEN_MODES.join(', ')}`);
}

/** How tokens of a mode join back into text. */
export function joinTokens(tokens: readonly string[], mode: TokenMode): string {
  return tokens.join(mode === 'char' ? '' : ' ');
}
