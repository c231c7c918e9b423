/**
 * Code-unit tests and the word hash the streaming corpus builder runs over every character of a corpus:
 * written on char codes rather than with regular expressions so that a gigabyte of text makes no
 * strings it does not keep.
 */

/** FNV-1a's 32-bit offset basis and prime: the hash of a word in the builder's token table. */
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/** An ASCII letter, either case. */
export function isLetter(c: number): boolean {
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

/** Whether `token` is `s[start, end)`, its code units OR-ed with `fold` (0x20 lower-cases ASCII letters). */
export function sameWord(token: string, s: string, start: number, end: number, fold: number): boolean {
  if (token.length !== end - start) return false;
  for (let k = 0; k < token.length; k++)
    if ((s.charCodeAt(start + k) | fold) !== token.charCodeAt(k)) return false;
  return true;
}

/** `\s` and `String.prototype.trim`'s whitespace: tab to carriage return, space, and Unicode's spaces. */
export function isSpace(c: number): boolean {
  if (c > 0x20 && c < 0xa0) return false;
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Whether `s` is empty or all whitespace (as `isSpace`). */
export function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isSpace(s.charCodeAt(i))) return false;
  return true;
}

/** The index of the last ASCII character of `s`, a safe place to cut before; -1 when there is none. */
export function lastAscii(s: string): number {
  for (let i = s.length - 1; i > 0; i--) if (s.charCodeAt(i) < 0x80) return i;
  return -1;
}
