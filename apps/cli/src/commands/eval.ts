import { evaluatePerplexity } from '@rnnlm/train';
import { CliError, EXIT } from '../errors.js';
import type { Context, EvalFlags } from '../flags.js';
import { formatCount, formatPerplexity } from '../progress.js';
import { startBackend } from '../runtime.js';
import { scoreOneText } from './score.js';
import { encodeWith, loadModel, readCorpus } from './shared.js';

export async function evaluate(flags: EvalFlags, { io }: Context): Promise<void> {
  const backend = await startBackend(flags.backend, io, flags.threads);
  const loaded = await loadModel(flags.model);
  const { model, vocab, meta, settings } = loaded;
  loaded.dispose();
  try {
    if (flags.text !== undefined || flags.file !== undefined) {
      await scoreOneText(flags, { io }, loaded, backend.backend);
      return;
    }
    const source = flags.corpus ?? meta.corpus.source;
    if (!source)
      throw new CliError(
        `${flags.model} does not say which corpus it was trained on: pass --corpus`,
        EXIT.usage,
      );
    const maxTokens = flags.maxTokens ?? meta.corpus.maxTokens ?? 0;
    const text = await readCorpus({
      source,
      token: meta.corpus.token,
      clean: meta.corpus.clean,
      // The model's vocabulary reads the text, so only a pipe's read stops early (at --max-tokens).
      maxTokens: maxTokens || null,
    }).catch((error: unknown) => {
      // The reader's advice (--clean) is train's; eval reads text as the model was trained, or not at all.
      if (error instanceof CliError && /has no \w+ tokens after/.test(error.message)) {
        throw new CliError(
          `${source} has no ${meta.corpus.token} tokens after the model's '${meta.corpus.clean}' cleaning (it keeps only the letters A-Z): this model can score only text with letters`,
          EXIT.input,
        );
      }
      throw error;
    });
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
