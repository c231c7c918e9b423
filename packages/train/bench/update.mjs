#!/usr/bin/env node
// Speed of one training update outside the model (the gradients' global norm read back, the clip and
// the optimizer step): the fused WebAssembly update against the op-by-op path, in alternating blocks,
// with the variables of the default RNN (hidden 256, 28 characters), on tfjs's wasm (default) or cpu
// backend. Prints one JSON line per optimizer and path: process CPU time and wall time per update, in
// microseconds.
//   node packages/train/bench/update.mjs [--hidden 256] [--vocab 28] [--steps 200] [--rounds 5]
import { parseArgs } from 'node:util';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { clipByGlobalNorm, clipScale, globalNorm, Optimizer } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '256' },
    vocab: { type: 'string', default: '28' },
    steps: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const H = Number(values.hidden);
const V = Number(values.vocab);
const steps = Number(values.steps);
const rounds = Number(values.rounds);
if (!['wasm', 'cpu'].includes(values.backend) || !(await tf.setBackend(values.backend))) {
  console.error(`update bench: --backend must be wasm or cpu (it could not start ${values.backend})`);
  process.exit(1);
}

// The scratch RNN's variables: W_xh, W_hh, b_h, W_hq, b_q.
const shapes = [[V, H], [H, H], [H], [H, V], [V]];
const theta = 1;

/** One update as the trainer does it on each path; returns nothing, reads the norm back as it does. */
function update(optimizer, grads) {
  if (optimizer.path === 'ops') {
    const { grads: clipped, norm } = clipByGlobalNorm(grads, theta);
    norm.dataSync();
    optimizer.apply(clipped);
    tf.dispose([...clipped, norm]);
  } else {
    const norm = globalNorm(grads);
    const value = norm.dataSync()[0];
    norm.dispose();
    optimizer.apply(grads, clipScale(value, theta));
  }
}

for (const name of ['sgd', 'adam']) {
  const paths = ['auto', 'ops'];
  const setups = paths.map((path) => {
    // Seeds from 1: tfjs draws an unseeded value for seed 0.
    const variables = shapes.map((s, i) => tf.variable(tf.randomNormal(s, 0, 0.1, 'float32', i + 1)));
    return { path, variables, optimizer: new Optimizer({ name, lr: 0.01 }, variables, path) };
  });
  const grads = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 100 + i));
  const totals = new Map(paths.map((p) => [p, { cpu: 0, wall: 0, n: 0 }]));
  for (let round = 0; round <= rounds; round++) {
    for (const { path, optimizer } of setups) {
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      for (let s = 0; s < steps; s++) update(optimizer, grads);
      const cpu = process.cpuUsage(cpu0);
      const wall = performance.now() - wall0;
      if (round === 0) continue; // warm-up
      const t = totals.get(path);
      t.cpu += cpu.user + cpu.system;
      t.wall += wall * 1000;
      t.n += steps;
    }
  }
  for (const [path, t] of totals) {
    console.log(
      JSON.stringify({
        bench: 'update',
        backend: tf.getBackend(),
        optimizer: name,
        path,
        params: shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0),
        cpu_us_per_update: Math.round(t.cpu / t.n),
        wall_us_per_update: Math.round(t.wall / t.n),
        updates: t.n,
      }),
    );
  }
  for (const { optimizer, variables } of setups) {
    optimizer.dispose();
    tf.dispose(variables);
  }
  tf.dispose(grads);
}
