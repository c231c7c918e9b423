#!/usr/bin/env node
// Where a GRU or LSTM layer's time goes inside the kernels: each kernel call of a forward and backward
// pass (the recurrence forward, the recurrence backward, packing the gate gradients and the states,
// the weight gradient's product) timed alone, in the build asked for, the phases alternating rep by
// rep. The buffers each call overwrites are restored before it, untimed. Prints one JSON line per
// phase with its mean wall and CPU milliseconds and GFLOP/s of CPU time as kernels.mjs counts it
// (threads x flops / CPU time: spinning workers count). On a busy machine prefer --threads 1: with
// two, a worker that waits for a core is paid for by the caller spinning.
//   node packages/kernels/bench/phases.mjs [--cell lstm|gru] [--hidden 256] [--batch 32] [--steps 35]
//                                          [--threads 2] [--reps 20] [--simd relaxed|plain]
import { parseArgs } from 'node:util';
import { enableRelaxedSimdInNode } from '../dist/relaxed-simd.js';

enableRelaxedSimdInNode();
const { KernelRuntime, gatesPerCell } = await import('../dist/index.js');
// The packing sequence.ts does (this package's own module, not its public surface).
const { pack: packInto, runPackB } = await import('../dist/products.js');

const { values } = parseArgs({
  options: {
    cell: { type: 'string', default: 'lstm' },
    hidden: { type: 'string', default: '256' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '35' },
    threads: { type: 'string', default: '2' },
    reps: { type: 'string', default: '20' },
    simd: { type: 'string', default: 'relaxed' },
  },
});
const cell = values.cell;
if (cell !== 'lstm' && cell !== 'gru') throw new Error('--cell is lstm or gru');
const [H, B, T, threads, reps] = ['hidden', 'batch', 'steps', 'threads', 'reps'].map((k) =>
  Number(values[k]),
);
const G = gatesPerCell(cell) * H;
const rand = (n, scale) => Float32Array.from({ length: n }, () => (Math.random() - 0.5) * scale);

const rt = await KernelRuntime.create(threads, values.simd);
const a = rt.arena;
a.reset();
const slot = B * H;
const xg0 = rand(T * B * G, 2);
const xg = a.allocFrom(xg0, T * B * G);
const hbuf = a.allocFrom(rand((T + 1) * slot, 1), (T + 1) * slot);
const second = a.alloc((T + 1) * slot); // LSTM cbuf, GRU rh
a.write(second, rand((T + 1) * slot, 1), (T + 1) * slot);
const W = a.allocFrom(rand(H * G, 0.1), H * G);
const dOut0 = rand(T * slot, 1);
const dbuf = a.allocFrom(dOut0, T * slot);
const dhT = a.allocFrom(null, slot);
const dc = a.allocFrom(null, slot);
const dh0 = a.alloc(slot);
const drh = a.alloc(slot);
const dW = a.alloc(H * G);
const work = T * B * H * G;

const pack = (src, ld, K, N, transposed) => packInto(rt, src, ld, K, N, transposed);

// The packed weights, as sequence.ts makes them.
const lstmGates = { gi: 0, gf: 1, go: 2, gg: 3 };
const fwdW =
  cell === 'lstm'
    ? { wp: pack(W, G, H, G, false) }
    : { wzr: pack(W, G, H, 2 * H, false), whh: pack(W + 2 * H * 4, G, H, H, false) };
const bwdW =
  cell === 'lstm'
    ? { wtp: pack(W, G, G, H, true) }
    : { wzrT: pack(W, G, 2 * H, H, true), whhT: pack(W + 2 * H * 4, G, H, H, true) };
// The gate gradients' packed copies for the weight gradient.
const dPacked = a.alloc(rt.packedBytes(T * B, G) / 4);
let activations = null;
// The threads' schedule (assembly/threads.ts's nextPiece), zeroed before every call: enough lines for
// the batch's groups of rows and the product's column panels, and one a thread.
const scheduleFloats = (Math.max((B + 3) >> 2, Math.ceil(G / 8)) + rt.threads) * 16;
const scheduleAt = a.alloc(scheduleFloats);
const sched = () => {
  a.write(scheduleAt, null, scheduleFloats);
  return scheduleAt;
};

// The projected inputs are in xg already: no token ids to gather.
const projected = { ids: 0, wx: 0, bias: 0 };
const forward = () =>
  cell === 'lstm'
    ? rt.run(
        'lstmForward',
        {
          xg,
          ...projected,
          hbuf,
          cbuf: second,
          ...fwdW,
          T,
          B,
          H,
          reverse: false,
          ...lstmGates,
          sched: sched(),
        },
        work,
      )
    : rt.run(
        'gruForward',
        { xg, ...projected, hbuf, rh: second, ...fwdW, T, B, H, reverse: false, sched: sched() },
        work,
      );
const backward = () =>
  cell === 'lstm'
    ? rt.run(
        'lstmBackward',
        {
          xg,
          hbuf,
          cbuf: second,
          dbuf,
          dhT,
          dc,
          ...bwdW,
          dh0,
          T,
          B,
          H,
          reverse: false,
          ...lstmGates,
          sched: sched(),
        },
        2 * work,
      )
    : rt.run(
        'gruBackward',
        { xg, hbuf, dbuf, dhT, ...bwdW, drh, dh0, T, B, H, reverse: false, sched: sched() },
        2 * work,
      );
const N = T * B;
const packD = () =>
  runPackB(rt, { src: xg, rowStride: G * 4, colStride: 4, K: N, N: G, dst: dPacked }, N * G * 2);
// The weight gradient's product reads the states (X^T) in place, or their packed copy, which
// products.ts's weightGrad makes for 512 units or more: both timed.
const hPacked = a.alloc(((H + 3) >> 2) * 4 * N);
const packH = () => rt.run('packA', { src: hbuf, ld: H, K: N, M: H, dst: hPacked }, N * H * 2);
const gemmD = (states) => () =>
  rt.run(
    'gemm',
    {
      ...states,
      bp: dPacked,
      K: N,
      M: H,
      N: G,
      c: dW,
      ldc: G,
      accumulate: false,
      splitRows: false,
      sched: sched(),
    },
    N * H * G,
  );
const inPlace = { a: hbuf, aGroup: 16, aRow: 4, aK: H * 4 };
const packed = { a: hPacked, aGroup: N * 16, aRow: 4, aK: 16 };

const phases = [
  { name: 'forward', flops: 2 * work, before: () => a.write(xg, xg0, T * B * G), run: forward },
  {
    name: 'backward',
    flops: 2 * work,
    before: () => {
      if (activations === null) {
        a.write(xg, xg0, T * B * G);
        forward();
        activations = a.f32(xg, T * B * G).slice();
      }
      a.write(xg, activations, T * B * G);
      a.write(dbuf, dOut0, T * slot);
      a.write(dc, null, slot);
    },
    run: backward,
  },
  { name: 'packGateGrads', flops: 0, before: () => {}, run: packD },
  { name: 'packStates', flops: 0, before: () => {}, run: packH },
  { name: 'weightGradProduct', flops: 2 * work, before: () => {}, run: gemmD(inPlace) },
  { name: 'weightGradProductPacked', flops: 2 * work, before: () => {}, run: gemmD(packed) },
];

const wall = phases.map(() => 0);
const cpu = phases.map(() => 0);
for (let r = -3; r < reps; r++) {
  for (const [i, p] of phases.entries()) {
    p.before();
    // Wakes the workers, who sleep after 4 ms without work (the arena's reset frees nothing used here).
    rt.begin();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    p.run();
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    if (r >= 0) {
      wall[i] += t1 - t0;
      cpu[i] += (c1.user + c1.system) / 1000;
    }
  }
}
for (const [i, p] of phases.entries()) {
  const wallMs = wall[i] / reps;
  const cpuMs = cpu[i] / reps;
  console.log(
    JSON.stringify({
      cell,
      phase: p.name,
      simd: rt.simd,
      threads,
      hidden: H,
      batch: B,
      steps: T,
      ms: +wallMs.toFixed(3),
      cpu_ms: +cpuMs.toFixed(3),
      ...(p.flops ? { cpu_gflops: +((p.flops * threads) / cpuMs / 1e6).toFixed(1) } : {}),
    }),
  );
}
rt.dispose();
