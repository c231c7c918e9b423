import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCacheDir, fetchTimeMachine } from '@rnnlm/text/node';
import { CliError, EXIT, messageOf } from '../errors.js';
import type { Context, CorpusDownloadFlags, CorpusInfoFlags } from '../flags.js';
import { formatCount } from '../format.js';
import { readCorpus } from './read-corpus.js';

export async function corpusInfo(flags: CorpusInfoFlags, { io }: Context): Promise<void> {
  const corpus = await readCorpus({
    source: flags.corpus,
    token: flags.token,
    clean: flags.clean,
    maxTokens: flags.maxTokens || null,
    minFreq: flags.minFreq,
  });
  const top = corpus.vocab.tokenFreqs.slice(0, flags.top);
  if (flags.json) {
    io.stdout.write(
      `${JSON.stringify({ corpus: flags.corpus, token: flags.token, clean: flags.clean, tokens: corpus.ids.length, vocab_size: corpus.vocab.size, top, files: corpus.files.length, id_cache: corpus.idCache })}\n`,
    );
    return;
  }
  io.stdout.write(
    `${flags.corpus}: ${formatCount(corpus.ids.length)} ${flags.token} tokens, vocabulary of ${formatCount(corpus.vocab.size)} (with <unk>)` +
      `${corpus.files.length > 1 ? `, from ${formatCount(corpus.files.length)} files` : ''}${corpus.idCache === 'hit' ? ' (token ids from the cache)' : ''}\n`,
  );
  if (top.length) {
    io.stdout.write(
      `most frequent: ${top.map(([token, count]) => `${JSON.stringify(token)} ${formatCount(count)}`).join(', ')}\n`,
    );
  }
}

export async function corpusDownload(flags: CorpusDownloadFlags, { io }: Context): Promise<void> {
  const dir = defaultCacheDir();
  const cached = join(dir, 'timemachine.txt');
  const url = process.env.RNNLM_TIME_MACHINE_URL || undefined;
  try {
    // --force downloads into a folder of its own and replaces the cached copy only once the new one is
    // checked: offline, or on a bad download, the copy there stays.
    const text = flags.force
      ? await downloadAndReplace(dir, url)
      : await fetchTimeMachine({ cacheDir: dir, ...(url ? { url } : {}) });
    io.stdout.write(
      `the Time Machine is cached at ${cached} (${formatCount(text.length)} characters, sha1 checked)\n`,
    );
  } catch (error) {
    const kept = flags.force && existsSync(cached) ? ` (the copy already at ${cached} is kept)` : '';
    throw new CliError(`${messageOf(error)}${kept}`, EXIT.network, { cause: error });
  }
}

async function downloadAndReplace(dir: string, url: string | undefined): Promise<string> {
  await mkdir(dir, { recursive: true });
  const staging = await mkdtemp(join(dir, '.download-'));
  try {
    const text = await fetchTimeMachine({ cacheDir: staging, ...(url ? { url } : {}) });
    await rename(join(staging, 'timemachine.txt'), join(dir, 'timemachine.txt'));
    return text;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
