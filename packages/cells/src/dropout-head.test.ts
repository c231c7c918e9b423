// Dropout's masks as a function of (seed, site, row, column), and the fused top-layer-and-head op with
// the top layer's mask inside the kernel: against the same layer with the mask and head done by tfjs
// ops, forward and every gradient, on cpu and wasm; and against central finite differences.
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@rnnlm/backend';
import { type CellKind, maskBits } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { DropoutMasks, mixSeed } from './dropout.js';
import { type FusedLayerInput, fusedHeadLayer, fusedLayer, savedActivationSets } from './fused/index.js';

registerWasmTrainingKernels();

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** splitmix32's output for state `key + (index + 1) * golden`, in BigInt arithmetic (mod 2^32). */
function splitmix32Reference(key: number, index: number): number {
  const M = 0xffffffffn;
  let z = (BigInt(key) + BigInt(index + 1) * 0x9e3779b9n) & M;
  z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M;
  z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M;
  return Number(z ^ (z >> 16n));
}

describe('mask values', () => {
  it('are splitmix32 of the site key and the value number row * width + column', () => {
    const masks = new DropoutMasks(0.5, 'standard', 31);
    const [steps, batch, width] = [3, 2, 5];
    const values = masks.values(4, steps, batch, width);
    const key = mixSeed(31, 4);
    const keep = Math.fround(2);
    for (let row = 0; row < steps * batch; row++) {
      for (let col = 0; col < width; col++) {
        const i = row * width + col;
        expect(maskBits(key, i)).toBe(splitmix32Reference(key, i));
        expect(values[i]).toBe(splitmix32Reference(key, i) < 0.5 * 2 ** 32 ? 0 : keep);
      }
    }
    // Variational: a row per sequence, the same function of (row, column).
    const perSequence = new DropoutMasks(0.5, 'variational', 31).values(4, steps, batch, width);
    expect(Array.from(perSequence)).toEqual(Array.from(values.slice(0, batch * width)));
  });

  it('as tensors (drawn in the kernels, copied into the backend) equal their values, on cpu and wasm', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      expect(await tf.setBackend(backend)).toBe(true);
      for (const mode of ['standard', 'variational'] as const) {
        const masks = new DropoutMasks(0.3, mode, 5);
        const before = tf.memory().numTensors;
        const t = masks.tensor(3, 7, 5, 33);
        expect(t.shape).toEqual([mode === 'standard' ? 35 : 5, 33]);
        expect(Array.from(t.dataSync())).toEqual(Array.from(masks.values(3, 7, 5, 33)));
        t.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
    }
    await tf.setBackend('cpu');
  });

  it('drop neighbours independently: pairs along a row and down a column both dropped p² of the time', () => {
    const rate = 0.3;
    const [rows, width] = [400, 256];
    const values = new DropoutMasks(rate, 'standard', 8).values(1, rows, 1, width);
    let alongRow = 0;
    let downColumn = 0;
    const columnDrops = new Array<number>(width).fill(0);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < width; c++) {
        const dropped = values[r * width + c] === 0;
        if (dropped) columnDrops[c]!++;
        if (dropped && c + 1 < width && values[r * width + c + 1] === 0) alongRow++;
        if (dropped && r + 1 < rows && values[(r + 1) * width + c] === 0) downColumn++;
      }
    }
    // p² = 0.09 over about 102,000 pairs: standard deviation under 0.001; allow 4 of them.
    expect(Math.abs(alongRow / (rows * (width - 1)) - rate * rate)).toBeLessThan(0.004);
    expect(Math.abs(downColumn / ((rows - 1) * width) - rate * rate)).toBeLessThan(0.004);
    // Every column drops about p of its 400 values (sd 0.023): none is far off, none stuck.
    for (const drops of columnDrops) expect(Math.abs(drops / rows - rate)).toBeLessThan(0.12);
  });
});

const [T, B, H, D, V] = [4, 3, 5, 6, 7];

interface Case {
  cell: CellKind;
  input: 'ids' | 'dense';
  mode: 'standard' | 'variational';
}
const cases: Case[] = [];
for (const cell of ['lstm', 'gru', 'rnn'] as const)
  for (const input of ['ids', 'dense'] as const)
    for (const mode of ['standard', 'variational'] as const) cases.push({ cell, input, mode });

/** Seeded O(1) inputs of one top layer with its head; the gradient is taken of every float one. */
function layerInputs(cell: CellKind) {
  const G = (cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1) * H;
  const r = (shape: [number, number], seed: number, sd = 0.5) =>
    tf.randomNormal(shape, 0, sd, 'float32', seed) as tf.Tensor2D;
  const r1 = (size: number, seed: number) => tf.randomNormal([size], 0, 0.5, 'float32', seed) as tf.Tensor1D;
  return {
    x: r([T * B, D], 1, 1),
    Wx: r([D, G], 2),
    b: r1(G, 3),
    h0: r([B, H], 4),
    W: r([H, G], 5),
    Wq: r([H, V], 6),
    bq: r1(V, 7),
    ...(cell === 'lstm' ? { c0: r([B, H], 8) } : {}),
  };
}
const IDS = Array.from({ length: T * B }, (_, i) => (i * 5 + 2) % D);

/**
 * A loss over the logits and final states of the top layer with a masked head, fused in one op or
 * (`fusedHead` false) as the fused layer, then the mask and head in tfjs ops; its value and gradients.
 */
function lossAndGrads(c: Case, fusedHead: boolean) {
  const inputs = layerInputs(c.cell);
  const names = Object.keys(inputs).filter((n) => !(c.input === 'ids' && n === 'x'));
  const masks = new DropoutMasks(0.4, c.mode, 17);
  const mask = masks.tensor(2, T, B, H);
  const ids = tf.tensor1d(IDS, 'int32');
  const lossWeights = tf.randomNormal([T * B, V], 0, 1, 'float32', 9);
  const f = (...args: tf.Tensor[]) => {
    const t = Object.fromEntries(names.map((n, i) => [n, args[i]!])) as Record<string, tf.Tensor2D>;
    const input: FusedLayerInput = c.input === 'ids' ? { ids } : { x: t.x! };
    const r = { cell: c.cell, h0: t.h0!, c0: t.c0 ?? null, W: t.W!, reverse: false };
    const b = t.b as unknown as tf.Tensor1D;
    const bq = t.bq as unknown as tf.Tensor1D;
    let logits: tf.Tensor2D;
    let states: tf.Tensor2D[];
    if (fusedHead) {
      const out = fusedHeadLayer(input, t.Wx!, b, r, { W: t.Wq!, b: bq, mask });
      logits = out.logits;
      states = [out.h, ...(out.c ? [out.c] : [])];
    } else {
      const out = fusedLayer(input, t.Wx!, b, r);
      const masked =
        c.mode === 'standard'
          ? tf.mul(tf.reshape(out.outputs, [T * B, H]), mask)
          : tf.reshape(tf.mul(out.outputs, tf.reshape(mask, [1, B, H])), [T * B, H]);
      logits = tf.add(tf.matMul(masked, t.Wq!), bq);
      states = [out.h, ...(out.c ? [out.c] : [])];
    }
    const stateTerms = states.map((s, i) => tf.sum(tf.mul(s, i + 1.5)));
    return tf.addN([tf.sum(tf.mul(logits, lossWeights)), ...stateTerms]) as tf.Scalar;
  };
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => inputs[n as keyof typeof inputs]!));
  const result = [value, ...grads].map((g) => Array.from(g.dataSync()));
  tf.dispose([value, ...grads, ...Object.values(inputs), mask, ids, lossWeights]);
  return result;
}

const maxDiff = (a: number[][], b: number[][]) =>
  Math.max(...a.map((x, i) => Math.max(...x.map((v, j) => Math.abs(v - b[i]![j]!)))));

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`the fused top layer and head with a dropout mask, on ${backend}`, () => {
    it.each(cases)('equals the layer, mask and head as tfjs ops: %o', async (c) => {
      expect(await tf.setBackend(backend)).toBe(true);
      const before = tf.memory().numTensors;
      const apart = lossAndGrads(c, false);
      const fused = lossAndGrads(c, true);
      expect(Math.abs(apart[0]![0]! - fused[0]![0]!)).toBeLessThan(
        1e-5 * Math.max(1, Math.abs(apart[0]![0]!)),
      );
      expect(maxDiff(fused.slice(1), apart.slice(1))).toBeLessThan(1e-5);
      // Not vacuous: the mask drops something and the gradients are far from zero.
      expect(Math.max(...apart.slice(1).flat().map(Math.abs))).toBeGreaterThan(0.1);
      expect(tf.memory().numTensors).toBe(before);
      expect(savedActivationSets()).toBe(0);
    });
  });
}

describe('the fused masked head on cpu', () => {
  it('has the gradients of central finite differences (every input, a few entries each)', async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
    for (const c of [
      { cell: 'lstm', input: 'dense', mode: 'standard' },
      { cell: 'gru', input: 'ids', mode: 'variational' },
    ] as const) {
      const inputs = layerInputs(c.cell);
      const names = Object.keys(inputs).filter((n) => !(c.input === 'ids' && n === 'x'));
      const mask = new DropoutMasks(0.4, c.mode, 17).tensor(2, T, B, H);
      const ids = tf.tensor1d(IDS, 'int32');
      const lossWeights = tf.randomNormal([T * B, V], 0, 1, 'float32', 9);
      const loss = (args: tf.Tensor[]) =>
        tf.tidy(() => {
          const t = Object.fromEntries(names.map((n, i) => [n, args[i]!])) as Record<string, tf.Tensor2D>;
          const input: FusedLayerInput = c.input === 'ids' ? { ids } : { x: t.x! };
          const r = { cell: c.cell, h0: t.h0!, c0: t.c0 ?? null, W: t.W!, reverse: false };
          const out = fusedHeadLayer(input, t.Wx!, t.b as unknown as tf.Tensor1D, r, {
            W: t.Wq!,
            b: t.bq as unknown as tf.Tensor1D,
            mask,
          });
          return tf.add(tf.sum(tf.mul(out.logits, lossWeights)), tf.sum(out.h)) as tf.Scalar;
        });
      const args = names.map((n) => inputs[n as keyof typeof inputs]!);
      const grads = tf.grads((...a: tf.Tensor[]) => loss(a))(args);
      const eps = 1e-2;
      for (const [k, arg] of args.entries()) {
        const values = arg.dataSync().slice();
        const analytic = grads[k]!.dataSync();
        for (const i of [0, Math.floor(values.length / 2), values.length - 1]) {
          const at = (delta: number) => {
            const copy = values.slice();
            copy[i]! += delta;
            const moved = tf.tensor(copy, arg.shape);
            const value = loss(args.map((a, j) => (j === k ? moved : a)));
            const result = value.dataSync()[0]!;
            tf.dispose([value, moved]);
            return result;
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          expect(Math.abs(numeric - analytic[i]!), `${c.cell} ${names[k]}[${i}]`).toBeLessThan(
            2e-3 * Math.max(1, Math.abs(numeric)),
          );
        }
      }
      tf.dispose([...grads, ...Object.values(inputs), mask, ids, lossWeights]);
    }
  });

  it('refuses a mask whose rows do not fit the outputs, saying so', async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
    const inputs = layerInputs('rnn');
    const mask = tf.ones([2, H]) as tf.Tensor2D;
    const run = () =>
      fusedHeadLayer(
        { x: inputs.x },
        inputs.Wx,
        inputs.b,
        { cell: 'rnn', h0: inputs.h0, W: inputs.W, reverse: false },
        { W: inputs.Wq, b: inputs.bq, mask },
      );
    expect(run).toThrow(/head mask of 2 rows does not fit 12 output rows of 3 sequences/);
    tf.dispose([...Object.values(inputs), mask]);
  });
});
