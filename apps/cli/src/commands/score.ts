/** `rnnlm eval --text` / `--file`: how likely a saved model finds one text, token by token. */
import { readFile, stat } from 'node:fs/promises';
import { decodeText } from '@rnnlm/text/node';
import { scoreText, type TextScore } from '@rnnlm/train';
import { CliError, EXIT } from '../errors.js';
import type { Context, EvalFlags } from '../flags.js';
import { formatCount, formatPerplexity } from '../progress.js';
import type { LoadedModel } from './shared.js';

/** A file scored whole, with one JSON entry per token, is kept to a size that fits in memory. */
const MAX_FILE_BYTES = 64 * 2 ** 20;

export async function scoreOneText(
  flags: EvalFlags,
  { io }: Pick<Context, 'io'>,
  { model, vocab, meta }: LoadedModel,
  backend: string,
): Promise<void> {
  const source = flags.file ?? '--text';
  const text = flags.file !== undefined ? await readTextFile(flags.file) : flags.text!;
  const { token, clean } = meta.corpus;
  let score: TextScore;
  try {
    score = await scoreText(model, vocab, text, { token, clean });
  } catch (error) {
    const advice =
      clean === 'letters' ? " (the model's corpus was cleaned to letters: other characters are dropped)" : '';
    throw new CliError(`cannot score ${source}: ${(error as Error).message}${advice}`, EXIT.input, {
      cause: error,
    });
  }
  const count = score.tokens.length + 1;
  if (flags.json) {
    io.stdout.write(
      `${JSON.stringify({
        model: flags.model,
        source,
        token_mode: token,
        tokens: count,
        context: score.context,
        per_token: score.tokens.map((t) => ({ token: t.token, id: t.id, surprisal: t.surprisal })),
        surprisal_unit: 'bits',
        log_likelihood: score.logLikelihood,
        log_likelihood_unit: 'nats',
        cross_entropy: score.crossEntropy,
        bits_per_token: score.bitsPerToken,
        perplexity: score.perplexity,
        unknown_tokens: score.unknownCount,
        unknown: score.unknownTokens,
        backend,
      })}\n`,
    );
    return;
  }
  io.stdout.write(
    `perplexity ${formatPerplexity(score.perplexity)} on ${formatCount(count)} ${token} tokens of ${source} ` +
      `(log-likelihood ${score.logLikelihood.toFixed(2)} nats, ${score.bitsPerToken.toFixed(3)} bits per token; ` +
      'the first token is context only)' +
      (score.unknownCount
        ? `; ${formatCount(score.unknownCount)} not in the model's vocabulary, read as <unk>: ${score.unknownTokens
            .slice(0, 10)
            .map((t) => JSON.stringify(t))
            .join(', ')}${score.unknownTokens.length > 10 ? ', …' : ''}`
        : '') +
      '\n',
  );
}

async function readTextFile(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new CliError(`cannot read ${path}: no such file`, EXIT.input);
  if (!info.isFile()) throw new CliError(`cannot read ${path}: it is not a regular file`, EXIT.input);
  if (info.size > MAX_FILE_BYTES) {
    throw new CliError(
      `${path} holds ${formatCount(info.size)} bytes, more than the ${formatCount(MAX_FILE_BYTES)} --file scores at once: score a part of it, or use --corpus for a perplexity alone`,
      EXIT.input,
    );
  }
  const bytes = await readFile(path).catch((error: Error) => {
    throw new CliError(`cannot read ${path}: ${error.message}`, EXIT.input);
  });
  try {
    return decodeText(bytes, path);
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.input);
  }
}
