#!/usr/bin/env node
// What holding a layer's activations in kernel memory saves: the forward and backward pass of one
// layer (token ids in, the output head on top, as @rnnlm/cells runs a one-layer model) with the saved
// activations copied out to arrays and back in (the way before held activations), against held in
// kernel memory. The two alternate rep by rep on the same runtime, so a shared machine's slow spells
// hit both; timed in process CPU time (on more than one thread that counts the workers' waits too);
// prints one JSON line per cell with each one's median CPU milliseconds and their ratio.
//   node packages/kernels/bench/held.mjs [--hidden 256] [--batch 32] [--steps 35] [--reps 40] [--threads 1]
import { parseArgs } from 'node:util';
import { KernelRuntime, sequenceBackward, sequenceForward } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '256' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '35' },
    reps: { type: 'string', default: '40' },
    threads: { type: 'string', default: '1' },
  },
});
const [H, B, T, reps, threads] = ['hidden', 'batch', 'steps', 'reps', 'threads'].map((k) =>
  Number(values[k]),
);
const V = 28;
const rand = (n, scale) => Float32Array.from({ length: n }, () => (Math.random() - 0.5) * scale);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rt = threads === 1 ? KernelRuntime.createSync() : await KernelRuntime.create(threads);
for (const cell of ['rnn', 'gru', 'lstm']) {
  const G = (cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1) * H;
  const input = {
    ids: Int32Array.from({ length: T * B }, (_, i) => (i * 7) % V),
    inputSize: V,
    Wx: rand(V * G, 0.1),
    b: rand(G, 0.1),
  };
  const inputs = {
    input,
    head: { W: rand(H * V, 0.1), b: rand(V, 0.1), V },
    h0: rand(B * H, 1),
    c0: rand(B * H, 1),
    W: rand(H * G, 0.1),
  };
  const grads = { dOutputs: null, dLogits: rand(T * B * V, 1), dh: null, dc: null };
  const shape = { cell, T, B, H };
  // The copies' arrays, made once and reused (as @rnnlm/cells reused its buffers).
  const outputs = new Float32Array(T * B * H);
  const saved = cell === 'rnn' ? [] : [new Float32Array(T * B * G), new Float32Array(T * B * H)];
  const copying = () => {
    const f = sequenceForward(rt, shape, inputs);
    outputs.set(f.outputs);
    for (const [i, s] of f.saved.entries()) saved[i].set(s);
    sequenceBackward(rt, shape, { ...inputs, ...grads, outputs, saved });
  };
  const holding = () => {
    const { held } = sequenceForward(rt, shape, inputs, { hold: true });
    sequenceBackward(rt, shape, { ...inputs, ...grads, held });
  };
  const ms = { copying: [], holding: [] };
  for (let r = -3; r < reps; r++) {
    for (const [name, run] of r % 2 === 0
      ? [
          ['copying', copying],
          ['holding', holding],
        ]
      : [
          ['holding', holding],
          ['copying', copying],
        ]) {
      const c0 = process.cpuUsage();
      run();
      const c = process.cpuUsage(c0);
      if (r >= 0) ms[name].push((c.user + c.system) / 1000);
    }
  }
  const copyMs = median(ms.copying);
  const heldMs = median(ms.holding);
  console.log(
    JSON.stringify({
      kernel: cell,
      threads,
      hidden: H,
      batch: B,
      steps: T,
      copying_cpu_ms: +copyMs.toFixed(2),
      holding_cpu_ms: +heldMs.toFixed(2),
      holding_over_copying: +(heldMs / copyMs).toFixed(3),
    }),
  );
}
rt.dispose();
