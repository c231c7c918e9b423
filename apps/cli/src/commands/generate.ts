import { cleanPrefix } from '@rnnlm/text';
import { type GenerateStreamResult, generateStream } from '@rnnlm/train';
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
  if (flags.numSamples > 1 && flags.temperature === 0) {
    io.stderr.write(
      'note: --temperature 0 is greedy decoding, so every sample is the same text; give a temperature (say 0.8) to vary them\n',
    );
  }
  const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
  const stop = catchStopSignals(io, 'stopping');
  let streamed = 0;
  let unknown: string[] = [];
  try {
    for (let sample = 0; sample < flags.numSamples && !stop.signal.aborted; sample++) {
      if (flags.numSamples > 1 && !flags.json) {
        await write(
          io.stdout,
          `${sample > 0 ? '\n' : ''}--- sample ${sample + 1} of ${flags.numSamples} (seed ${seed + sample}) ---\n`,
        );
      }
      const result = await streamText(flags, { io }, loaded, prefix, seed + sample, stop.signal);
      streamed += result.tokens;
      unknown = result.unknownTokens;
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error as Error).message, EXIT.usage, { cause: error });
  } finally {
    stop.dispose();
    model.dispose();
  }
  if (unknown.length > 0) {
    io.stderr.write(
      `note: not in the vocabulary, read as <unk>: ${unknown.map((t) => JSON.stringify(t)).join(', ')}\n`,
    );
  }
  if (stop.received) {
    throw new CliError(`interrupted after ${streamed} tokens`, SIGNAL_EXIT[stop.received]);
  }
}

/**
 * Writes the prefix, then each token as it is generated: a long --length shows text at once, and a
 * signal stops it between two tokens (the text so far stays printed). With --json, one object at the end.
 */
async function streamText(
  flags: GenerateFlags,
  { io }: Pick<Context, 'io'>,
  { model, vocab, meta }: Awaited<ReturnType<typeof loadModel>>,
  prefix: string,
  seed: number,
  signal: AbortSignal,
): Promise<{ tokens: number; unknownTokens: string[] }> {
  const token = meta.corpus.token;
  const stream = generateStream(model, vocab, prefix, {
    token,
    maxTokens: flags.length,
    signal,
    temperature: flags.temperature,
    ...(flags.topK > 0 ? { topK: Math.min(flags.topK, vocab.size) } : {}),
    ...(flags.topP < 1 ? { topP: flags.topP } : {}),
    seed,
  });
  const start =
    token === 'char'
      ? prefix
      : prefix
          .split(/\s+/)
          .filter((t) => t !== '')
          .join(' ');
  const generated: string[] = [];
  let pending = start;
  let flushed = Date.now();
  let next: IteratorResult<string, GenerateStreamResult> | undefined;
  try {
    // The first next() checks the model and the prefix before anything is printed.
    for (next = await stream.next(); !next.done; next = await stream.next()) {
      generated.push(next.value);
      if (flags.json) continue;
      pending += token === 'char' ? next.value : ` ${next.value}`;
      if (Date.now() - flushed > 50 || pending.length > 4096) {
        await write(io.stdout, pending);
        pending = '';
        flushed = Date.now();
      }
    }
  } finally {
    await stream.return(undefined as never); // frees the model's state when stopped early
    if (next && !flags.json) await write(io.stdout, `${pending}\n`);
  }
  if (flags.json) {
    const text = [start, ...generated].join(token === 'char' ? '' : ' ');
    const { reason } = next.value;
    await write(
      io.stdout,
      `${JSON.stringify({ seed, prefix: start, text, tokens: generated, stopped: reason === 'aborted' ? 'interrupted' : reason })}\n`,
    );
  }
  return { tokens: generated.length, unknownTokens: next.value.unknownTokens };
}

/** Writes and waits while the reader is behind, so that a slow pipe does not fill memory. */
async function write(stream: NodeJS.WritableStream & { isTTY?: boolean }, text: string): Promise<void> {
  if (!stream.write(forTerminal(stream, text))) await new Promise((resolve) => stream.once('drain', resolve));
}
