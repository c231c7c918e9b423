import { evaluatePerplexity } from '@rnnlm/train';
import type { Context, EvalFlags } from '../cli.js';
import { CliError, EXIT } from '../errors.js';
import { formatCount, formatPerplexity } from '../progress.js';
import { startBackend } from '../runtime.js';
import { encodeWith, loadModel, readCorpus } from './shared.js';

export async function evaluate(flags: EvalFlags, { io }: Context): Promise<void> {
  const backend = await startBackend(flags.backend, io, flags.threads);
  const loaded = await loadModel(flags.model);
  const { model, vocab, meta, settings } = loaded;
  loaded.dispose();
  try {
    const source = flags.corpus ?? meta.corpus.source;
    if (!source)
      throw new CliError(
        `${flags.model} does not say which corpus it was trained on: pass --corpus`,
        EXIT.usage,
      );
    const text = await readCorpus({
      source,
      token: meta.corpus.token,
      clean: meta.corpus.clean,
      maxTokens: null,
    });
    const maxTokens = flags.maxTokens ?? meta.corpus.maxTokens ?? 0;
    const ids = encodeWith(vocab, text, maxTokens || null);
    if (ids.length < 2)
      throw new CliError(
        `${source} has fewer than 2 ${meta.corpus.token} tokens: nothing to evaluate`,
        EXIT.input,
      );
    let unknown = 0;
    for (const id of ids) if (id === vocab.unk) unknown++;
    const perplexity = await evaluatePerplexity(model, ids, {
      batchSize: flags.batchSize,
      numSteps: flags.numSteps ?? settings?.numSteps ?? 35,
    });
    if (flags.json) {
      io.stdout.write(
        `${JSON.stringify({ model: flags.model, corpus: source, tokens: ids.length, unknown_tokens: unknown, perplexity, backend: backend.backend })}\n`,
      );
    } else {
      io.stdout.write(
        `perplexity ${formatPerplexity(perplexity)} on ${formatCount(ids.length)} ${meta.corpus.token} tokens of ${source}` +
          (unknown ? ` (${formatCount(unknown)} not in the model's vocabulary, read as <unk>)` : '') +
          '\n',
      );
    }
  } finally {
    model.dispose();
  }
}
