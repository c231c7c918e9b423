import { describe, expect, it } from 'vitest';
import { CELL_KINDS, type CellKind, gatesPerCell } from './cells.js';
import { Arena, KernelMemoryError } from './memory.js';
import { KernelRuntime } from './runtime.js';
import {
  type LayerInput,
  type OutputHead,
  type SequenceShape,
  sequenceBackward,
  sequenceForward,
} from './sequence.js';
import { startRuntimes, uniform } from './test-utils/helpers.js';

const runtimes = startRuntimes();

type InputKind = 'xProj' | 'ids' | 'dense';

/** Seeded inputs of one layer: its input as `kind` says, states, weights, a head when asked. */
function layerCase(cell: CellKind, kind: InputKind, withHead: boolean, reverse: boolean) {
  const [T, B, H, D, V] = [4, 5, 6, 7, 9];
  const G = gatesPerCell(cell) * H;
  const r = uniform(cell.length * 31 + kind.length * 7 + (withHead ? 3 : 0) + (reverse ? 1 : 0));
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => r(scale));
  const input: LayerInput =
    kind === 'xProj'
      ? { xProj: fill(T * B * G, 1) }
      : kind === 'ids'
        ? {
            ids: Int32Array.from({ length: T * B }, (_, i) => (i * 5) % D),
            inputSize: D,
            Wx: fill(D * G, 0.5),
            b: fill(G, 0.5),
          }
        : { x: fill(T * B * D, 1), inputSize: D, Wx: fill(D * G, 0.5), b: fill(G, 0.5) };
  const head: OutputHead | undefined = withHead ? { W: fill(H * V, 0.5), b: fill(V, 0.5), V } : undefined;
  const shape: SequenceShape = { cell, T, B, H, reverse };
  const forward = {
    input,
    ...(head ? { head } : {}),
    h0: fill(B * H, 0.5),
    c0: fill(B * H, 0.5),
    W: fill(H * G, 0.4),
  };
  const grads = {
    dOutputs: head ? null : fill(T * B * H, 1),
    ...(head ? { dLogits: fill(T * B * V, 1) } : {}),
    dh: fill(B * H, 1),
    dc: cell === 'lstm' ? fill(B * H, 1) : null,
  };
  return { shape, forward, grads };
}

/** Every array of a result, copied out of kernel memory, by name. */
function copies(result: object): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, value] of Object.entries(result)) {
    if (value instanceof Float32Array) out[name] = Array.from(value);
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) out[`${name}${i}`] = Array.from(v as Float32Array);
    }
  }
  return out;
}

describe('activations held in kernel memory between the forward and the backward pass', () => {
  const cases: Array<[CellKind, InputKind, boolean, boolean]> = [];
  for (const cell of CELL_KINDS)
    for (const kind of ['xProj', 'ids', 'dense'] as const)
      for (const head of kind === 'xProj' ? [false] : [false, true])
        for (const reverse of [false, true]) cases.push([cell, kind, head, reverse]);

  it.each(cases)(
    '%s, %s input, head %s, reverse %s: the same results as the copies, bit for bit',
    (cell, kind, head, reverse) => {
      for (const rt of [runtimes.single, runtimes.threaded]) {
        const { shape, forward, grads } = layerCase(cell, kind, head, reverse);
        // The copying path: the forward pass's outputs and saved values copied out and handed back.
        const plain = sequenceForward(rt, shape, forward);
        const plainForward = copies({ ...plain, held: undefined });
        const outputs = plain.outputs.slice();
        const saved = plain.saved.map((s) => s.slice());
        const want = copies(sequenceBackward(rt, shape, { ...forward, ...grads, outputs, saved }));

        const before = rt.arena.heldBytes;
        const f = sequenceForward(rt, shape, forward, { hold: true });
        expect(copies({ ...f, held: undefined })).toEqual(plainForward);
        const held = f.held!;
        expect(rt.arena.heldBytes).toBe(before + held.bytes);
        // Other operations between the two passes (the loss, other layers) leave the held block alone.
        sequenceForward(rt, shape, layerCase(cell, kind, head, !reverse).forward);
        const got = copies(sequenceBackward(rt, shape, { ...forward, ...grads, held }));
        expect(got).toEqual(want);
        expect(Object.keys(got).length).toBeGreaterThan(2);
        expect(held.released).toBe(true);
        expect(rt.arena.heldBytes).toBe(before);
      }
    },
  );

  it('are refused when released, of other sizes or of another runtime, with a clear error', () => {
    const rt = runtimes.single;
    const { shape, forward, grads } = layerCase('lstm', 'ids', false, false);
    const held = sequenceForward(rt, shape, forward, { hold: true }).held!;
    const error = /held activations are of another runtime or other sizes, or already released/;
    expect(() => sequenceBackward(rt, { ...shape, T: 3 }, { ...forward, ...grads, held })).toThrow(error);
    expect(() => sequenceBackward(runtimes.threaded, shape, { ...forward, ...grads, held })).toThrow(error);
    held.release();
    expect(() => sequenceBackward(rt, shape, { ...forward, ...grads, held })).toThrow(error);
    expect(() => sequenceBackward(rt, shape, { ...forward, ...grads })).toThrow(
      /needs held activations, or the outputs and saved values/,
    );
    expect(rt.arena.heldBytes).toBe(0);
  });

  it('are released by a forward pass that throws after holding them', () => {
    const rt = runtimes.single;
    const { shape, forward } = layerCase('lstm', 'ids', true, false);
    const bad = { ...forward, input: { ...forward.input, ids: new Int32Array(20).fill(99) } };
    expect(() => sequenceForward(rt, shape, bad, { hold: true })).toThrow(
      /token id 99 at position 0 is not in \[0, 7\)/,
    );
    expect(rt.arena.heldBytes).toBe(0);
    expect(rt.arena.heldBlocks).toBe(0);
  });

  it('are released by a backward pass that throws', () => {
    const rt = runtimes.single;
    const { shape, forward, grads } = layerCase('gru', 'xProj', false, false);
    const held = sequenceForward(rt, shape, forward, { hold: true }).held!;
    expect(() =>
      sequenceBackward(rt, shape, { ...forward, ...grads, dh: new Float32Array(3), held }),
    ).toThrow(/expected 30 values, got 3/);
    expect(held.released).toBe(true);
    expect(rt.arena.heldBytes).toBe(0);
  });
});

describe('held blocks of the arena', () => {
  const arena = () => new Arena(new WebAssembly.Memory({ initial: 1 }), 64);

  it('outlive resets, and the scratch space starts after them', () => {
    const a = arena();
    const p = a.hold(100);
    a.f32(p, 100).fill(7);
    a.reset();
    const q = a.alloc(100);
    expect(q).toBeGreaterThanOrEqual(p + 400);
    a.f32(q, 100).fill(1);
    expect(a.f32(p, 100).every((v) => v === 7)).toBe(true);
    expect(a.heldBytes).toBe(448); // 400 bytes, rounded up to a cache line
    a.release(p);
    a.reset();
    expect(a.alloc(1)).toBe(64);
    expect(a.heldBytes).toBe(0);
    expect(() => a.release(p)).toThrow(/no held block at/);
  });

  it('take the first gap that fits, so memory stays bounded whatever order blocks are released in', () => {
    const a = arena();
    // Two sets alive at once, released oldest first: without reuse of gaps they would climb forever.
    let older = a.hold(1000);
    const peaks = [0, 0];
    for (let step = 0; step < 200; step++) {
      a.reset();
      a.alloc(5000); // an operation's scratch space
      const newer = a.hold(1000);
      a.release(older);
      older = newer;
      const phase = step < 20 ? 0 : 1;
      peaks[phase] = Math.max(peaks[phase]!, a.used);
    }
    // The first steps reach the highest point; later ones never go above it.
    expect(peaks[1]).toBeLessThanOrEqual(peaks[0]!);
    expect(peaks[0]).toBeLessThan(2 * 4 * (1000 + 5000) + 256);
    expect(a.memory.buffer.byteLength).toBe(65536);
    expect(a.heldBlocks).toBe(1);
  });

  it('say so with a KernelMemoryError when the memory cannot grow to a block', () => {
    const a = new Arena(new WebAssembly.Memory({ initial: 1, maximum: 1 }), 64);
    const p = a.hold(1000);
    expect(() => a.hold(20000)).toThrow(KernelMemoryError);
    expect(() => a.hold(20000)).toThrow(/could not grow WebAssembly memory to 1 MiB/);
    expect(a.heldBlocks).toBe(1);
    a.release(p);
    a.reset();
    expect(a.hold(15000)).toBe(64);
  });

  it('never place a block in the scratch space of the operation running', () => {
    const a = arena();
    const first = a.hold(16);
    const second = a.hold(16);
    a.release(first); // a gap of 64 bytes below `second`
    a.reset();
    const scratch = a.alloc(1000);
    const big = a.hold(100); // does not fit the gap: above the scratch space, not over it
    expect(big).toBeGreaterThanOrEqual(scratch + 4000);
    const small = a.hold(16); // fits the gap
    expect(small).toBe(first);
    for (const p of [second, big, small]) a.release(p);
    expect(a.heldBlocks).toBe(0);
  });
});

describe('a runtime', () => {
  it('keeps held blocks apart from its scratch space across operations', () => {
    const rt = KernelRuntime.createSync();
    const { shape, forward } = layerCase('rnn', 'dense', true, false);
    const held = [0, 1, 2].map(() => sequenceForward(rt, shape, forward, { hold: true }).held!);
    const bytes = held.reduce((s, h) => s + h.bytes, 0);
    expect(rt.arena.heldBytes).toBe(bytes);
    held[1]!.release();
    held[0]!.release();
    held[2]!.release();
    expect(rt.arena.heldBytes).toBe(0);
    expect(rt.arena.heldBlocks).toBe(0);
  });
});
