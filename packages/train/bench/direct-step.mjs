#!/usr/bin/env node
// What the tape costs a training step: the same model trained through its `lossAndGradients` (the
// kernels back to back, no tape: @rnnlm/cells' fused/direct-step.ts) and through tf.variableGrads (the
// same model with that method hidden), in alternating blocks of batches (A/B in the same minutes), on
// random ids (28 characters by default; `--vocab` for a word-sized vocabulary), with the trainer's
// settings as `rnnlm bench` has them (sequential batches of 32 x 35, SGD, clip 1). Prints one JSON
// line per path: the median over its batches of the wall and process CPU time a batch took, in ms,
// and the ratio of each to the tape's (medians: on a shared machine a few batches stall on other work).
//   node packages/train/bench/direct-step.mjs [--model rnn-scratch] [--hidden 256] [--layers 1]
//     [--vocab 28] [--batches 5] [--rounds 20] [--threads N]
import { enableRelaxedSimdInNode } from '@rnnlm/kernels/relaxed-simd';

// As the CLI does first thing: the kernels' fused multiply-add build on Node 20.
enableRelaxedSimdInNode();
const { availableParallelism } = await import('node:os');
const { parseArgs } = await import('node:util');
const { startKernels } = await import('@rnnlm/kernels');
await import('@tensorflow/tfjs-backend-wasm');
const tf = await import('@tensorflow/tfjs-core');
const { BATCH_SIZE, NUM_STEPS, benchRun } = await import('./bench-run.mjs');
const { randomIds } = await import('../dist/training-speed.js');
const { alternateRuns, median } = await import('./alternate.mjs');

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'rnn-scratch' },
    hidden: { type: 'string', default: '256' },
    layers: { type: 'string', default: '1' },
    vocab: { type: 'string', default: '28' },
    batches: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '20' },
    threads: { type: 'string' },
  },
});
if (!(await tf.setBackend('wasm'))) {
  console.error('direct-step bench: the wasm backend could not start');
  process.exit(1);
}
console.error(
  (await startKernels({ threads: Number(values.threads ?? Math.min(8, availableParallelism())) })).message,
);
const vocabSize = Number(values.vocab);
const batches = Number(values.batches);
const rounds = Number(values.rounds);

const paths = ['direct', 'tape'];
const runs = paths.map((path) => {
  const run = benchRun(
    randomIds((rounds + 1) * (batches + 1) * BATCH_SIZE * NUM_STEPS + BATCH_SIZE + 1, vocabSize),
    vocabSize,
    values,
  );
  // The tape's run: the trainer finds no lossAndGradients and takes tf.variableGrads.
  if (path === 'tape') run.model.lossAndGradients = undefined;
  return run;
});
const timings = await alternateRuns(runs, { batches, rounds });
const tape = { cpu: median(timings[1].cpu), wall: median(timings[1].wall) };
for (const [i, t] of timings.entries()) {
  const cpu = median(t.cpu);
  const wall = median(t.wall);
  console.log(
    JSON.stringify({
      bench: 'direct-step',
      model: values.model,
      hidden: Number(values.hidden),
      layers: Number(values.layers),
      vocab: vocabSize,
      path: paths[i],
      wall_ms_per_batch: Math.round(wall * 100) / 100,
      cpu_ms_per_batch: Math.round(cpu * 100) / 100,
      wall_ratio: Math.round((wall / tape.wall) * 1000) / 1000,
      cpu_ratio: Math.round((cpu / tape.cpu) * 1000) / 1000,
      batches: t.cpu.length,
    }),
  );
}
for (const run of runs) run.dispose();
process.exit(0);
