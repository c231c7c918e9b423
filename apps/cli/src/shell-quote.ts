/**
 * Quoting for the commands the CLI prints for users to paste (`rnnlm generate --model ... --prefix ...`):
 * POSIX single quotes, inside which a shell expands nothing; a quote itself is closed, escaped and
 * reopened. Words made only of characters no shell treats specially are left as they are.
 */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}

/** A command line whose words a POSIX shell reads back exactly as given. */
export function shellCommand(words: string[]): string {
  return words.map(shellQuote).join(' ');
}
