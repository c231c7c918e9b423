#!/usr/bin/env node
// The notebooks' benchmark, outside CI: Time Machine, letters, chars, first 10,000 tokens, scratch
// LSTM with 256 hidden units, batch 32, 35 steps, SGD lr 1, clip 1, sequential partitioning, 500
// epochs. Prints one JSON line per reporting epoch and a final one with the sample from
// "time traveller". Usage (after `pnpm build`):
//   node packages/train/bench/d2l-timemachine.mjs [--corpus PATH] [--epochs N] [--backend wasm|cpu] [--cell lstm|gru|rnn]
import { parseArgs } from 'node:util';
import { selectBackend } from '@rnnlm/backend';
import { SeqDataLoader } from '@rnnlm/data';
import { loadCorpus } from '@rnnlm/text/node';
import { createModel, generate, Trainer } from '@rnnlm/train';

const { values } = parseArgs({
  options: {
    corpus: { type: 'string', default: 'timemachine' },
    epochs: { type: 'string', default: '500' },
    backend: { type: 'string', default: 'auto' },
    cell: { type: 'string', default: 'lstm' },
    hidden: { type: 'string', default: '256' },
    'print-every': { type: 'string', default: '25' },
  },
});
const selection = await selectBackend({ backend: values.backend });
console.error(selection.message);
const corpus = await loadCorpus({ source: values.corpus, token: 'char', clean: 'letters', maxTokens: 10000 });
const model = createModel(
  {
    impl: 'scratch',
    cell: values.cell,
    vocabSize: corpus.vocab.size,
    hidden: Number(values.hidden),
    layers: 1,
    bidirectional: false,
  },
  { seed: 0 },
);
const loader = new SeqDataLoader(corpus.ids, {
  batchSize: 32,
  numSteps: 35,
  sampling: 'sequential',
  seed: 0,
});
const trainer = new Trainer(model, loader, { optimizer: { name: 'sgd', lr: 1 }, clip: 1 });
const epochs = Number(values.epochs);
const every = Number(values['print-every']);
const history = {};
const started = performance.now();
let steadyTokens = 0;
let steadySeconds = 0;
await trainer.fit({
  epochs,
  onEpochEnd: (r) => {
    if (r.epoch > 1) {
      steadyTokens += r.tokens;
      steadySeconds += r.seconds;
    }
    if (r.epoch % every === 0 || r.epoch === epochs) {
      history[r.epoch] = Number(r.perplexity.toFixed(4));
      console.log(
        JSON.stringify({
          epoch: r.epoch,
          perplexity: r.perplexity,
          tokens_per_s: Math.round(r.tokensPerSecond),
        }),
      );
    }
  },
});
const last = trainer.history.at(-1);
console.log(
  JSON.stringify({
    impl: 'rnnlm',
    backend: selection.backend,
    model: `${values.cell}-scratch`,
    layers: 1,
    hidden: Number(values.hidden),
    token: 'char',
    vocab_size: corpus.vocab.size,
    corpus_tokens: corpus.ids.length,
    epochs,
    tokens_per_s: Math.round(steadyTokens / (steadySeconds || Number.NaN)),
    final_ppl: Number(last.perplexity.toFixed(4)),
    wall_s: Number(((performance.now() - started) / 1000).toFixed(1)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    sample: generate(model, corpus.vocab, 'time traveller', 50, { token: 'char' }).text,
    ppl_history: history,
  }),
);
