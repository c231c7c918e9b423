#!/usr/bin/env node
// What dropout costs a training step: the same model trained with and without dropout, in alternating
// blocks of batches (A/B in the same minutes), on random ids (the cost depends on the shape, not the
// text). Defaults are bench:quality's: a 2-layer LSTM of 512 units, batch 32 x 35 steps, Adam, clip 1,
// 28 characters. Prints one JSON line per run: the median over its batches of the process CPU time
// (every thread) and of the wall time a batch took, in ms, and the ratio of each to the run without
// dropout (medians: on a shared machine a few batches stall on other work).
//   node packages/train/bench/dropout.mjs [--hidden 512] [--layers 2] [--batches 2] [--rounds 10]
//     [--dropout 0.3] [--mode standard|variational] [--impl scratch|layers] [--threads N] [--backend wasm|cpu]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { startKernels } from '@rnnlm/kernels';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { assembleRun } from '../dist/index.js';
import { randomIds } from '../dist/training-speed.js';
import { alternateRuns, median } from './alternate.mjs';

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '512' },
    layers: { type: 'string', default: '2' },
    vocab: { type: 'string', default: '28' },
    batches: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '10' },
    dropout: { type: 'string', default: '0.3' },
    mode: { type: 'string', default: 'standard' },
    impl: { type: 'string', default: 'scratch' },
    threads: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const threads = Number(values.threads ?? Math.min(8, availableParallelism()));
if (!['wasm', 'cpu'].includes(values.backend) || !(await tf.setBackend(values.backend))) {
  console.error(`dropout bench: --backend must be wasm or cpu (it could not start ${values.backend})`);
  process.exit(1);
}
console.error((await startKernels({ threads })).message);
const batches = Number(values.batches);
const rounds = Number(values.rounds);
const batchSize = 32;
const numSteps = 35;
const vocabSize = Number(values.vocab);

const rates = [0, Number(values.dropout)];
const runs = rates.map((dropout) =>
  assembleRun({
    ids: randomIds((rounds + 1) * (batches + 1) * batchSize * numSteps + batchSize + 1, vocabSize),
    token: 'char',
    batchSize,
    numSteps,
    sampling: 'sequential',
    model: {
      impl: values.impl,
      cell: 'lstm',
      vocabSize,
      hidden: Number(values.hidden),
      layers: Number(values.layers),
      bidirectional: false,
      ...(dropout > 0 ? { dropout, dropoutMode: values.mode } : {}),
    },
    // A small rate: random ids teach nothing, and a larger one can blow up on them over many batches.
    optimizer: { name: 'adam', lr: 0.0001 },
    clip: 1,
  }),
);
const timings = await alternateRuns(runs, { batches, rounds });
const base = { cpu: median(timings[0].cpu), wall: median(timings[0].wall) };
for (const [i, t] of timings.entries()) {
  const cpu = median(t.cpu);
  const wall = median(t.wall);
  console.log(
    JSON.stringify({
      bench: 'dropout',
      backend: tf.getBackend(),
      impl: values.impl,
      dropout: rates[i],
      mode: rates[i] > 0 ? values.mode : null,
      cpu_ms_per_batch: Math.round(cpu * 10) / 10,
      wall_ms_per_batch: Math.round(wall * 10) / 10,
      cpu_ratio: Math.round((cpu / base.cpu) * 1000) / 1000,
      wall_ratio: Math.round((wall / base.wall) * 1000) / 1000,
      batches: t.cpu.length,
    }),
  );
}
for (const run of runs) run.dispose();
