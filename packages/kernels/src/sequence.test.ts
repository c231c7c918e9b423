import { describe, expect, it } from 'vitest';
import {
  CELL_KINDS,
  type CellKind,
  gatesPerCell,
  type SequenceForwardInputs,
  sequenceBackward,
  sequenceForward,
} from './index.js';
import type { KernelRuntime } from './runtime.js';
import { maxDiff, startRuntimes, uniform } from './test-utils/helpers.js';
import { numericGrads, type RefInputs, refForward } from './test-utils/reference.js';

const runtimes = startRuntimes();

function inputs(cell: CellKind, T: number, B: number, H: number, reverse: boolean, seed: number): RefInputs {
  const r = uniform(seed);
  const G = gatesPerCell(cell) * H;
  const fill = (n: number, scale: number) => Float64Array.from({ length: n }, () => r(scale));
  return {
    cell,
    T,
    B,
    H,
    reverse,
    xProj: fill(T * B * G, 1),
    h0: fill(B * H, 0.5),
    c0: fill(B * H, 0.5),
    W: fill(H * G, 0.4),
  };
}

describe('sequence kernels', () => {
  // Sizes off the SIMD widths (B not a multiple of 4, H not of 4 or 8) exercise every edge path.
  for (const cell of CELL_KINDS) {
    for (const reverse of [false, true]) {
      it(`${cell}${reverse ? ' reversed' : ''}: forward equals the float64 equations, gradients equal central differences`, () => {
        const p = inputs(cell, 3, 5, 6, reverse, 7);
        const ref = refForward(p);
        const shape = { cell, T: p.T, B: p.B, H: p.H, reverse };
        const fwd = sequenceForward(runtimes.single, shape, { ...p, input: { xProj: p.xProj } });
        expect(maxDiff(fwd.outputs, ref.outputs)).toBeLessThan(2e-6);
        expect(maxDiff(fwd.h, ref.h)).toBeLessThan(2e-6);
        if (cell === 'lstm') expect(maxDiff(fwd.c!, ref.c)).toBeLessThan(2e-6);

        const r = uniform(99);
        const g = {
          dOutputs: Float64Array.from({ length: p.T * p.B * p.H }, () => r(1)),
          dh: Float64Array.from({ length: p.B * p.H }, () => r(1)),
          dc: Float64Array.from({ length: p.B * p.H }, () => r(1)),
        };
        const saved = fwd.saved.map((s) => s.slice());
        const outputs = fwd.outputs.slice();
        const bwd = sequenceBackward(runtimes.single, shape, {
          ...p,
          input: { xProj: p.xProj },
          outputs,
          saved,
          dOutputs: g.dOutputs,
          dh: g.dh,
          dc: cell === 'lstm' ? g.dc : null,
        });
        const num = numericGrads(p, g);
        expect(maxDiff(bwd.dxProj!, num.dxProj)).toBeLessThan(1e-5);
        expect(maxDiff(bwd.dW, num.dW)).toBeLessThan(1e-5);
        expect(maxDiff(bwd.dh0, num.dh0)).toBeLessThan(1e-5);
        if (cell === 'lstm') expect(maxDiff(bwd.dc0!, num.dc0)).toBeLessThan(1e-5);
      });
    }
  }

  it("reads tfjs-layers' LSTM gate order (i, f, c~, o) as well as d2l's (i, f, o, c~)", () => {
    const p = {
      ...inputs('lstm', 4, 3, 5, false, 3),
      order: [0, 1, 3, 2] as [number, number, number, number],
    };
    const ref = refForward(p);
    const fwd = sequenceForward(
      runtimes.single,
      { cell: 'lstm', T: 4, B: 3, H: 5, gateOrder: 'ifco' },
      { ...p, input: { xProj: p.xProj } },
    );
    expect(maxDiff(fwd.outputs, ref.outputs)).toBeLessThan(2e-6);
  });

  it('give the same results whatever the share of each thread (the threads are rebalanced by speed)', () => {
    const p = inputs('lstm', 5, 32, 24, false, 13);
    const shape = { cell: 'lstm' as const, T: 5, B: 32, H: 24 };
    const run = (rt: KernelRuntime) => {
      const f = sequenceForward(rt, shape, { ...p, input: { xProj: p.xProj } });
      const fwd = { outputs: f.outputs.slice(), saved: f.saved.map((s) => s.slice()) };
      const dOutputs = Float32Array.from({ length: 5 * 32 * 24 }, (_, i) => Math.cos(i));
      const b = sequenceBackward(rt, shape, {
        ...p,
        input: { xProj: p.xProj },
        ...fwd,
        dOutputs,
        dh: null,
        dc: null,
      });
      return [fwd.outputs, b.dxProj!.slice(), b.dW.slice()];
    };
    const want = run(runtimes.single);
    // The boundary between the two threads' shares at the extremes the balancing allows.
    const table = new Float32Array(runtimes.threaded.arena.memory.buffer, runtimes.threaded.heapBase(), 32);
    try {
      for (const boundary of [0.25, 0.75]) {
        runtimes.threaded.fixShares([boundary]);
        const got = run(runtimes.threaded);
        for (const [i, g] of got.entries()) expect(maxDiff(g, want[i]!), `boundary ${boundary}`).toBe(0);
        // The shares the threads ran in the last call (a weight gradient's column panels): the whole,
        // whoever took what (pieces.test.ts).
        expect(table[16]! + table[17]!).toBeCloseTo(1, 6);
      }
    } finally {
      runtimes.threaded.fixShares(null);
    }
  });

  for (const cell of CELL_KINDS) {
    it(`${cell}: two threads give exactly the results of one, at training sizes`, () => {
      const p = inputs(cell, 6, 32, 40, false, 11);
      const shape = { cell, T: 6, B: 32, H: 40 };
      const run = (rt: KernelRuntime) => {
        const f = sequenceForward(rt, shape, { ...p, input: { xProj: p.xProj } });
        const fwd = { outputs: f.outputs.slice(), h: f.h.slice(), saved: f.saved.map((s) => s.slice()) };
        const dOutputs = Float32Array.from({ length: 6 * 32 * 40 }, (_, i) => Math.sin(i));
        const b = sequenceBackward(rt, shape, {
          ...p,
          input: { xProj: p.xProj },
          outputs: fwd.outputs,
          saved: fwd.saved,
          dOutputs,
          dh: null,
          dc: null,
        });
        return { ...fwd, dxProj: b.dxProj!.slice(), dW: b.dW.slice(), dh0: b.dh0.slice() };
      };
      const one = run(runtimes.single);
      const two = run(runtimes.threaded);
      expect(runtimes.threaded.threads).toBe(2);
      for (const key of ['outputs', 'h', 'dxProj', 'dW', 'dh0'] as const) {
        expect(maxDiff(one[key], two[key]), key).toBe(0);
      }
      expect(maxDiff(one.outputs, refForward(p).outputs)).toBeLessThan(5e-6);
    });

    it(`${cell}: token ids gathered step by step give exactly the rows projected first, on 1 and 2 threads`, () => {
      const [T, B, H, D] = [6, 32, 40, 11];
      const G = gatesPerCell(cell) * H;
      const r = uniform(3);
      const Wx = Float32Array.from({ length: D * G }, () => r(0.5));
      const b = Float32Array.from({ length: G }, () => r(0.5));
      const ids = Int32Array.from({ length: T * B }, (_, n) => (n * 7 + (n >> 3)) % D);
      // The rows the kernel adds up for each step: W_x[id] + b in float32.
      const xProj = Float32Array.from({ length: T * B * G }, (_, i) => {
        const [n, g] = [Math.floor(i / G), i % G];
        return Math.fround(Wx[ids[n]! * G + g]! + b[g]!);
      });
      for (const reverse of [false, true]) {
        const p = inputs(cell, T, B, H, reverse, 12);
        const shape = { cell, T, B, H, reverse };
        const base = { h0: p.h0, c0: p.c0, W: p.W };
        const run = (rt: KernelRuntime, input: SequenceForwardInputs['input']) => {
          const f = sequenceForward(rt, shape, { ...base, input });
          return [f.outputs, f.h, ...(f.c ? [f.c] : []), ...f.saved].map((v) => v.slice());
        };
        const want = run(runtimes.single, { xProj });
        for (const rt of [runtimes.single, runtimes.threaded]) {
          const got = run(rt, { ids, inputSize: D, Wx, b });
          for (const [i, v] of got.entries()) expect(maxDiff(v, want[i]!), `${reverse} ${i}`).toBe(0);
        }
      }
    });
  }
});

describe('the input projection inside the kernel', () => {
  // The projection's gradients follow from dxProj by the chain rule: written out here in plain loops
  // (dxProj itself is checked against central differences above).
  for (const cell of CELL_KINDS) {
    for (const kind of ['ids', 'dense'] as const) {
      it(`${cell}, ${kind} input: forward and gradients equal projecting first, for 1 and 2 threads`, () => {
        const [T, B, H, D] = [4, 6, 5, 7];
        const G = gatesPerCell(cell) * H;
        const N = T * B;
        const r = uniform(5);
        const Wx = Float32Array.from({ length: D * G }, () => r(0.5));
        const b = Float32Array.from({ length: G }, () => r(0.5));
        const ids = Int32Array.from({ length: N }, (_, n) => (n * 5 + 3) % D);
        const x = Float32Array.from({ length: N * D }, () => r(1));
        const xProj = new Float64Array(N * G);
        for (let n = 0; n < N; n++)
          for (let g = 0; g < G; g++) {
            let v = b[g]!;
            if (kind === 'ids') v += Wx[ids[n]! * G + g]!;
            else for (let d = 0; d < D; d++) v += x[n * D + d]! * Wx[d * G + g]!;
            xProj[n * G + g] = v;
          }
        const p = inputs(cell, T, B, H, false, 9);
        const base = { h0: p.h0, c0: p.c0, W: p.W };
        const input = kind === 'ids' ? { ids, inputSize: D, Wx, b } : { x, inputSize: D, Wx, b };
        const shape = { cell, T, B, H };
        const dOutputs = Float32Array.from({ length: N * H }, () => r(1));
        const reference = (() => {
          const f = sequenceForward(runtimes.single, shape, { ...base, input: { xProj } });
          const fwd = { outputs: f.outputs.slice(), saved: f.saved.map((s) => s.slice()) };
          const g = sequenceBackward(runtimes.single, shape, {
            ...base,
            input: { xProj },
            ...fwd,
            dOutputs,
            dh: null,
            dc: null,
          });
          return { outputs: fwd.outputs, dxProj: g.dxProj!.slice(), dW: g.dW.slice() };
        })();
        for (const rt of [runtimes.single, runtimes.threaded]) {
          const f = sequenceForward(rt, shape, { ...base, input });
          expect(maxDiff(f.outputs, reference.outputs)).toBeLessThan(2e-6);
          const fwd = { outputs: f.outputs.slice(), saved: f.saved.map((s) => s.slice()) };
          const g = sequenceBackward(rt, shape, { ...base, input, ...fwd, dOutputs, dh: null, dc: null });
          expect(g.dxProj).toBeUndefined();
          expect(maxDiff(g.dW, reference.dW)).toBeLessThan(2e-6);
          const dWx = new Float64Array(D * G);
          const db = new Float64Array(G);
          const dx = new Float64Array(N * D);
          for (let n = 0; n < N; n++)
            for (let k = 0; k < G; k++) {
              const d = reference.dxProj[n * G + k]!;
              db[k]! += d;
              if (kind === 'ids') dWx[ids[n]! * G + k]! += d;
              else
                for (let j = 0; j < D; j++) {
                  dWx[j * G + k]! += x[n * D + j]! * d;
                  dx[n * D + j]! += d * Wx[j * G + k]!;
                }
            }
          expect(maxDiff(g.dWx!, dWx)).toBeLessThan(2e-6);
          expect(maxDiff(g.db!, db)).toBeLessThan(2e-6);
          if (kind === 'dense') expect(maxDiff(g.dx!, dx)).toBeLessThan(2e-6);
          else expect(g.dx).toBeUndefined();
        }
      });
    }
  }

  it('rejects token ids outside the input weight', () => {
    const shape = { cell: 'rnn' as const, T: 1, B: 2, H: 3 };
    const input = { ids: [0, 4], inputSize: 4, Wx: new Float32Array(12), b: new Float32Array(3) };
    expect(() =>
      sequenceForward(runtimes.single, shape, { input, h0: new Float32Array(6), W: new Float32Array(9) }),
    ).toThrow(/token id 4 at position 1 is not in \[0, 4\)/);
  });
});

describe('an output head inside the kernel', () => {
  for (const cell of CELL_KINDS) {
    it(`${cell}: logits and every gradient equal the head applied after the layer, for 1 and 2 threads`, () => {
      const [T, B, H, V] = [4, 6, 5, 11];
      const N = T * B;
      const r = uniform(21);
      const p = inputs(cell, T, B, H, false, 17);
      const base = { input: { xProj: p.xProj }, h0: p.h0, c0: p.c0, W: p.W };
      const Wq = Float32Array.from({ length: H * V }, () => r(0.7));
      const bq = Float32Array.from({ length: V }, () => r(0.7));
      const dLogits = Float32Array.from({ length: N * V }, () => r(1));
      const shape = { cell, T, B, H };
      // Without the head: the layer alone, then the head's algebra written out.
      const plain = sequenceForward(runtimes.single, shape, base);
      const outputs = plain.outputs.slice();
      const saved = plain.saved.map((x) => x.slice());
      const logits = new Float64Array(N * V);
      const dOutputs = new Float32Array(N * H);
      const dWq = new Float64Array(H * V);
      const dbq = new Float64Array(V);
      for (let n = 0; n < N; n++)
        for (let v = 0; v < V; v++) {
          let z = bq[v]!;
          for (let h = 0; h < H; h++) z += outputs[n * H + h]! * Wq[h * V + v]!;
          logits[n * V + v] = z;
          const d = dLogits[n * V + v]!;
          dbq[v]! += d;
          for (let h = 0; h < H; h++) {
            dOutputs[n * H + h]! += d * Wq[h * V + v]!;
            dWq[h * V + v]! += outputs[n * H + h]! * d;
          }
        }
      const want = sequenceBackward(runtimes.single, shape, {
        ...base,
        outputs,
        saved,
        dOutputs,
        dh: null,
        dc: null,
      });
      const wantGrads = { dxProj: want.dxProj!.slice(), dW: want.dW.slice(), dh0: want.dh0.slice() };
      const head = { W: Wq, b: bq, V };
      for (const rt of [runtimes.single, runtimes.threaded]) {
        const f = sequenceForward(rt, shape, { ...base, head });
        expect(maxDiff(f.logits!, logits)).toBeLessThan(1e-5);
        expect(maxDiff(f.outputs, outputs)).toBe(0);
        const g = sequenceBackward(rt, shape, {
          ...base,
          head,
          outputs,
          saved,
          dOutputs: null,
          dLogits,
          dh: null,
          dc: null,
        });
        expect(maxDiff(g.dWq!, dWq)).toBeLessThan(1e-5);
        expect(maxDiff(g.dbq!, dbq)).toBeLessThan(1e-5);
        expect(maxDiff(g.dxProj!, wantGrads.dxProj)).toBeLessThan(1e-5);
        expect(maxDiff(g.dW, wantGrads.dW)).toBeLessThan(1e-5);
        expect(maxDiff(g.dh0, wantGrads.dh0)).toBeLessThan(1e-5);
      }
    });
  }
});
