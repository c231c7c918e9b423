import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCacheDir, fetchTimeMachine } from '@rnnlm/text/node';
import type { Context, CorpusDownloadFlags, CorpusInfoFlags } from '../cli.js';
import { CliError, EXIT, messageOf } from '../errors.js';
import { formatCount } from '../progress.js';
import { readCorpus } from './shared.js';

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
  if (flags.force) await rm(join(dir, 'timemachine.txt'), { force: true });
  try {
    const text = await fetchTimeMachine({ cacheDir: dir });
    io.stdout.write(
      `the Time Machine is cached at ${join(dir, 'timemachine.txt')} (${formatCount(text.length)} characters, sha1 checked)\n`,
    );
  } catch (error) {
    throw new CliError(messageOf(error), EXIT.network, { cause: error });
  }
}
