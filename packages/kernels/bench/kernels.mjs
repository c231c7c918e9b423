#!/usr/bin/env node
// Speed of the fused sequence kernels alone (forward + backward through time, weight gradient
// included) and of matMul, on 1 and 2 threads. Prints one JSON line per case.
//   node packages/kernels/bench/kernels.mjs [--hidden 256] [--batch 32] [--steps 35] [--reps 20]
import { parseArgs } from 'node:util';
import { KernelRuntime, matMul, sequenceBackward, sequenceForward } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '256' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '35' },
    reps: { type: 'string', default: '20' },
    threads: { type: 'string', default: '1,2' },
  },
});
const H = Number(values.hidden);
const B = Number(values.batch);
const T = Number(values.steps);
const reps = Number(values.reps);
const rand = (n, scale) => Float32Array.from({ length: n }, () => (Math.random() - 0.5) * scale);

for (const threads of values.threads.split(',').map(Number)) {
  const rt = threads === 1 ? KernelRuntime.createSync() : await KernelRuntime.create(threads);
  for (const cell of ['rnn', 'gru', 'lstm']) {
    const G = (cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1) * H;
    // The layer's input as token ids (vocabulary 28), projected in the kernel, as @rnnlm/cells runs layer 0.
    const V = 28;
    const input = {
      ids: Int32Array.from({ length: T * B }, (_, i) => (i * 7) % V),
      inputSize: V,
      Wx: rand(V * G, 0.1),
      b: rand(G, 0.1),
    };
    const inputs = { input, h0: rand(B * H, 1), c0: rand(B * H, 1), W: rand(H * G, 0.1) };
    const dOutputs = rand(T * B * H, 1);
    const shape = { cell, T, B, H };
    // Copies of what the backward pass takes back, into arrays made once (as @rnnlm/cells does).
    const outputs = new Float32Array(T * B * H);
    const saved = cell === 'rnn' ? [] : [new Float32Array(T * B * G), new Float32Array(T * B * H)];
    let fwdMs = 0;
    let bwdMs = 0;
    for (let r = -3; r < reps; r++) {
      const t0 = performance.now();
      const f = sequenceForward(rt, shape, inputs);
      outputs.set(f.outputs);
      for (const [i, s] of f.saved.entries()) saved[i].set(s);
      const t1 = performance.now();
      sequenceBackward(rt, shape, { ...inputs, outputs, saved, dOutputs, dh: null, dc: null });
      const t2 = performance.now();
      if (r >= 0) {
        fwdMs += t1 - t0;
        bwdMs += t2 - t1;
      }
    }
    const flops = 2 * T * B * H * G * 3; // forward, input gradient, weight gradient
    const ms = (fwdMs + bwdMs) / reps;
    console.log(
      JSON.stringify({
        kernel: cell,
        threads,
        hidden: H,
        batch: B,
        steps: T,
        forward_ms: +(fwdMs / reps).toFixed(2),
        backward_ms: +(bwdMs / reps).toFixed(2),
        tokens_per_s: Math.round((T * B) / (ms / 1000)),
        gflops: +(flops / ms / 1e6).toFixed(1),
      }),
    );
  }
  for (const [M, K, N] of [
    [T * B, H, 28],
    [T * B, H, 4580],
    [H, T * B, 4580],
  ]) {
    const a = rand(M * K, 1);
    const b = rand(K * N, 1);
    let ms = 0;
    for (let r = -2; r < reps; r++) {
      const t0 = performance.now();
      matMul(rt, { a, b, M, N, K });
      if (r >= 0) ms += performance.now() - t0;
    }
    console.log(
      JSON.stringify({
        kernel: 'matMul',
        threads,
        M,
        K,
        N,
        ms: +(ms / reps).toFixed(2),
        gflops: +((2 * M * N * K) / (ms / reps) / 1e6).toFixed(1),
      }),
    );
  }
  rt.dispose();
}
