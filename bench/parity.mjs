#!/usr/bin/env node
// Step-by-step parity with PyTorch: the same initial weights, the same minibatches and the same
// settings in rnnlm's Trainer and in the reference (torch.nn.LSTM and Linear, torch.optim.Adam), and
// the loss of every one of the first --steps updates in both.
//
//   node bench/parity.mjs [--steps 40] [--hidden 128] [--layers 2] [--init uniform] [--lr 0.002] ...
//
// rnnlm draws the model (its `--init` scheme, seed), the weights are written to a temporary folder
// with the minibatches its loader yields, and bench/torch_reference.py --parity DIR loads them into
// torch's layers (gates reordered, W transposed, the bias as b_ih with b_hh zero), trains on the same
// batches with the same schedule, clipping and Adam, and prints its losses. No dropout: both compute
// the same function, so the losses agree to float32 rounding, which grows slowly with the steps; a
// difference in the update rule (epsilon, bias correction, clipping, schedule, loss averaging) shows
// from the second step on. Prints one JSON object. Needs `pnpm build` and torch (see bench/README.md).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = (name, entry = 'index.js') => pathToFileURL(join(ROOT, 'packages', name, 'dist', entry)).href;
const REFERENCE = join(ROOT, 'bench', 'torch_reference.py');
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';

// RNNLM_PYTHON: the Python with torch, as for bench:quality.
const { env } = process;
const { values: o } = parseArgs({
  options: {
    steps: { type: 'string', default: '40' },
    hidden: { type: 'string', default: '128' },
    layers: { type: 'string', default: '2' },
    init: { type: 'string', default: 'uniform' },
    lr: { type: 'string', default: '0.002' },
    'lr-min': { type: 'string', default: '0.0001' },
    'warmup-steps': { type: 'string', default: '10' },
    'batch-size': { type: 'string', default: '32' },
    'num-steps': { type: 'string', default: '35' },
    'max-tokens': { type: 'string', default: '200000' },
    clip: { type: 'string', default: '1' },
    seed: { type: 'string', default: '0' },
    python: { type: 'string', default: env.RNNLM_PYTHON ?? '/usr/bin/python3' },
  },
});
const n = (name) => Number(o[name]);

// One tfjs-core for the packages and this script: the backend's.
const require = createRequire(join(ROOT, 'packages', 'backend', 'package.json'));
const tf = await import(pathToFileURL(require.resolve('@tensorflow/tfjs-core')).href);
await import(pathToFileURL(require.resolve('@tensorflow/tfjs-backend-cpu')).href);
await tf.setBackend('cpu');
const { buildCorpus } = await import(pkg('text'));
const { mobyDickText } = await import(pkg('text', 'node.js'));
const { SeqDataLoader } = await import(pkg('data'));
const { createModel, Trainer } = await import(pkg('train'));

const corpus = buildCorpus(mobyDickText(), { token: 'char', clean: 'letters' });
const ids = corpus.ids.subarray(0, n('max-tokens'));
const vocabSize = corpus.vocab.size;
const config = {
  impl: 'scratch',
  cell: 'lstm',
  vocabSize,
  hidden: n('hidden'),
  layers: n('layers'),
  bidirectional: false,
  ...(o.init === 'normal' ? {} : { init: o.init }),
};
const loaderOptions = {
  batchSize: n('batch-size'),
  numSteps: n('num-steps'),
  sampling: 'sequential',
  seed: n('seed'),
};
const model = createModel(config, { seed: n('seed') });
const dir = mkdtempSync(join(tmpdir(), 'rnnlm-parity-'));
try {
  // The weights before any update, by scratch name, and the batches the trainer's loader will yield.
  const weights = model.weightNames.map((name, i) => ({
    name,
    shape: model.variables[i].shape,
    values: Array.from(model.variables[i].dataSync()),
  }));
  const batches = [];
  for (const { X, Y } of new SeqDataLoader(ids, loaderOptions)) {
    if (batches.length === n('steps')) break;
    batches.push({ X: Array.from(X), Y: Array.from(Y) });
  }
  const loader = new SeqDataLoader(ids, loaderOptions);
  const settings = {
    hidden: n('hidden'),
    layers: n('layers'),
    vocab_size: vocabSize,
    batch_size: n('batch-size'),
    num_steps: n('num-steps'),
    lr: n('lr'),
    lr_min: n('lr-min'),
    warmup_steps: n('warmup-steps'),
    // The cosine's length, as the trainer counts it for one epoch.
    total_steps: loader.maxBatchesPerEpoch,
    clip: n('clip'),
  };
  writeFileSync(join(dir, 'parity.json'), JSON.stringify({ settings, weights, batches }));

  const trainer = new Trainer(model, loader, {
    optimizer: { name: 'adam', lr: n('lr') },
    clip: n('clip'),
    schedule: { name: 'cosine', warmupSteps: n('warmup-steps'), minLr: n('lr-min') },
  });
  const rnnlm = [];
  const controller = new AbortController();
  await trainer.fit({
    epochs: 1,
    signal: controller.signal,
    onBatchEnd: (e) => {
      rnnlm.push(e.loss);
      if (rnnlm.length === batches.length) controller.abort();
    },
  });
  trainer.dispose();
  model.dispose();

  const run = spawnSync(o.python, [REFERENCE, '--parity', dir, '--threads', '1'], {
    encoding: 'utf8',
    env: { ...process.env, LD_LIBRARY_PATH: OPENBLAS_DIR, OPENBLAS_NUM_THREADS: '1' },
  });
  if (run.status !== 0) throw new Error(`the reference failed: ${run.stderr.trim().split('\n').at(-1)}`);
  const torch = JSON.parse(run.stdout.trim().split('\n').at(-1));
  const round = (x) => Math.round(x * 1e6) / 1e6;
  const maxDiff = (losses) => round(Math.max(...rnnlm.map((loss, i) => Math.abs(loss - losses[i]))));
  // The mean loss of each tenth of the steps: the curves side by side.
  const tenths = (losses) =>
    Array.from({ length: Math.min(10, losses.length) }, (_, k) => {
      const part = losses.slice(
        Math.floor((k * losses.length) / 10),
        Math.floor(((k + 1) * losses.length) / 10),
      );
      return round(part.reduce((a, b) => a + b, 0) / part.length);
    });
  process.stdout.write(
    `${JSON.stringify({
      config,
      settings: { ...settings, steps: batches.length, seed: n('seed') },
      // rnnlm against torch with one bias (its b_hh held at zero): the same function and update rule.
      max_abs_diff_one_bias: maxDiff(torch.one_bias),
      // Against torch.nn.LSTM as it is: Adam also moves b_hh, so the summed bias moves twice as fast.
      max_abs_diff_two_biases: maxDiff(torch.two_biases),
      mean_loss_by_tenth: {
        rnnlm: tenths(rnnlm),
        torch_one_bias: tenths(torch.one_bias),
        torch_two_biases: tenths(torch.two_biases),
      },
      rnnlm: rnnlm.map(round),
      torch_one_bias: torch.one_bias.map(round),
      torch_two_biases: torch.two_biases.map(round),
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
