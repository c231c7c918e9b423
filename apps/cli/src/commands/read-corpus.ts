/**
 * Reading a corpus for a command, apart from shared.ts so that `corpus info` loads no TensorFlow.js
 * (shared.ts imports @rnnlm/train): its start-up is most of its time on a small text.
 */
import { type LoadCorpusOptions, type LoadedCorpus, loadCorpus } from '@rnnlm/text/node';
import { readStreamCorpus } from '../bounded-read.js';
import { CliError, EXIT, messageOf } from '../errors.js';

/**
 * Reads a corpus; a failed or corrupted download exits 7, every other problem 3. A file's or folder's
 * token ids are cached (under RNNLM_CACHE_DIR, see defaultCacheDir) so the next run starts at once.
 */
export async function readCorpus(options: LoadCorpusOptions): Promise<LoadedCorpus> {
  try {
    return (await readStreamCorpus(options)) ?? (await loadCorpus({ idCache: true, ...options }));
  } catch (error) {
    const message = messageOf(error);
    const network = options.source === 'timemachine' && /download/.test(message);
    throw new CliError(message, network ? EXIT.network : EXIT.input, { cause: error });
  }
}
