import { cleanPrefix } from '@rnnlm/text';
import { generateTokens } from '@rnnlm/train';
import { CliError, EXIT } from '../errors.js';
import type { Context, GenerateFlags } from '../flags.js';
import { startBackend } from '../runtime.js';
import { catchStopSignals, SIGNAL_EXIT } from '../signals.js';
import { forTerminal } from '../terminal-safe.js';
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
  if (flags.prefix !== undefined && prefix.trim() === '' && flags.prefix.trim() !== '') {
    model.dispose();
    throw new CliError(
      `the prefix ${JSON.stringify(flags.prefix)} has nothing the model knows: cleaned as its corpus was ('${meta.corpus.clean}': letters only, lower case), nothing is left; give a prefix with letters`,
      EXIT.usage,
    );
  }
  const stop = catchStopSignals(io, 'stopping');
  let streamed: number;
  try {
    streamed = await streamText(flags, { io }, loaded, prefix, stop.signal);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error as Error).message, EXIT.usage, { cause: error });
  } finally {
    stop.dispose();
    model.dispose();
  }
  if (stop.received) {
    throw new CliError(`interrupted after ${streamed} tokens`, SIGNAL_EXIT[stop.received]);
  }
}

/**
 * Writes the prefix, then each token as it is generated: a long --length shows text at once, and a
 * signal stops it between two tokens (the text so far stays printed).
 */
async function streamText(
  flags: GenerateFlags,
  { io }: Pick<Context, 'io'>,
  { model, vocab, meta }: Awaited<ReturnType<typeof loadModel>>,
  prefix: string,
  signal: AbortSignal,
): Promise<number> {
  const token = meta.corpus.token;
  const stream = generateTokens(model, vocab, prefix, flags.length, {
    token,
    temperature: flags.temperature,
    ...(flags.topK > 0 ? { topK: Math.min(flags.topK, vocab.size) } : {}),
    ...(flags.topP < 1 ? { topP: flags.topP } : {}),
    seed: flags.seed ?? Math.floor(Math.random() * 2 ** 31),
  });
  let next = stream.next(); // checks the model and the prefix before anything is printed
  const start =
    token === 'char'
      ? prefix
      : prefix
          .split(/\s+/)
          .filter((t) => t !== '')
          .join(' ');
  let pending = start;
  let flushed = Date.now();
  let streamed = 0;
  try {
    for (; !next.done; next = stream.next()) {
      pending += token === 'char' ? next.value : ` ${next.value}`;
      streamed++;
      if (Date.now() - flushed > 50 || pending.length > 4096) {
        await write(io.stdout, pending);
        pending = '';
        flushed = Date.now();
      }
      await new Promise((resolve) => setImmediate(resolve)); // lets a signal in
      if (signal.aborted) break;
    }
  } finally {
    stream.return(undefined as never); // frees the model's state when stopped early
    await write(io.stdout, `${pending}\n`);
  }
  if (next.done && next.value.unknownTokens.length > 0) {
    io.stderr.write(
      `note: not in the vocabulary, read as <unk>: ${next.value.unknownTokens.map((t) => JSON.stringify(t)).join(', ')}\n`,
    );
  }
  return streamed;
}

/** Writes and waits while the reader is behind, so that a slow pipe does not fill memory. */
async function write(stream: NodeJS.WritableStream & { isTTY?: boolean }, text: string): Promise<void> {
  if (!stream.write(forTerminal(stream, text))) await new Promise((resolve) => stream.once('drain', resolve));
}
