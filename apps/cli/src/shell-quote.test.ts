import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from './shell-quote.js';

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(shellQuote('rnnlm-model/v2.1')).toBe('rnnlm-model/v2.1');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it('gives words a shell reads back exactly, running nothing', () => {
    const words = [
      '$(echo pwned)',
      "it's here",
      '`id`',
      'a"b',
      '\\n',
      '*',
      '~',
      'tab\there',
      'new\nline',
      '!event',
      '',
    ];
    const printed = execFileSync('sh', ['-c', `printf '%s\\0' ${shellCommand(words)}`]).toString();
    expect(printed.split('\0').slice(0, -1)).toEqual(words);
  });
});
