// The token step of a whole stack against the float64 equations (test-utils/reference.ts), one layer
// and one step at a time: every cell kind, two layers, sizes off the SIMD widths, a batch whose rows
// run both as tiles of 4 and one at a time, and the state carried over several steps; then the same
// model in a threaded runtime's memory, against its own instance, and what it holds there.
import { describe, expect, it } from 'vitest';
import {
  CELL_KINDS,
  type CellKind,
  gatesPerCell,
  StepModel,
  type StepModelWeights,
  startKernels,
  stopKernels,
} from './index.js';
import { maxDiff, startRuntimes, uniform } from './test-utils/helpers.js';
import { refForward } from './test-utils/reference.js';

function weights(cell: CellKind, H: number, V: number, L: number, seed: number): StepModelWeights {
  const r = uniform(seed);
  const G = gatesPerCell(cell) * H;
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => r(scale));
  return {
    cell,
    hidden: H,
    vocabSize: V,
    gateOrder: 'ifco',
    table: fill(V * G, 1),
    layers: Array.from({ length: L }, (_, l) => ({
      Wx: l === 0 ? null : fill(H * G, 0.5),
      W: fill(H * G, 0.5),
      b: fill(G, 0.3),
    })),
    head: { W: fill(H * V, 0.5), b: fill(V, 0.3) },
  };
}

/** One step of the stack in float64: logits [B, V] and the state after it (per layer h, then c). */
function refStep(
  w: StepModelWeights,
  ids: number[],
  state: Float64Array[],
): { logits: Float64Array; state: Float64Array[] } {
  const { cell, hidden: H, vocabSize: V } = w;
  const G = gatesPerCell(cell) * H;
  const B = ids.length;
  const perLayer = cell === 'lstm' ? 2 : 1;
  const next: Float64Array[] = [];
  let below: Float64Array = new Float64Array(0);
  for (const [l, layer] of w.layers.entries()) {
    const xProj = new Float64Array(B * G);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < G; j++) {
        let s = layer.b[j]!;
        if (l === 0) s += w.table[ids[b]! * G + j]!;
        else for (let k = 0; k < H; k++) s += below[b * H + k]! * layer.Wx![k * G + j]!;
        xProj[b * G + j] = s;
      }
    }
    const h0 = state[l * perLayer]!;
    const c0 = cell === 'lstm' ? state[l * perLayer + 1]! : new Float64Array(B * H);
    const out = refForward({
      cell,
      T: 1,
      B,
      H,
      reverse: false,
      order: [0, 1, 3, 2],
      xProj,
      h0,
      c0,
      W: Float64Array.from(layer.W),
    });
    next.push(out.h);
    if (cell === 'lstm') next.push(out.c);
    below = out.h;
  }
  const logits = new Float64Array(B * V);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < V; v++) {
      let s = w.head.b[v]!;
      for (let k = 0; k < H; k++) s += below[b * H + k]! * w.head.W[k * V + v]!;
      logits[b * V + v] = s;
    }
  }
  return { logits, state: next };
}

describe('StepModel', () => {
  for (const cell of CELL_KINDS) {
    it(`${cell}, 2 layers, batch 6: logits and state equal the float64 equations over 4 steps`, () => {
      // H = 10 (not a multiple of 4 or 8), V = 37 (panels of 4 and 1, an edge panel), batch 6 (4 + 2).
      const w = weights(cell, 10, 37, 2, 3);
      const B = 6;
      const model = StepModel.create(w, B);
      let state: Float64Array[] = Array.from(
        { length: 2 * (cell === 'lstm' ? 2 : 1) },
        () => new Float64Array(B * 10),
      );
      const r = uniform(11);
      for (let step = 0; step < 4; step++) {
        const ids = Array.from({ length: B }, () => Math.floor((r(1) + 1) * 18.4));
        const ref = refStep(w, ids, state);
        expect(maxDiff(model.step(ids), ref.logits)).toBeLessThan(2e-5);
        const got = model.state();
        for (const [i, s] of ref.state.entries()) expect(maxDiff(got[i]!, s)).toBeLessThan(2e-6);
        state = ref.state;
      }
    });

    it(`${cell}: one sequence alone, wide enough for the four-panel product, equals its row in a batch`, () => {
      const w = weights(cell, 40, 70, 1, 5);
      const single = StepModel.create(w, 1);
      const batch = StepModel.create(w, 5);
      const ids = [3, 69, 0, 12, 3];
      for (let step = 0; step < 3; step++) {
        const all = batch.step(ids).slice();
        const one = single.step([ids[4]!]);
        expect(maxDiff(one, all.subarray(4 * 70, 5 * 70))).toBeLessThan(1e-6);
      }
      single.reset();
      const fresh = StepModel.create(w, 1);
      expect(maxDiff(single.step([7]).slice(), fresh.step([7]))).toBe(0);
    });
  }

  it('refuses an id outside the vocabulary and a wrong number of ids, saying which', () => {
    const model = StepModel.create(weights('rnn', 4, 5, 1, 1), 2);
    expect(() => model.step([0, 5])).toThrow(/token id 5 is outside the vocabulary \[0, 5\)/);
    expect(() => model.step([0])).toThrow(/expected 2 ids, got 1/);
  });

  describe('on a threaded runtime', () => {
    const runtimes = startRuntimes();

    // H = 302: a step is work enough for both threads to share it (by columns, even the RNN's: 57k
    // multiply-adds a phase), and 302 is off every grouping: columns past the last group of 32 (LSTM
    // 1208, RNN 302, the GRU's z and r 604 within its 906), units past the last 4; V = 37 likewise.
    for (const cell of CELL_KINDS) {
      for (const B of [1, 2, 3, 4, 9]) {
        const how = B > 4 ? 'rows' : 'columns';
        it(`${cell}, 2 layers, batch ${B} (by ${how}): the threads' logits and states are the own instance's, bit for bit`, () => {
          // Batch 9: groups of 4, 4 and 1, so both threads take rows and one takes an edge group.
          const w = weights(cell, 302, 37, 2, 7);
          const own = StepModel.create(w, B, { runtime: null });
          const shared = StepModel.create(w, B, { runtime: runtimes.threaded });
          expect(own.threads).toBe(1);
          expect(shared.threads).toBe(2);
          const r = uniform(13);
          for (let step = 0; step < 4; step++) {
            const ids = Array.from({ length: B }, () => Math.floor((r(1) + 1) * 18.4));
            expect(maxDiff(shared.step(ids), own.step(ids).slice())).toBe(0);
            for (const [i, s] of own.state().entries()) expect(maxDiff(shared.state()[i]!, s)).toBe(0);
          }
          // Operations in between reset the runtime's scratch memory, never the held weights and
          // state, and may grow it (16 MiB here).
          const a = runtimes.threaded.begin();
          a.allocFrom(new Float32Array(1 << 22).fill(7), 1 << 22);
          const five = new Array(B).fill(5);
          expect(maxDiff(shared.step(five), own.step(five).slice())).toBe(0);
          shared.dispose();
        });
      }
    }

    it('on a runtime of one thread too, whose memory (not shared) a later operation grows', () => {
      const w = weights('lstm', 12, 37, 1, 9);
      const own = StepModel.create(w, 6, { runtime: null });
      const onSingle = StepModel.create(w, 6, { runtime: runtimes.single });
      expect(onSingle.threads).toBe(1);
      const ids = [1, 2, 3, 4, 5, 6];
      expect(maxDiff(onSingle.step(ids), own.step(ids).slice())).toBe(0);
      const a = runtimes.single.begin();
      a.allocFrom(null, a.memory.buffer.byteLength / 2); // past the end: the memory grows
      expect(maxDiff(onSingle.step(ids), own.step(ids).slice())).toBe(0);
      onSingle.dispose();
    });

    it('holds one block of the runtime memory until disposed, and refuses steps after', () => {
      const rt = runtimes.threaded;
      const before = rt.arena.heldBlocks;
      const model = StepModel.create(weights('lstm', 8, 5, 2, 1), 8, { runtime: rt });
      expect(rt.arena.heldBlocks).toBe(before + 1);
      expect(rt.arena.heldBytes).toBeGreaterThanOrEqual(model.bytes);
      model.dispose();
      model.dispose();
      expect(rt.arena.heldBlocks).toBe(before);
      expect(() => model.step(new Array(8).fill(0))).toThrow(/disposed/);
    });
  });

  it('by default runs on the running runtime when it has threads, else on an instance of its own', async () => {
    const w = weights('gru', 8, 5, 1, 2);
    expect(StepModel.create(w, 8).threads).toBe(1); // no runtime running yet
    await startKernels({ threads: 2 });
    try {
      // A batch of 5 shares rows; a batch of 1 of a step this small would gain nothing from columns.
      expect(StepModel.create(w, 1).threads).toBe(1);
      const rows = StepModel.create(w, 5);
      expect(rows.threads).toBe(2);
      rows.dispose();
      const columns = StepModel.create(weights('lstm', 256, 28, 1, 2), 1);
      expect(columns.threads).toBe(2);
      columns.dispose();
    } finally {
      stopKernels();
    }
    await startKernels({ threads: 1 });
    try {
      expect(StepModel.create(w, 5).threads).toBe(1);
    } finally {
      stopKernels();
    }
  });
});
