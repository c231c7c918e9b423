#!/usr/bin/env node
// Generation speed of rnnlm beside the PyTorch reference, on the same model shapes.
//
//   pnpm bench:generate -- [--models lstm,gru,rnn] [--impls scratch,layers] [--layers 1,2] [--hidden 256]
//                          [--length 2000] [--num-samples 8] [--threads N] [--repeat N] [--python PATH]
//                          [--no-torch]
//
// For each cell, implementation and depth it measures rnnlm's generation (the default path: the kernels'
// token step) at batch 1 and with --num-samples sequences at once (the kernels started on --threads
// threads, default as the CLI: the machine's cores, at most 8, which share a batch of more than 4 by
// rows and a smaller one by columns where its step is work enough; one OpenBLAS thread is the
// reference's fastest here), then bench/torch_reference.py
// --generate on the same shape (<cell>-scratch for scratch, torch.nn <cell> for layers, eager, one
// OpenBLAS thread), the two alternating --repeat times (each one's fastest run kept: the machine may be
// shared). One JSON line per configuration with both sides in the reference's fields and the ratios; a
// table on stderr. Untrained weights: speed does not depend on their values. Needs `pnpm build` first.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { scriptArgs } from './script-args.mjs';

const { env: ENV } = process;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TRAIN = join(ROOT, 'packages', 'train');
const REFERENCE = join(ROOT, 'bench', 'torch_reference.py');
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
// The reference's vocabulary of the Time Machine's characters: <unk>, the 26 letters and the space.
const CHARS = Array.from('abcdefghijklmnopqrstuvwxyz ');
const TEMPERATURE = 0.8;
const WARMUP = 50;

const { values: flags } = parseArgs({
  args: scriptArgs(),
  options: {
    models: { type: 'string', default: 'lstm,gru,rnn' },
    impls: { type: 'string', default: 'scratch,layers' },
    layers: { type: 'string', default: '1,2' },
    hidden: { type: 'string', default: '256' },
    length: { type: 'string', default: '2000' },
    'num-samples': { type: 'string', default: '8' },
    threads: { type: 'string', default: String(Math.min(8, availableParallelism())) },
    repeat: { type: 'string', default: '1' },
    python: { type: 'string', default: ENV.RNNLM_PYTHON ?? '/usr/bin/python3' },
    'no-torch': { type: 'boolean', default: false },
  },
});
const list = (s) => s.split(',').filter((x) => x !== '');
const whole = (s, name) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${s}`);
  return n;
};
const hidden = whole(flags.hidden, 'hidden');
const length = whole(flags.length, 'length');
const numSamples = whole(flags['num-samples'], 'num-samples');
const repeat = whole(flags.repeat, 'repeat');
const threads = whole(flags.threads, 'threads');

// A benchmark owns its process: relaxed SIMD on (Node 20 has it behind a flag) before the kernels load,
// as the CLI does; RNNLM_KERNELS_SIMD=plain measures the plain build.
const { enableRelaxedSimdInNode } = await import(
  pathToFileURL(join(ROOT, 'packages', 'kernels', 'dist', 'relaxed-simd.js')).href
);
enableRelaxedSimdInNode();
const require = createRequire(join(TRAIN, 'package.json'));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);
const tf = await load('@tensorflow/tfjs-core');
await load('@tensorflow/tfjs-backend-cpu');
tf.env().set('PROD', true); // no "install tfjs-node" banner: the tfjs backend only serves the fallback
await tf.setBackend('cpu');
const train = await import(pathToFileURL(join(TRAIN, 'dist', 'index.js')).href);
const { Vocab } = await import(pathToFileURL(join(ROOT, 'packages', 'text', 'dist', 'index.js')).href);
const { kernelsStatus, startKernels } = await import(
  pathToFileURL(join(ROOT, 'packages', 'kernels', 'dist', 'index.js')).href
);
const kernels = await startKernels({ threads });
const vocab = new Vocab(CHARS);

const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/**
 * Tokens per second of every sequence together, the first WARMUP steps left out: on the wall clock, and
 * in this process's CPU time (steadier when other programs share the machine).
 */
function timeSteps(run, batch) {
  let start = 0;
  let cpuStart = 0;
  let steps = 0;
  for (const _ of run) {
    if (++steps === WARMUP) [start, cpuStart] = [performance.now(), cpuSeconds()];
  }
  const tokens = batch * (steps - WARMUP);
  return [tokens / ((performance.now() - start) / 1000), tokens / (cpuSeconds() - cpuStart)];
}

function ours(cell, impl, layers) {
  const model = train.createModel({
    impl,
    cell,
    vocabSize: vocab.size,
    hidden,
    layers,
    bidirectional: false,
  });
  const options = { token: 'char', temperature: TEMPERATURE, seed: 0 };
  const [single, singleCpu] = timeSteps(train.generateTokens(model, vocab, 't', WARMUP + length, options), 1);
  const [batched, batchedCpu] = timeSteps(
    train.generateBatchTokens(model, vocab, 't', WARMUP + length, numSamples, options),
    numSamples,
  );
  const path = train.generate(model, vocab, 't', 1, options);
  model.dispose();
  return {
    impl: 'rnnlm',
    backend:
      path.path === 'kernels'
        ? `kernels (WebAssembly SIMD, ${kernelsStatus().simd === 'relaxed' ? 'relaxed: fused multiply-add' : 'plain'}; ${kernels.threads} threads where they share the step)`
        : `tfjs ${tf.getBackend()}`,
    mode: 'generate',
    model: impl === 'scratch' ? `${cell}-scratch` : cell,
    layers,
    hidden,
    token: 'char',
    vocab_size: vocab.size,
    length,
    temperature: TEMPERATURE,
    num_samples: numSamples,
    tokens_per_s_batch1: Math.round(single * 10) / 10,
    tokens_per_s_batched: Math.round(batched * 10) / 10,
    cpu_tokens_per_s_batch1: Math.round(singleCpu * 10) / 10,
    cpu_tokens_per_s_batched: Math.round(batchedCpu * 10) / 10,
    threads: kernels.threads,
  };
}

function torch(cell, impl, layers) {
  const args = [
    REFERENCE,
    '--model',
    impl === 'scratch' ? `${cell}-scratch` : cell,
    '--layers',
    String(layers),
  ];
  args.push('--hidden', String(hidden), '--generate', String(length), '--num-samples', String(numSamples));
  args.push('--temperature', String(TEMPERATURE), '--threads', '1');
  const libraries = [OPENBLAS_DIR, ENV.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const env = { ...ENV, OPENBLAS_NUM_THREADS: '1', LD_LIBRARY_PATH: libraries };
  const out = spawnSync(flags.python, args, { env, encoding: 'utf8' });
  if (out.status !== 0) {
    process.stderr.write(
      `torch reference failed (${flags.python}): ${out.stderr.trim().split('\n').pop()}\n`,
    );
    return null;
  }
  return JSON.parse(out.stdout.trim().split('\n').pop());
}

const fastest = (a, b) =>
  !a
    ? b
    : {
        ...a,
        tokens_per_s_batch1: Math.max(a.tokens_per_s_batch1, b.tokens_per_s_batch1),
        tokens_per_s_batched: Math.max(a.tokens_per_s_batched, b.tokens_per_s_batched),
        cpu_tokens_per_s_batch1: Math.max(a.cpu_tokens_per_s_batch1, b.cpu_tokens_per_s_batch1),
        cpu_tokens_per_s_batched: Math.max(a.cpu_tokens_per_s_batched, b.cpu_tokens_per_s_batched),
      };
const ratio = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);

// One untimed pass first: the process's first few thousand steps run while V8 compiles (the kernels,
// the pool's and the samplers' JavaScript) on background threads, which on a 2-core machine take a
// core from the kernels' worker; measured, the first configuration's steps on 2 threads then ran at
// a third of their later speed for about 100 ms. Every configuration is then measured warm.
ours(list(flags.models)[0], list(flags.impls)[0], whole(list(flags.layers)[0], 'layers'));

const rows = [];
for (const cell of list(flags.models)) {
  for (const impl of list(flags.impls)) {
    for (const layers of list(flags.layers).map((l) => whole(l, 'layers'))) {
      let mine = null;
      let theirs = null;
      for (let r = 0; r < repeat; r++) {
        mine = fastest(mine, ours(cell, impl, layers));
        if (!flags['no-torch']) {
          const t = torch(cell, impl, layers);
          if (t) theirs = fastest(theirs, t);
        }
      }
      const row = {
        model: mine.model,
        layers,
        hidden,
        rnnlm: mine,
        torch: theirs,
        ratio_batch1: ratio(mine.tokens_per_s_batch1, theirs?.tokens_per_s_batch1),
        ratio_batched: ratio(mine.tokens_per_s_batched, theirs?.tokens_per_s_batched),
        cpu_ratio_batch1: ratio(mine.cpu_tokens_per_s_batch1, theirs?.cpu_tokens_per_s_batch1),
        cpu_ratio_batched: ratio(mine.cpu_tokens_per_s_batched, theirs?.cpu_tokens_per_s_batched),
        load_average: Math.round(loadavg()[0] * 100) / 100,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}

const header = [
  'model',
  'layers',
  'rnnlm b1',
  'torch b1',
  'ratio',
  'cpu ratio',
  `rnnlm b${numSamples}`,
  `torch b${numSamples}`,
  'ratio',
  'cpu ratio',
  'load',
];
const lines = [
  header,
  ...rows.map((r) => [
    r.model,
    r.layers,
    Math.round(r.rnnlm.tokens_per_s_batch1),
    r.torch ? Math.round(r.torch.tokens_per_s_batch1) : '-',
    r.ratio_batch1 ?? '-',
    r.cpu_ratio_batch1 ?? '-',
    Math.round(r.rnnlm.tokens_per_s_batched),
    r.torch ? Math.round(r.torch.tokens_per_s_batched) : '-',
    r.ratio_batched ?? '-',
    r.cpu_ratio_batched ?? '-',
    r.load_average,
  ]),
].map((cells) => cells.map(String));
const widths = header.map((_, i) => Math.max(...lines.map((c) => c[i].length)));
process.stderr.write(
  `generation, tokens/s on the wall clock; ratios also in CPU time (hidden ${hidden}, ${length} tokens, temperature ${TEMPERATURE}):\n${lines
    .map((c) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  '))
    .join('\n')}\n`,
);
