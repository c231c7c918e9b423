// How the threads share a call's pieces (assembly/threads.ts's nextPiece): a thread done with its own
// pieces takes the other's last ones. Here the two threads' shares run one after the other on one
// instance, so what is taken is known: the first thread runs its own groups, then takes every group of
// the second's but its first; the second then finds only that one left. The results must equal one
// thread's, bit for bit, and each share noted for the balancing must be the part it actually ran.
import { describe, expect, it } from 'vitest';
import { kernelBinary } from './binary.js';
import { type JobArgs, type JobFunction, type KernelExports, positional } from './exports.js';
import { Arena } from './memory.js';
import { NO_TAKING_BYTE, SPLIT_TABLE_BYTES } from './pool.js';
import { randomValues, uniform } from './test-utils/helpers.js';

/** A bare instance with an arena after its split table, and a call of a job as thread tid of nt. */
function instance() {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(kernelBinary('simd')), {
    env: { memory },
  }).exports as unknown as KernelExports;
  const base = exports.heapBase();
  const arena = new Arena(memory, base + SPLIT_TABLE_BYTES);
  /** `floats` zeros, the first of them `values` where given. */
  const alloc = (floats: number, values?: ArrayLike<number>) => {
    const ptr = arena.allocFrom(null, floats);
    if (values) arena.f32(ptr, values.length).set(values);
    return ptr;
  };
  const call = <F extends JobFunction>(fn: F, args: JobArgs<F>, tid: number, nt: number) => {
    exports[fn](...positional(fn, args), tid, nt);
  };
  const read = (ptr: number, floats: number) => arena.f32(ptr, floats).slice();
  const allocInts = (values: ArrayLike<number>) => arena.allocInts(values);
  /** The shares the threads noted (f32 at heap base + 64 + 4 tid). */
  const shares = () => Array.from(new Float32Array(memory.buffer, base + 64, 2));
  /** Sets the flag that stops threads taking each other's pieces (what KernelRuntime.allowTaking sets). */
  const forbidTaking = () => {
    new Int32Array(memory.buffer, base + NO_TAKING_BYTE, 1)[0] = 1;
  };
  return { alloc, allocInts, call, read, shares, forbidTaking };
}

/** n copies of a stale value, for memory a kernel must overwrite. */
const stale = (n: number) => Array.from({ length: n }, () => 9);

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('pieces taken from another thread', () => {
  const T = 7;
  const B = 30; // 8 groups of rows, the last of 2
  const H = 12;

  /**
   * An RNN's forward pass of T steps and then its backward pass, each call's shares run as `order`
   * says ([tid, nt] each), on a fresh instance.
   */
  function rnn(order: [number, number][], taking = true) {
    const k = instance();
    if (!taking) k.forbidTaking();
    const rand = uniform(7);
    const slot = B * H;
    const values = (n: number, scale: number) => randomValues(rand, n, scale);
    const xp = k.alloc(T * slot, values(T * slot, 1));
    const hbuf = k.alloc((T + 1) * slot, values(slot, 1));
    const w = k.alloc(H * H, values(H * H, 0.5));
    const wp = k.alloc(Math.ceil(H / 8) * 8 * H);
    k.call(
      'packB',
      { src: w, rowStride: H * 4, colStride: 4, K: H, N: H, dst: wp, sched: k.alloc(64) },
      0,
      1,
    );
    const wtp = k.alloc(Math.ceil(H / 8) * 8 * H);
    k.call(
      'packB',
      { src: w, rowStride: 4, colStride: H * 4, K: H, N: H, dst: wtp, sched: k.alloc(64) },
      0,
      1,
    );
    const scratch = k.alloc(32 * 2);
    const scheduleFloats = (Math.ceil(B / 4) + 2) * 16;
    let sched = k.alloc(scheduleFloats);
    for (const [tid, nt] of order) {
      k.call(
        'rnnForward',
        { xp, ids: 0, wx: 0, bias: 0, hbuf, wp, T, B, H, reverse: false, scratch, sched },
        tid,
        nt,
      );
    }
    const states = k.read(hbuf, (T + 1) * slot);
    const forwardShares = k.shares();
    // Backward: the gradients of the outputs and of the final state in, those of the pre-activations
    // (over xp), of the outputs with the recurrence's added (dbuf) and of the initial state out.
    const dbuf = k.alloc(T * slot, values(T * slot, 1));
    const dhT = k.alloc(slot, values(slot, 1));
    const dh0 = k.alloc(slot);
    sched = k.alloc(scheduleFloats);
    for (const [tid, nt] of order) {
      k.call(
        'rnnBackward',
        { xp, hbuf, dbuf, dhT, wtp, dh0, T, B, H, reverse: false, scratch, sched },
        tid,
        nt,
      );
    }
    const grads = [k.read(xp, T * slot), k.read(dbuf, T * slot), k.read(dh0, slot)];
    return { states, grads, forwardShares, backwardShares: k.shares() };
  }

  it('a recurrence: every step of every row, as one thread computes them', () => {
    const one = rnn([[0, 1]]);
    const two = rnn([
      [0, 2],
      [1, 2],
    ]);
    expect(bits(two.states)).toEqual(bits(one.states));
    for (const [i, g] of two.grads.entries()) expect(bits(g), `gradient ${i}`).toEqual(bits(one.grads[i]!));
    // Groups 4..7 were the second thread's: the first took 7, 6 and 5 from their first step, both ways.
    for (const shares of [two.forwardShares, two.backwardShares]) {
      expect(shares[0]).toBeCloseTo(7 / 8, 6);
      expect(shares[1]).toBeCloseTo(1 / 8, 6);
    }
    // Mutation check: a schedule that ran nothing of the second share's would leave its rows' states
    // at zero.
    const firstOnly = rnn([[0, 2]]);
    expect(bits(firstOnly.states)).not.toEqual(bits(one.states));
  });

  it('takes nothing when told not to: each thread runs its own share', () => {
    const one = rnn([[0, 1]]);
    const two = rnn(
      [
        [0, 2],
        [1, 2],
      ],
      false,
    );
    expect(bits(two.states)).toEqual(bits(one.states));
    expect(two.forwardShares).toEqual([0.5, 0.5]);
    expect(two.backwardShares).toEqual([0.5, 0.5]);
  });

  /** [M x K] x [K x N] by gemm, passes of 256 over K, its shares run as `order` says. */
  function product(order: [number, number][], splitRows: boolean) {
    const k = instance();
    const rand = uniform(11);
    const [M, K, N] = [37, 600, 45]; // 3 passes over K; 6 column panels, or 3 pieces of 16 rows
    const a = k.alloc(M * K, randomValues(rand, M * K));
    const b = k.alloc(K * N, randomValues(rand, K * N));
    const bp = k.alloc(Math.ceil(N / 8) * 8 * K);
    k.call('packB', { src: b, rowStride: N * 4, colStride: 4, K, N, dst: bp, sched: k.alloc(32 * 16) }, 0, 1);
    const c = k.alloc(M * N);
    const units = splitRows ? Math.ceil(M / 16) : Math.ceil(N / 8);
    const sched = k.alloc((units + 2) * 16);
    const args = { a, aGroup: K * 16, aRow: K * 4, aK: 4, bp, K, M, N, c, ldc: N, accumulate: false };
    for (const [tid, nt] of order) k.call('gemm', { ...args, splitRows, sched }, tid, nt);
    return { c: k.read(c, M * N), shares: k.shares() };
  }

  for (const splitRows of [false, true]) {
    it(`a product shared by ${splitRows ? 'rows' : 'column panels'}: every pass of every piece`, () => {
      const one = product([[0, 1]], splitRows);
      const two = product(
        [
          [0, 2],
          [1, 2],
        ],
        splitRows,
      );
      expect(bits(two.c)).toEqual(bits(one.c));
      // Panels 3..5 (or row pieces 1..2) were the second thread's; it kept only its first.
      const units = splitRows ? 3 : 6;
      expect(two.shares[0]).toBeCloseTo((units - 1) / units, 6);
      expect(two.shares[1]).toBeCloseTo(1 / units, 6);
    });
  }

  /**
   * dG [N, G]'s rows summed by id into dW_x [V, G] and by column into db by projectionGrad, in `parts`
   * parts of rows (1: by columns), its shares run as `order` says, then (parts > 1) the parts added
   * together unless `addParts` is false. Every accumulator starts with stale values, to be overwritten.
   */
  function rowSums(order: [number, number][], parts: number, addParts = true) {
    const k = instance();
    const rand = uniform(13);
    const [N, G, V] = [43, 22, 5];
    // Row n's id; id V - 1 never comes, so its row of dW_x must end as zeros.
    const idOf = (n: number) => (n * 3 + (n >> 2)) % (V - 1);
    const ids = k.allocInts(Array.from({ length: N }, (_, n) => idOf(n)));
    const values = randomValues(rand, N * G);
    const dg = k.alloc(N * G, values);
    const dwx = k.alloc(V * G, stale(V * G));
    const db = k.alloc(G, stale(G));
    const partFloats = Math.max(0, parts - 1) * (V + 1) * G;
    const partials = k.alloc(partFloats, stale(partFloats));
    const sched = k.alloc((parts + 2) * 16);
    for (const [tid, nt] of order) {
      k.call('projectionGrad', { ids, dg, G, N, V, dwx, db, parts, partials, sched }, tid, nt);
    }
    const shares = k.shares();
    if (parts > 1 && addParts) k.call('projectionPartsSum', { dwx, db, G, V, parts, partials }, 0, 1);
    const sums = new Float64Array((V + 1) * G);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < G; j++) {
        sums[idOf(n) * G + j]! += values[n * G + j]!;
        sums[V * G + j]! += values[n * G + j]!;
      }
    }
    return { got: [...k.read(dwx, V * G), ...k.read(db, G)], shares, sums, V, G };
  }
  const twoThreads: [number, number][] = [
    [0, 2],
    [1, 2],
  ];

  it('row sums by id in parts: every part, as one thread sums them', () => {
    const one = rowSums([[0, 1]], 4);
    const two = rowSums(twoThreads, 4);
    expect(bits(Float32Array.from(two.got))).toEqual(bits(Float32Array.from(one.got)));
    // Parts 2 and 3 were the second thread's: the first took 3.
    expect(two.shares).toEqual([0.75, 0.25]);
    // The sums themselves, against float64 ones: the id that never came has a row of zeros.
    const { V, G } = one;
    for (const [i, sum] of one.sums.entries()) expect(one.got[i]).toBeCloseTo(sum, 5);
    expect(one.got.slice((V - 1) * G, V * G).every((g) => g === 0)).toBe(true);
    // By columns, the same sums.
    const columns = rowSums(twoThreads, 1);
    for (const [i, sum] of one.sums.entries()) expect(columns.got[i]).toBeCloseTo(sum, 5);
    // Mutation check: without the parts added together, the sums are part 0's alone.
    const partZero = rowSums(twoThreads, 4, false);
    expect(Math.abs(partZero.got[V * G]! - one.sums[V * G]!)).toBeGreaterThan(1e-3);
  });

  /** B [K x N] (row-major, or read transposed from [N x K]) packed by packB, its shares run as `order` says. */
  function packed(order: [number, number][], transposed: boolean) {
    const k = instance();
    const rand = uniform(17);
    const [K, N] = [200, 45]; // 4 pieces of 64 rows (the last of 8); 6 panels, the last of 5 columns
    const b = k.alloc(K * N, randomValues(rand, K * N));
    const dst = k.alloc(Math.ceil(N / 8) * 8 * K, stale(Math.ceil(N / 8) * 8 * K));
    const sched = k.alloc((Math.max(Math.ceil(K / 64), Math.ceil(N / 8)) + 2) * 16);
    const [rowStride, colStride] = transposed ? [4, K * 4] : [N * 4, 4];
    for (const [tid, nt] of order)
      k.call('packB', { src: b, rowStride, colStride, K, N, dst, sched }, tid, nt);
    return { panels: k.read(dst, Math.ceil(N / 8) * 8 * K), b: k.read(b, K * N), shares: k.shares(), K, N };
  }

  for (const transposed of [false, true]) {
    it(`packing ${transposed ? 'a transposed B, by panels' : 'a row-major B, by pieces of rows'}: every piece`, () => {
      const one = packed([[0, 1]], transposed);
      const two = packed(twoThreads, transposed);
      expect(bits(two.panels)).toEqual(bits(one.panels));
      // The second thread's pieces (rows 128..199, or panels 3..5) but its first were taken.
      const units = transposed ? 6 : 4;
      expect(two.shares[0]).toBeCloseTo((units - 1) / units, 6);
      expect(two.shares[1]).toBeCloseTo(1 / units, 6);
      // The panels themselves: column j of row k at panel j/8, row k, place j%8; zero past column N.
      const { K, N } = one;
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < Math.ceil(N / 8) * 8; j++) {
          const want = j < N ? (transposed ? one.b[j * K + k]! : one.b[k * N + j]!) : 0;
          if (two.panels[(j >> 3) * K * 8 + k * 8 + (j & 7)] !== want) {
            throw new Error(
              `row ${k}, column ${j}: ${two.panels[(j >> 3) * K * 8 + k * 8 + (j & 7)]}, not ${want}`,
            );
          }
        }
      }
    });
  }
});
