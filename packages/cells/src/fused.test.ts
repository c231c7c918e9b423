import '@tensorflow/tfjs-backend-wasm';
// The wasm backend lacks the gradient of gather; the apps get it from @rnnlm/backend, as here.
import { registerWasmTrainingKernels } from '@rnnlm/backend';
import type { CellKind } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { fusedUnavailableReason, savedActivationSets, useFused } from './fused/index.js';
import type { ModelConfig, State } from './model.js';
import { createScratchModel } from './scratch-model.js';
import { lstmSequence } from './sequence.js';

const ids = [
  [1, 4, 6, 0, 2],
  [3, 3, 2, 5, 1],
  [6, 0, 1, 2, 4],
];

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/**
 * Logits, final state and the gradients of a loss that reaches every output (logits and state) of a
 * model built with `recurrence`, from the same seeded weights and initial state.
 */
function run(config: ModelConfig, recurrence: 'ops' | 'fused') {
  const model = createScratchModel(config, { seed: 11, recurrence });
  // Larger weights than the 0.01 init, so that every gate and nonlinearity matters.
  for (const [i, v] of model.variables.entries()) {
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 3 + i)));
  }
  const state = tf.tidy(() =>
    model
      .beginState(3)
      .map((s, i) => tf.keep(tf.randomNormal(s.shape, 0, 0.5, 'float32', 100 + i)) as tf.Tensor2D),
  );
  let logits: tf.Tensor | undefined;
  let finalState: State = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = model.forward(tf.tensor2d(ids, [3, 5], 'int32'), state);
    logits = tf.keep(out.logits);
    finalState = out.state.map((s) => tf.keep(s));
    const weights = tf.randomNormal(out.logits.shape, 0, 1, 'float32', 7);
    const stateTerms = out.state.map((s, i) =>
      tf.sum(tf.mul(s, tf.randomNormal(s.shape, 0, 1, 'float32', 20 + i))),
    );
    return tf.addN([tf.sum(tf.mul(out.logits, weights)), ...stateTerms]) as tf.Scalar;
  }, model.variables);
  value.dispose();
  const ordered = model.variables.map((v) => grads[v.name]!);
  tf.dispose(state);
  return { model, logits: logits!, state: finalState, grads: ordered };
}

const cases: Array<[CellKind, number, boolean]> = [];
for (const cell of ['rnn', 'gru', 'lstm'] as const)
  for (const layers of [1, 2])
    for (const bidirectional of [false, true]) cases.push([cell, layers, bidirectional]);

registerWasmTrainingKernels();

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`the fused kernels equal the op-by-op cells on ${backend}`, () => {
    afterAll(async () => {
      await tf.setBackend('cpu');
    });
    it.each(cases)(
      '%s, %i layer(s), bidirectional %s: logits, states and every gradient',
      async (cell, layers, bidirectional) => {
        expect(await tf.setBackend(backend)).toBe(true);
        const config: ModelConfig = { impl: 'scratch', cell, vocabSize: 7, hidden: 6, layers, bidirectional };
        const before = tf.memory().numTensors;
        const ops = run(config, 'ops');
        const fused = run(config, 'fused');
        const logitDiff = maxAbsDiff(ops.logits, fused.logits);
        const stateDiff = Math.max(...ops.state.map((s, i) => maxAbsDiff(s, fused.state[i]!)));
        const gradDiff = Math.max(...ops.grads.map((g, i) => maxAbsDiff(g, fused.grads[i]!)));
        console.log(
          `fused vs ops on ${backend}, ${cell} layers=${layers} bidir=${bidirectional}: logits ${logitDiff.toExponential(2)}, state ${stateDiff.toExponential(2)}, gradients ${gradDiff.toExponential(2)}`,
        );
        expect(logitDiff).toBeLessThan(1e-4);
        expect(stateDiff).toBeLessThan(1e-4);
        expect(gradDiff).toBeLessThan(1e-4);
        // Not vacuous: the gradients are far from zero.
        expect(
          Math.max(...ops.grads.map((g) => tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!))),
        ).toBeGreaterThan(0.1);
        for (const r of [ops, fused]) {
          tf.dispose([r.logits, ...r.state, ...r.grads]);
          r.model.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
      },
    );
  });
}

/** With an embedding, and with the head tied to it: the kernels' row lookup and its gradient too. */
const embedded: Array<[CellKind, number, boolean, Partial<ModelConfig>]> = [
  ['lstm', 2, false, { embedding: 5 }],
  ['gru', 1, true, { embedding: 3 }],
  ['rnn', 1, false, { embedding: 6, tieWeights: true }],
  ['lstm', 2, true, { embedding: 12, tieWeights: true }],
];

/** A run's outputs as plain arrays, so that runs on two backends compare. */
function values(r: ReturnType<typeof run>): Float32Array[] {
  return [r.logits, ...r.state, ...r.grads].map((t) => t.dataSync() as Float32Array);
}

describe('with an embedding (and tied weights)', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
  it.each(embedded)(
    '%s, %i layer(s), bidirectional %s, %o: fused on wasm equals op by op on cpu, every gradient included',
    async (cell, layers, bidirectional, extra) => {
      const config: ModelConfig = {
        impl: 'scratch',
        cell,
        vocabSize: 7,
        hidden: 6,
        layers,
        bidirectional,
        ...extra,
      };
      const results: Float32Array[][] = [];
      for (const [backend, recurrence] of [
        ['cpu', 'ops'],
        ['cpu', 'fused'],
        ['wasm', 'fused'],
      ] as const) {
        expect(await tf.setBackend(backend)).toBe(true);
        const before = tf.memory().numTensors;
        // tfjs's wasm backend has no UnsortedSegmentSum (gather's gradient; @rnnlm/backend adds it):
        // the fused path must not need it.
        const segmentSum = tf.getKernel('UnsortedSegmentSum', 'wasm');
        if (backend === 'wasm') tf.unregisterKernel('UnsortedSegmentSum', 'wasm');
        let r: ReturnType<typeof run>;
        try {
          r = run(config, recurrence);
        } finally {
          if (backend === 'wasm' && segmentSum) tf.registerKernel(segmentSum);
        }
        expect(r.model.weightNames[0]).toBe('embedding/W_e');
        results.push(values(r));
        tf.dispose([r.logits, ...r.state, ...r.grads]);
        r.model.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
      const [reference, ...others] = results as [Float32Array[], ...Float32Array[][]];
      for (const other of others) {
        let diff = 0;
        for (const [i, a] of reference.entries()) {
          expect(other[i]!.length).toBe(a.length);
          for (let k = 0; k < a.length; k++) diff = Math.max(diff, Math.abs(a[k]! - other[i]![k]!));
        }
        expect(diff).toBeLessThan(1e-4);
      }
      // Not vacuous: the embedding's gradient (the first, after the logits and the states) is far from zero.
      const states = layers * (bidirectional ? 2 : 1) * (cell === 'lstm' ? 2 : 1);
      const grad = reference[1 + states]!;
      expect(grad.length).toBe(7 * extra.embedding!);
      expect(Math.max(...grad.map(Math.abs))).toBeGreaterThan(0.1);
    },
  );
});

describe('lstmSequence gate orders', () => {
  it("runs tfjs-layers' (i, f, c~, o) blocks fused as op by op", () => {
    tf.tidy(() => {
      const xProj = tf.randomNormal([4, 3, 20], 0, 1, 'float32', 1) as tf.Tensor3D;
      const h0 = tf.randomNormal([3, 5], 0, 1, 'float32', 2) as tf.Tensor2D;
      const c0 = tf.randomNormal([3, 5], 0, 1, 'float32', 3) as tf.Tensor2D;
      const W = tf.randomNormal([5, 20], 0, 0.5, 'float32', 4) as tf.Tensor2D;
      const ops = lstmSequence(xProj, h0, c0, W, { gateOrder: 'ifco', recurrence: 'ops' });
      const fused = lstmSequence(xProj, h0, c0, W, { gateOrder: 'ifco', recurrence: 'fused' });
      const d2l = lstmSequence(xProj, h0, c0, W, { recurrence: 'ops' });
      expect(maxAbsDiff(ops.outputs, fused.outputs)).toBeLessThan(1e-5);
      expect(maxAbsDiff(ops.c, fused.c)).toBeLessThan(1e-5);
      // The order matters: reading the blocks the other way gives other values.
      expect(maxAbsDiff(ops.outputs, d2l.outputs)).toBeGreaterThan(1e-2);
    });
  });
});

describe('where the fused kernels do not run', () => {
  it("falls back to ops under 'auto' and refuses 'fused' with the reason", async () => {
    // A backend under another name, as WebGL or native TensorFlow would be.
    const cpu = tf.findBackend('cpu')!;
    tf.registerBackend('rnnlm-test-other', () => cpu);
    try {
      expect(await tf.setBackend('rnnlm-test-other')).toBe(true);
      expect(fusedUnavailableReason()).toMatch(
        /wasm and cpu backends, and on webgpu once @rnnlm\/backend registered its kernels there, and the active one is rnnlm-test-other/,
      );
      expect(useFused('auto')).toBe(false);
      expect(useFused('ops')).toBe(false);
      expect(() => useFused('fused')).toThrow(
        /'fused' was asked for, but the fused kernels run on the wasm and cpu/,
      );
    } finally {
      await tf.setBackend('cpu');
      tf.removeBackend('rnnlm-test-other');
    }
    expect(useFused('auto')).toBe(true);
  });
});

describe('saved activations', () => {
  const config: ModelConfig = {
    impl: 'scratch',
    cell: 'lstm',
    vocabSize: 7,
    hidden: 6,
    layers: 2,
    bidirectional: false,
  };

  it('are kept only while a gradient is being recorded, and handed back by the backward pass', () => {
    const model = createScratchModel(config, { seed: 1, recurrence: 'fused' });
    const x = tf.tensor2d(ids, [3, 5], 'int32');
    tf.tidy(() => model.forward(x, model.beginState(3)).logits);
    expect(savedActivationSets()).toBe(0);
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(x, model.beginState(3));
      expect(savedActivationSets()).toBe(2); // one per layer
      return tf.sum(out.logits) as tf.Scalar;
    }, model.variables);
    expect(savedActivationSets()).toBe(0);
    tf.dispose([value, ...Object.values(grads), x]);
    model.dispose();
  });

  it('are recomputed when they were dropped, with the same gradients', () => {
    // More forward passes under one tape than the store keeps: the first ones' activations are dropped.
    const gradsOf = (recurrence: 'ops' | 'fused') => {
      const model = createScratchModel(config, { seed: 2, recurrence });
      for (const [i, v] of model.variables.entries()) {
        tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 30 + i)));
      }
      const x = tf.tensor2d(ids, [3, 5], 'int32');
      const { value, grads } = tf.variableGrads(() => {
        const terms: tf.Tensor[] = [];
        for (let pass = 0; pass < 40; pass++) {
          const out = model.forward(x, model.beginState(3));
          terms.push(tf.mul(tf.sum(tf.sin(out.logits)), pass + 1));
        }
        return tf.addN(terms) as tf.Scalar;
      }, model.variables);
      const list = model.variables.map((v) => grads[v.name]!);
      tf.dispose([value, x]);
      model.dispose();
      return list;
    };
    const ops = gradsOf('ops');
    const fused = gradsOf('fused');
    expect(savedActivationSets()).toBe(0);
    for (const [i, g] of ops.entries()) {
      // Sums of 40 passes weighted up to 40: compare relative to the gradient's size.
      const scale = tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!);
      expect(scale).toBeGreaterThan(1);
      expect(maxAbsDiff(g, fused[i]!) / scale).toBeLessThan(1e-5);
    }
    tf.dispose([...ops, ...fused]);
  });
});
