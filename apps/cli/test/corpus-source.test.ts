import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

describe('rnnlm corpus sources', () => {
  it('reads a folder of text files in path order, and caches its token ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnnlm-cli-folder-'));
    const books = join(dir, 'books');
    mkdirSync(join(books, 'vol2'), { recursive: true });
    writeFileSync(join(books, 'vol1.txt'), 'call me ishmael');
    writeFileSync(join(books, 'vol2', 'ch1.txt'), 'some years ago\n');
    const env = { RNNLM_CACHE_DIR: join(dir, 'cache') };
    const args = ['corpus', 'info', '--corpus', books, '--token', 'word', '--json'];
    const first = await runCli(args, { env });
    expect(first.code, first.stderr).toBe(0);
    const info = JSON.parse(first.stdout);
    // ishmael and some are different words: the end of vol1.txt is a line break.
    expect(info).toMatchObject({ tokens: 6, vocab_size: 7, files: 2, id_cache: 'written' });
    expect(readdirSync(join(dir, 'cache', 'corpus-ids'))).toHaveLength(1);
    const second = await runCli(args, { env });
    expect(JSON.parse(second.stdout)).toMatchObject({ tokens: 6, vocab_size: 7, id_cache: 'hit' });
    const text = await runCli(['corpus', 'info', '--corpus', books, '--token', 'word'], { env });
    expect(text.stdout).toMatch(/6 word tokens, vocabulary of 7 \(with <unk>\), from 2 files/);
  });

  it('names the bad file of a folder and its byte offset, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnnlm-cli-folder-'));
    writeFileSync(join(dir, 'a.txt'), 'fine text');
    writeFileSync(join(dir, 'b.txt'), Buffer.from([0x61, 0x62, 0xff]));
    const result = await runCli(['corpus', 'info', '--corpus', dir], {
      env: { RNNLM_CACHE_DIR: join(dir, '.cache') },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(
      `${join(dir, 'b.txt')} is not valid UTF-8 text (invalid byte 0xff at byte offset 2)`,
    );
    noStack(result.stderr);
  });
});
