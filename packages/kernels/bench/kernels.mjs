#!/usr/bin/env node
// Speed of the fused sequence kernels alone (forward + backward through time, weight gradient
// included) and of matMul, on 1 and 2 threads, in each build of the kernels asked for (relaxed SIMD's
// fused multiply-add, plain SIMD): the builds' repetitions alternate, so that a busy neighbour slows
// both alike. Prints one JSON line per case and build, with GFLOP/s of wall time and of CPU time.
// `--taking on,off` also runs each build with threads that never take each other's pieces of a call
// (KernelRuntime.allowTaking), alternating with those that do on the same runtime.
//   node packages/kernels/bench/kernels.mjs [--hidden 256] [--batch 32] [--steps 35] [--reps 20]
//                                           [--threads 1,2] [--simd relaxed,plain] [--taking on,off]
import { parseArgs } from 'node:util';
// A benchmark owns its process: relaxed SIMD on where Node 20 has it behind a flag, before any compiling.
import { enableRelaxedSimdInNode } from '../dist/relaxed-simd.js';

enableRelaxedSimdInNode();
const { KernelRuntime, matMul, sequenceBackward, sequenceForward } = await import('../dist/index.js');

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '256' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '35' },
    reps: { type: 'string', default: '20' },
    threads: { type: 'string', default: '1,2' },
    simd: { type: 'string', default: 'relaxed,plain' },
    taking: { type: 'string', default: 'on' },
  },
});
const H = Number(values.hidden);
const B = Number(values.batch);
const T = Number(values.steps);
const reps = Number(values.reps);
const flavours = values.simd.split(',');
const rand = (n, scale) => Float32Array.from({ length: n }, () => (Math.random() - 0.5) * scale);

/**
 * Runs `once` on each variant's runtime in turn (its taking set first), 3 + reps times, and returns
 * each one's mean wall and CPU ms.
 */
function alternate(variants, once, warmup = 3) {
  const wall = variants.map(() => 0);
  const cpu = variants.map(() => 0);
  for (let r = -warmup; r < reps; r++) {
    for (const [i, { rt, taking }] of variants.entries()) {
      rt.allowTaking(taking === 'on');
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      once(rt);
      const t1 = performance.now();
      const c1 = process.cpuUsage(c0);
      if (r >= 0) {
        wall[i] += t1 - t0;
        cpu[i] += (c1.user + c1.system) / 1000;
      }
    }
  }
  return variants.map((_, i) => ({ wallMs: wall[i] / reps, cpuMs: cpu[i] / reps }));
}

for (const threads of values.threads.split(',').map(Number)) {
  // A build's variants share its runtime (its workers).
  const runtimes = [];
  const variants = [];
  for (const simd of flavours) {
    const rt = await KernelRuntime.create(threads, simd);
    runtimes.push(rt);
    for (const taking of values.taking.split(',')) variants.push({ rt, taking });
  }
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
    const times = alternate(variants, (rt) => {
      const f = sequenceForward(rt, shape, inputs);
      outputs.set(f.outputs);
      for (const [i, s] of f.saved.entries()) saved[i].set(s);
      sequenceBackward(rt, shape, { ...inputs, outputs, saved, dOutputs, dh: null, dc: null });
    });
    const flops = 2 * T * B * H * G * 3; // forward, input gradient, weight gradient
    for (const [i, { wallMs, cpuMs }] of times.entries()) {
      console.log(
        JSON.stringify({
          kernel: cell,
          simd: variants[i].rt.simd,
          taking: variants[i].taking,
          threads,
          hidden: H,
          batch: B,
          steps: T,
          ms: +wallMs.toFixed(2),
          tokens_per_s: Math.round((T * B) / (wallMs / 1000)),
          gflops: +(flops / wallMs / 1e6).toFixed(1),
          cpu_gflops: +((flops * threads) / cpuMs / 1e6).toFixed(1),
        }),
      );
    }
  }
  for (const [M, K, N] of [
    [T * B, H, 28],
    [T * B, H, 4 * H],
    [T * B, H, 4580],
    [H, T * B, 4580],
  ]) {
    const a = rand(M * K, 1);
    const b = rand(K * N, 1);
    const times = alternate(variants, (rt) => matMul(rt, { a, b, M, N, K }), 2);
    for (const [i, { wallMs, cpuMs }] of times.entries()) {
      console.log(
        JSON.stringify({
          kernel: 'matMul',
          simd: variants[i].rt.simd,
          taking: variants[i].taking,
          threads,
          M,
          K,
          N,
          ms: +wallMs.toFixed(2),
          gflops: +((2 * M * N * K) / wallMs / 1e6).toFixed(1),
          // Per thread's worth of CPU time (spinning workers count too).
          cpu_gflops: +((2 * M * N * K * threads) / cpuMs / 1e6).toFixed(1),
        }),
      );
    }
  }
  for (const rt of runtimes) rt.dispose();
}
