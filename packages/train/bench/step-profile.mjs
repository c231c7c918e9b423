#!/usr/bin/env node
// Where a training batch's time goes: the trainer's own steps (sequential batches, SGD, clip 1, as
// `rnnlm bench`) on random ids of 28 characters, timed by phase (the model's loss and gradients
// without the tape and then the norm, or with `--tape` forward and then loss + backward + norm through
// tfjs's tape; the update; between batches), by tfjs op (the outermost ops: with --tape the fused
// layer, its gradient, the loss)
// and by kernel call (each `KernelRuntime.run`, with a product's sizes M x K x N and (1t) when it
// ran on the calling thread alone). The timers wrap the runtime's `run` and the engine's
// `runKernel` for this process only, and cost a few microseconds a call. Prints one JSON line: the
// mean milliseconds a batch over the measured rounds (the first warms up), wall and process CPU time,
// and how much of the wall time no kernel call accounts for (tfjs, the glue, copies, waits between).
// That time is also given as `gaps`: each stretch between two timed events (a kernel call's start or
// end, an outermost op's start or end, the forward pass's start, the update's start and end, a batch's
// end) under the pair of events around it, the largest first, so that what tfjs and the glue cost shows
// where it is spent (the time inside an op before its first kernel call, between the forward op and the
// loss, between the last gradient and the norm). `waits`: for the calls that ran on the threads, each
// call's wall time less the mean of its threads' times in their shares (KernelRuntime.lastThreadMs),
// by kernel: what the threads waited for one another at a call's end, and the hand-off at its start;
// `--taking off` stops threads taking each other's pieces (KernelRuntime.allowTaking), to compare.
//   node packages/train/bench/step-profile.mjs [--model rnn-scratch] [--hidden 256] [--layers 1]
//     [--batches 30] [--rounds 3] [--threads 2] [--tape] [--taking on|off]
// On a shared machine give it a quiet moment: a worker thread that loses its core stalls every call.
import { enableRelaxedSimdInNode } from '@rnnlm/kernels/relaxed-simd';

// As the CLI does first thing: the kernels' fused multiply-add build on Node 20.
enableRelaxedSimdInNode();
const { parseArgs } = await import('node:util');
const { kernelRuntime, startKernels } = await import('@rnnlm/kernels');
await import('@tensorflow/tfjs-backend-wasm');
const tf = await import('@tensorflow/tfjs-core');
const { BATCH_SIZE, NUM_STEPS, benchRun } = await import('./bench-run.mjs');
const { randomIds } = await import('../dist/training-speed.js');

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'rnn-scratch' },
    hidden: { type: 'string', default: '256' },
    layers: { type: 'string', default: '1' },
    batches: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    tape: { type: 'boolean', default: false },
    taking: { type: 'string', default: 'on' },
  },
});
if (!(await tf.setBackend('wasm'))) {
  console.error('step profile: the wasm backend could not start');
  process.exit(1);
}
const status = await startKernels({ threads: Number(values.threads) });
console.error(status.message);
const vocabSize = 28;
const [batchSize, numSteps] = [BATCH_SIZE, NUM_STEPS];
const batches = Number(values.batches);
const rounds = Number(values.rounds);
const run = benchRun(
  randomIds((batches + 2) * batchSize * numSteps + batchSize + 1, vocabSize),
  vocabSize,
  values,
);
const { model, trainer } = run;
const now = () => performance.now();

let counting = false;
let phase = 'between batches';
let phaseStart = now();
const phases = {};
const ops = {};
const jobs = {};
const gaps = {};
let lastEvent = null;
let lastEventEnd = 0;
/** Ends the stretch since the last event at t (a start), or just moves the mark (an end, or the first). */
const event = (label, t, start = true) => {
  if (counting && start && lastEvent !== null) {
    const key = `${lastEvent} -> ${label}`;
    gaps[key] = (gaps[key] ?? 0) + (t - lastEventEnd);
  }
  lastEvent = label;
  lastEventEnd = t;
};
const enter = (next) => {
  const t = now();
  if (counting) phases[phase] = (phases[phase] ?? 0) + (t - phaseStart);
  phase = next;
  phaseStart = t;
  event(next, t);
};
const add = (table, key, ms) => {
  if (!counting) return;
  table[key] ??= { ms: 0, calls: 0 };
  const entry = table[key];
  entry.ms += ms;
  entry.calls++;
};
const rt = kernelRuntime();
rt.allowTaking(values.taking !== 'off');
const waits = {};
const run0 = rt.run.bind(rt);
rt.run = (fn, args, work) => {
  const t = now();
  const label = `${fn}${fn === 'gemm' ? `[${args.M}x${args.K}x${args.N}]` : ''}`;
  event(label, t);
  run0(fn, args, work);
  const end = now();
  add(jobs, `${phase}: ${label}${work < 1 << 18 || rt.threads === 1 ? ' (1t)' : ''}`, end - t);
  const threadMs = rt.lastThreadMs;
  if (threadMs) add(waits, fn, end - t - threadMs.reduce((sum, ms) => sum + ms, 0) / threadMs.length);
  event(label, end, false);
};
const engine = tf.engine();
const runKernel0 = engine.runKernel.bind(engine);
let depth = 0;
engine.runKernel = (name, inputs, attrs) => {
  const t = now();
  if (depth === 0) event(`op ${name}`, t);
  depth++;
  try {
    return runKernel0(name, inputs, attrs);
  } finally {
    depth--;
    if (depth === 0) {
      const end = now();
      add(ops, `${phase}: ${name}`, end - t);
      event(`op ${name} end`, end);
    }
  }
};
if (values.tape) {
  // The trainer then finds no lossAndGradients and takes tf.variableGrads.
  model.lossAndGradients = undefined;
} else if (model.lossAndGradients) {
  const direct0 = model.lossAndGradients.bind(model);
  model.lossAndGradients = (...args) => {
    enter('loss and gradients');
    const out = direct0(...args);
    enter(out ? 'norm' : 'loss and gradients fell back to the tape');
    return out;
  };
}
const forward0 = model.forward.bind(model);
model.forward = (...args) => {
  enter('forward');
  const out = forward0(...args);
  enter('loss, backward, norm');
  return out;
};
const apply0 = trainer.optimizer.apply.bind(trainer.optimizer);
trainer.optimizer.apply = (...args) => {
  enter('update');
  apply0(...args);
  enter('after the update');
  // The update's end as an event, so that its kernel call and the time after it are apart.
  event('update end', now(), false);
};

let wall = 0;
let cpu = 0;
let measured = 0;
for (let round = 0; round < rounds; round++) {
  counting = round > 0;
  const cpu0 = process.cpuUsage();
  const wall0 = now();
  await trainer.fit({ epochs: round + 1, onBatchEnd: () => enter('between batches') });
  if (counting) {
    const used = process.cpuUsage(cpu0);
    wall += now() - wall0;
    cpu += (used.user + used.system) / 1000;
    measured += trainer.history.at(-1).tokens / (batchSize * numSteps);
  }
}
const perBatch = (ms) => Math.round((ms / measured) * 1000) / 1000;
const table = (entries) =>
  Object.fromEntries(
    Object.entries(entries)
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([key, e]) => [key, { ms: perBatch(e.ms), calls: Math.round((e.calls / measured) * 10) / 10 }]),
  );
const jobMs = Object.values(jobs).reduce((sum, e) => sum + e.ms, 0);
const waitMs = Object.values(waits).reduce((sum, e) => sum + e.ms, 0);
console.log(
  JSON.stringify({
    bench: 'step-profile',
    model: values.model,
    path: values.tape ? 'tape' : 'direct',
    taking: values.taking !== 'off',
    hidden: Number(values.hidden),
    layers: Number(values.layers),
    threads: rt.threads,
    simd: rt.simd,
    batches: measured,
    wall_ms_per_batch: perBatch(wall),
    cpu_ms_per_batch: perBatch(cpu),
    kernel_calls_ms_per_batch: perBatch(jobMs),
    outside_kernel_calls_ms_per_batch: perBatch(wall - jobMs),
    waits_ms_per_batch: perBatch(waitMs),
    phases: Object.fromEntries(Object.entries(phases).map(([key, ms]) => [key, perBatch(ms)])),
    tfjs_ops: table(ops),
    kernel_calls: table(jobs),
    waits: table(waits),
    gaps: Object.fromEntries(
      Object.entries(gaps)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 16)
        .map(([key, ms]) => [key, perBatch(ms)]),
    ),
  }),
);
run.dispose();
process.exit(0);
