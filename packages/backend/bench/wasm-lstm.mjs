#!/usr/bin/env node
// Tokens per second of a small fused-gate LSTM language model training on the wasm backend, with only
// the missing kernel added (`stock`: the least that lets it train at all) and with every replacement
// of @rnnlm/backend (`rnnlm`). Each mode runs in its own process (kernel registration is global).
// Prints one JSON line per mode, then one with the speed-up. Needs `pnpm --filter @rnnlm/backend build`.
//
//   node packages/backend/bench/wasm-lstm.mjs [--hidden 256] [--batch 32] [--steps 35] [--vocab 28]
//        [--iterations 20] [--warmup 3] [--profile] [--mode stock|rnnlm]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    hidden: { type: 'string', default: '256' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '35' },
    vocab: { type: 'string', default: '28' },
    iterations: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    mode: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});

if (!args.mode) {
  const results = [];
  for (const mode of ['stock', 'rnnlm']) {
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--mode', mode],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    if (child.status !== 0) process.exit(child.status ?? 1);
    process.stdout.write(child.stdout);
    results.push(JSON.parse(child.stdout.trim().split('\n')[0]));
  }
  const [before, after] = results;
  console.log(JSON.stringify({ speedup: Number((after.tokens_per_s / before.tokens_per_s).toFixed(2)) }));
  process.exit(0);
}

const tf = await import('@tensorflow/tfjs-core');
const { registerWasmTrainingKernels } = await import('../dist/index.js');
await import('@tensorflow/tfjs-backend-wasm');

const H = Number(args.hidden);
const B = Number(args.batch);
const T = Number(args.steps);
const V = Number(args.vocab);
registerWasmTrainingKernels({ replaceSlowKernels: args.mode === 'rnnlm' });
if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');

// A seeded generator: the same weights and tokens in both modes.
let seed = 12345;
const uniform = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
};
const normal = (shape, scale) =>
  tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (uniform() * 2 - 1) * scale),
    shape,
  );

// The d2l LSTM with its four gates fused (i, f, o, c), as @rnnlm/cells builds it.
const params = {
  W_x: tf.variable(normal([V, 4 * H], 0.01)),
  W_h: tf.variable(normal([H, 4 * H], 0.01)),
  b: tf.variable(tf.zeros([4 * H])),
  W_hq: tf.variable(normal([H, V], 0.01)),
  b_q: tf.variable(tf.zeros([V])),
};
const variables = Object.values(params);

function lossOf(X, Y, h0, c0) {
  const xs = tf.unstack(tf.add(tf.gather(params.W_x, tf.transpose(X)), params.b), 0);
  let h = h0;
  let c = c0;
  const outputs = [];
  for (const x of xs) {
    const [i, f, o, g] = tf.split(tf.add(x, tf.matMul(h, params.W_h)), 4, 1);
    c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
    h = tf.mul(tf.sigmoid(o), tf.tanh(c));
    outputs.push(h);
  }
  const logits = tf.add(tf.matMul(tf.concat(outputs, 0), params.W_hq), params.b_q);
  const labels = tf.oneHot(tf.reshape(tf.transpose(Y), [-1]), V);
  return { loss: tf.losses.softmaxCrossEntropy(labels, logits), h, c };
}

let h = tf.zeros([B, H]);
let c = tf.zeros([B, H]);
function trainStep() {
  const ids = Int32Array.from({ length: B * (T + 1) }, () => Math.floor(uniform() * V));
  const X = tf.tensor2d(
    ids.filter((_, k) => k % (T + 1) !== T),
    [B, T],
    'int32',
  );
  const Y = tf.tensor2d(
    ids.filter((_, k) => k % (T + 1) !== 0),
    [B, T],
    'int32',
  );
  let state;
  const { value, grads } = tf.variableGrads(() => {
    const out = lossOf(X, Y, h, c);
    state = [tf.keep(out.h), tf.keep(out.c)];
    return out.loss;
  }, variables);
  tf.tidy(() => {
    // Clip by the global norm (theta 1) and take an SGD step (lr 1), as the notebooks train.
    const gs = variables.map((v) => grads[v.name]);
    const norm = tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g)))));
    const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(1), norm));
    for (const v of variables) v.assign(tf.sub(v, tf.mul(grads[v.name], scale)));
  });
  tf.dispose([X, Y, h, c, grads]);
  [h, c] = state;
  const loss = value.dataSync()[0];
  value.dispose();
  return loss;
}

const iterations = Number(args.iterations);
for (let i = 0; i < Number(args.warmup); i++) trainStep();
const tensorsBefore = tf.memory().numTensors;
const start = performance.now();
let lastLoss = 0;
for (let i = 0; i < iterations; i++) lastLoss = trainStep();
const seconds = (performance.now() - start) / 1000;

const result = {
  mode: args.mode,
  backend: tf.getBackend(),
  model: 'lstm',
  hidden: H,
  batch_size: B,
  num_steps: T,
  vocab: V,
  iterations,
  tokens_per_s: Math.round((B * T * iterations) / seconds),
  ms_per_batch: Number(((seconds * 1000) / iterations).toFixed(1)),
  last_loss: Number(lastLoss.toFixed(4)),
  leaked_tensors: tf.memory().numTensors - tensorsBefore,
};
console.log(JSON.stringify(result));

if (args.profile) {
  const info = await tf.profile(() => {
    trainStep();
  });
  const byKernel = new Map();
  for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + k.kernelTimeMs);
  const top = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  console.log(
    JSON.stringify({
      mode: args.mode,
      kernel_ms: Object.fromEntries(top.map(([k, ms]) => [k, Number(ms.toFixed(1))])),
    }),
  );
}
