import { cleanPrefix } from '@rnnlm/text';
import { generate } from '@rnnlm/train';
import { CliError, EXIT } from '../errors.js';
import type { Context, GenerateFlags } from '../flags.js';
import { startBackend } from '../runtime.js';
import { loadModel } from './shared.js';

export async function generateCommand(flags: GenerateFlags, { io }: Context): Promise<void> {
  await startBackend(flags.backend, io, flags.threads);
  const loaded = await loadModel(flags.model);
  const { model, vocab, meta, settings } = loaded;
  loaded.dispose();
  const prefix = cleanPrefix(
    flags.prefix ?? settings?.prefix ?? vocab.toTokens([1])[0] ?? '',
    meta.corpus.clean,
  );
  try {
    const result = generate(model, vocab, prefix, flags.length, {
      token: meta.corpus.token,
      temperature: flags.temperature,
      ...(flags.topK > 0 ? { topK: flags.topK } : {}),
      ...(flags.topP < 1 ? { topP: flags.topP } : {}),
      seed: flags.seed ?? Math.floor(Math.random() * 2 ** 31),
    });
    if (result.unknownTokens.length > 0) {
      io.stderr.write(
        `note: not in the vocabulary, read as <unk>: ${result.unknownTokens.map((t) => JSON.stringify(t)).join(', ')}\n`,
      );
    }
    io.stdout.write(`${result.text}\n`);
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.usage, { cause: error });
  } finally {
    model.dispose();
  }
}
