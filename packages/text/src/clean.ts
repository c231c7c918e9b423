/** How raw text becomes lines of characters to tokenize. */
export type CleanMode = 'letters' | 'unicode';
/** Every `CleanMode`, for validating input and listing choices. */
export const CLEAN_MODES: readonly CleanMode[] = ['letters', 'unicode'];

/**
 * Splits text into cleaned lines.
 *
 * - `letters`, as the notebooks read the Time Machine: in each line every run of non-letters becomes
 *   one space, then the line is trimmed and lower-cased (`re.sub('[^A-Za-z]+', ' ', line).strip().lower()`).
 * - `unicode` keeps every character, so that Chinese text trains char by char: line endings are
 *   normalised to `\n`, the text to NFC, and each line but the last keeps its `\n`, so the line
 *   breaks survive as tokens under char tokenization.
 */
export function cleanLines(text: string, mode: CleanMode): string[] {
  if (mode === 'letters') {
    return splitLines(text).map((line) =>
      line
        .replace(/[^A-Za-z]+/g, ' ')
        .trim()
        .toLowerCase(),
    );
  }
  if (mode === 'unicode') {
    const lines = splitLines(text.normalize('NFC'));
    return lines.map((line, i) => (i < lines.length - 1 ? `${line}\n` : line)).filter((line) => line !== '');
  }
  throw new Error(`unknown cleaning mode ${JSON.stringify(mode)}; use one of ${CLEAN_MODES.join(', ')}`);
}

function splitLines(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').split('\n');
}

/**
 * A prefix to generate from, cleaned the way the corpus was so that its tokens are in the vocabulary:
 * under `letters` as one line (runs of non-letters become one space, lower case), keeping one trailing
 * space when the prefix ends in a non-letter ("once upon a " continues with a new word, not "ang");
 * under `unicode` normalised to NFC with `\n` line endings.
 */
export function cleanPrefix(prefix: string, mode: CleanMode): string {
  if (mode === 'unicode') return prefix.replace(/\r\n?/g, '\n').normalize('NFC');
  const cleaned = cleanLines(prefix, mode).join(' ').replace(/ +/g, ' ').trim();
  return /[^A-Za-z]$/.test(prefix) && cleaned !== '' ? `${cleaned} ` : cleaned;
}
