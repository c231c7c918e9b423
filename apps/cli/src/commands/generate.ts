import type { LanguageModel } from '@rnnlm/cells';
import { cleanPrefix, type Vocab } from '@rnnlm/text';
import {
  type GenerateEnd,
  type GenerateOptions,
  type GenerateStreamResult,
  generateBatchTokens,
  generateStream,
  generateTokensAsync,
  generationPath,
  readPrefix,
  synchronousReadsUnavailable,
} from '@rnnlm/train';
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
  let where: GenerationWhere | null = null;
  try {
    if (flags.numSamples > 1) {
      // Every sample at once: one step of the model advances them all (sample i still uses seed + i).
      const result = await batchedSamples(flags, { io }, loaded, prefix, seed, stop.signal);
      streamed = result.tokens;
      unknown = result.unknownTokens;
      where = result.where;
    } else {
      const result = await streamText(flags, { io }, loaded, prefix, seed, stop.signal);
      streamed = result.tokens;
      unknown = result.unknownTokens;
      where = result.where;
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error as Error).message, EXIT.usage, { cause: error });
  } finally {
    stop.dispose();
    model.dispose();
  }
  if (where?.path === 'tfjs') {
    io.stderr.write(
      `note: generated on tfjs, one forward a token, not on the kernels' WebAssembly token step: ${where.pathReason}\n`,
    );
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
): Promise<{ tokens: number; unknownTokens: string[]; where: GenerationWhere }> {
  const token = meta.corpus.token;
  const stream = generateStream(model, vocab, prefix, {
    token,
    maxTokens: flags.length,
    signal,
    ...sampling(flags, vocab.size, seed),
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
    const { reason, path, pathReason } = next.value;
    const stopped = reason === 'aborted' ? 'interrupted' : reason;
    await write(
      io.stdout,
      `${JSON.stringify({ seed, prefix: start, text, tokens: generated, stopped, path, pathReason })}\n`,
    );
  }
  const { unknownTokens, path, pathReason } = next.value;
  return { tokens: generated.length, unknownTokens, where: { path, pathReason } };
}

/** The sampling flags as generation options: a top-k past the vocabulary is the whole vocabulary. */
function sampling(flags: GenerateFlags, vocabSize: number, seed: number) {
  return {
    temperature: flags.temperature,
    ...(flags.topK > 0 ? { topK: Math.min(flags.topK, vocabSize) } : {}),
    ...(flags.topP < 1 ? { topP: flags.topP } : {}),
    seed,
  };
}

/** Tokens joined as the corpus was read: characters together, words with spaces. */
function joined(token: 'char' | 'word', tokens: readonly string[]): string {
  return tokens.join(token === 'char' ? '' : ' ');
}

/**
 * --num-samples N: generates the N samples together (batched on the kernels' token step where the
 * model allows it), then prints each as a single run would, with a line naming it (or one JSON object
 * each). A signal stops all of them between two steps; what they have so far is printed.
 */
async function batchedSamples(
  flags: GenerateFlags,
  { io }: Pick<Context, 'io'>,
  { model, vocab, meta }: Awaited<ReturnType<typeof loadModel>>,
  prefix: string,
  seed: number,
  signal: AbortSignal,
): Promise<{ tokens: number; unknownTokens: string[]; where: GenerationWhere }> {
  const token = meta.corpus.token;
  const count = flags.numSamples;
  const options = { token, ...sampling(flags, vocab.size, seed) };
  // Where tensors are read only with `await` (webgpu in Node), the samples run side by side instead.
  const steps =
    synchronousReadsUnavailable() === null
      ? generateBatchTokens(model, vocab, prefix, flags.length, count, options)
      : sideBySide(model, vocab, prefix, flags.length, count, options);
  const samples: string[][] = Array.from({ length: count }, () => []);
  let next = await steps.next();
  let yielded = Date.now();
  for (; !next.done && !signal.aborted; next = await steps.next()) {
    for (const [i, t] of next.value.entries()) samples[i]!.push(t);
    // Lets a signal in now and then.
    if (Date.now() - yielded > 50) {
      await new Promise((resolve) => setImmediate(resolve));
      yielded = Date.now();
    }
  }
  if (!next.done) await steps.return(undefined as never);
  // A run stopped early has no end to say where it ran: the choice the generators make ('auto') says it.
  const where: GenerationWhere = next.done
    ? { path: next.value.path, pathReason: next.value.pathReason }
    : generationPath(model);
  const start =
    token === 'char'
      ? prefix
      : joined(
          token,
          prefix.split(/\s+/).filter((t) => t !== ''),
        );
  for (const [i, tokens] of samples.entries()) {
    const text = joined(token, [start, ...tokens]);
    if (flags.json) {
      const stopped = next.done ? 'length' : 'interrupted';
      const line = { seed: seed + i, prefix: start, text, tokens, stopped, ...where };
      await write(io.stdout, `${JSON.stringify(line)}\n`);
    } else {
      await write(
        io.stdout,
        `${i > 0 ? '\n' : ''}--- sample ${i + 1} of ${count} (seed ${seed + i}) ---\n${text}\n`,
      );
    }
  }
  const { unknownTokens } = readPrefix(vocab, prefix, token);
  return { tokens: samples.reduce((n, s) => n + s.length, 0), unknownTokens, where };
}

/** Where generation ran its steps (the kernels' token step or tfjs), and why not on the kernels. */
interface GenerationWhere {
  path: 'kernels' | 'tfjs';
  pathReason: string | null;
}

/**
 * `count` single runs stepped together, sample i seeded with seed + i (the texts of
 * `generateBatchTokens`), each reading its logits with `await`.
 */
async function* sideBySide(
  model: LanguageModel,
  vocab: Vocab,
  prefix: string,
  length: number,
  count: number,
  options: GenerateOptions,
): AsyncGenerator<string[], GenerateEnd> {
  const seed = options.seed ?? 0;
  const runs = Array.from({ length: count }, (_, i) =>
    generateTokensAsync(model, vocab, prefix, length, { ...options, seed: seed + i }),
  );
  try {
    for (let t = 0; t < length; t++) {
      const tokens: string[] = [];
      for (const run of runs) tokens.push((await run.next()).value as string);
      yield tokens;
    }
    // Each run's end is the same; the first one's says where they ran.
    return (await runs[0]!.next()).value as GenerateEnd;
  } finally {
    for (const run of runs) await run.return(undefined as never);
  }
}

/** Writes and waits while the reader is behind, so that a slow pipe does not fill memory. */
async function write(stream: NodeJS.WritableStream & { isTTY?: boolean }, text: string): Promise<void> {
  if (!stream.write(forTerminal(stream, text))) await new Promise((resolve) => stream.once('drain', resolve));
}
