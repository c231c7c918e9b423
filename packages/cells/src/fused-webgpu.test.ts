// The fused path on tfjs's webgpu backend (the WGSL kernels @rnnlm/backend registers there), in Node on
// this machine's adapter (SwiftShader's, on the CPU, where there is no GPU): logits, final states and
// every gradient equal the host kernels' on cpu, for every cell, stacked and bidirectional, with an
// embedding and tied weights; and nothing is left behind on the GPU. Outside CI a machine with no
// adapter skips, saying why; in CI that fails. Shapes are tiny: SwiftShader is slow.
import { keptStepBuffers, WEBGPU_TRAINING_KERNELS } from '@rnnlm/backend';
import { needAdapter, startWebgpu } from '@rnnlm/backend/testing';
import type { CellKind } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUSED_KERNEL_NAMES, fusedCrossEntropy, savedActivationSets, useFused } from './fused/index.js';
import type { ModelConfig } from './model.js';
import { createScratchModel } from './scratch-model.js';
import { gruSequence, lstmSequence, rnnSequence } from './sequence.js';

let unavailable: string | null = null;
beforeAll(async () => {
  unavailable = await startWebgpu();
  await tf.setBackend('cpu');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

const ids = [
  [1, 4, 6, 0, 2],
  [3, 3, 2, 5, 1],
  [6, 0, 1, 2, 4],
];

/**
 * Logits, final state and the gradient of every weight, as arrays, of a loss that reaches every output,
 * from the same seeded weights and initial state on the active backend, fused; a model with dropout
 * runs in training, with its masks from a fixed seed.
 */
async function fusedRun(config: ModelConfig): Promise<Float32Array[]> {
  const model = createScratchModel(config, { seed: 11, recurrence: 'fused' });
  // Larger weights than the 0.01 init, so that every gate and nonlinearity matters.
  for (const [i, v] of model.variables.entries()) {
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 3 + i)));
  }
  const state = tf.tidy(() =>
    model
      .beginState(3)
      .map((s, i) => tf.keep(tf.randomNormal(s.shape, 0, 0.5, 'float32', 100 + i)) as tf.Tensor2D),
  );
  const kept: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const mode = config.dropout ? { training: true as const, maskSeed: 5 } : { training: false as const };
    const out = model.forward(tf.tensor2d(ids, [3, 5], 'int32'), state, mode);
    kept.push(tf.keep(out.logits), ...out.state.map((s) => tf.keep(s)));
    const weights = tf.randomNormal(out.logits.shape, 0, 1, 'float32', 7);
    const stateTerms = out.state.map((s, i) =>
      tf.sum(tf.mul(s, tf.randomNormal(s.shape, 0, 1, 'float32', 20 + i))),
    );
    return tf.addN([tf.sum(tf.mul(out.logits, weights)), ...stateTerms]) as tf.Scalar;
  }, model.variables);
  const results = [...kept, ...model.variables.map((v) => grads[v.name]!)];
  const arrays = await Promise.all(results.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([value, ...results, ...state]);
  model.dispose();
  return arrays;
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  for (const [i, x] of a.entries()) {
    expect(x.length).toBe(b[i]!.length);
    for (const [j, v] of x.entries()) diff = Math.max(diff, Math.abs(v - b[i]![j]!));
  }
  return diff;
}

/** Backend data (tfjs tensors and buffers held outside them) of the active backend. */
function dataIds(): number {
  return (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
}

const cases: Array<[CellKind, number, boolean, Partial<ModelConfig>]> = [];
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  cases.push([cell, 1, false, {}], [cell, 2, true, {}]);
}
cases.push(['lstm', 2, false, { embedding: 5 }], ['gru', 1, false, { embedding: 6, tieWeights: true }]);
// Dropout: the top layer's mask goes into the fused head op (a row per step, or per sequence).
cases.push(
  ['lstm', 2, false, { dropout: 0.4 }],
  ['gru', 1, false, { dropout: 0.4, dropoutMode: 'variational', embedding: 5 }],
);

describe('the fused kernels on webgpu', () => {
  it('are all registered under the names the fused path runs', async (context) => {
    needAdapter(context, unavailable);
    expect([...WEBGPU_TRAINING_KERNELS.added].sort()).toEqual([...FUSED_KERNEL_NAMES].sort());
    expect(await tf.setBackend('webgpu')).toBe(true);
    expect(useFused('fused')).toBe(true);
  });

  it.for(cases)(
    '%s, %i layer(s), bidirectional %s, %o: logits, states and every gradient equal the host kernels on cpu',
    async ([cell, layers, bidirectional, extra], context) => {
      needAdapter(context, unavailable);
      const config: ModelConfig = {
        impl: 'scratch',
        cell,
        vocabSize: 7,
        hidden: 6,
        layers,
        bidirectional,
        ...extra,
      };
      expect(await tf.setBackend('cpu')).toBe(true);
      const expected = await fusedRun(config);
      expect(await tf.setBackend('webgpu')).toBe(true);
      const tensors = tf.memory().numTensors;
      const data = dataIds();
      const actual = await fusedRun(config);
      const diff = maxAbsDiff(actual, expected);
      console.log(
        `webgpu vs cpu, fused, ${cell} layers=${layers} bidir=${bidirectional} ${JSON.stringify(extra)}: ${diff.toExponential(2)}`,
      );
      expect(diff).toBeLessThan(1e-4);
      // Not vacuous: the gradients are far from zero.
      expect(Math.max(...expected.slice(-3).flatMap((g) => Array.from(g, Math.abs)))).toBeGreaterThan(0.1);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(dataIds()).toBe(data);
      expect(keptStepBuffers()).toBe(0);
      expect(savedActivationSets()).toBe(0);
    },
  );

  it('fused cross-entropy: loss and gradient equal the host kernel on cpu', async (context) => {
    needAdapter(context, unavailable);
    const lossAndGrad = async () => {
      const logits = tf.randomNormal([70, 9], 0, 3, 'float32', 5) as tf.Tensor2D;
      const labels = tf.tensor1d(
        Array.from({ length: 70 }, (_, i) => (i * 5) % 9),
        'int32',
      );
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor) =>
        fusedCrossEntropy(x as tf.Tensor2D, labels),
      )([logits]);
      const arrays = [await value.data(), await grads[0]!.data()] as Float32Array[];
      tf.dispose([logits, labels, value, ...grads]);
      return arrays;
    };
    expect(await tf.setBackend('cpu')).toBe(true);
    const expected = await lossAndGrad();
    expect(await tf.setBackend('webgpu')).toBe(true);
    const tensors = tf.memory().numTensors;
    const actual = await lossAndGrad();
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-5);
    expect(expected[0]![0]).toBeGreaterThan(1);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('trains: tensors and GPU buffers stay flat over steps, and a step reads nothing back to the CPU', async (context) => {
    needAdapter(context, unavailable);
    expect(await tf.setBackend('webgpu')).toBe(true);
    const config: ModelConfig = {
      impl: 'scratch',
      cell: 'lstm',
      vocabSize: 7,
      hidden: 6,
      layers: 2,
      bidirectional: false,
    };
    const model = createScratchModel(config, { seed: 3, recurrence: 'fused' });
    const optimizer = tf.train.adam(0.05);
    const x = tf.tensor2d(ids, [3, 5], 'int32');
    // Time-major labels (row t*B + b): the next token of a cycle, so there is something to learn.
    const labels = tf.tensor1d(
      Array.from({ length: 15 }, (_, r) => (ids[r % 3]![Math.floor(r / 3)]! + 1) % 7),
      'int32',
    );
    const state = model.beginState(3);
    const gpu = tf.engine().backend as unknown as { getBufferData: (...args: unknown[]) => Promise<unknown> };
    const getBufferData = gpu.getBufferData;
    let reads = 0;
    gpu.getBufferData = (...args) => {
      reads++;
      return getBufferData.apply(gpu, args);
    };
    const losses: number[] = [];
    let counts: number[] = [];
    try {
      for (let step = 0; step < 6; step++) {
        const loss = optimizer.minimize(
          () => fusedCrossEntropy(model.forward(x, state).logits, labels),
          true,
          model.variables,
        )!;
        expect(reads, `step ${step + 1} read a buffer back`).toBe(0);
        losses.push((await loss.data())[0]!);
        // The spy sees reads: reading the loss is one.
        expect(reads).toBeGreaterThan(0);
        reads = 0;
        loss.dispose();
        // The first step makes the optimizer's slots; every later one leaves the counts as they were.
        if (step === 1) counts = [tf.memory().numTensors, dataIds()];
        if (step > 1) expect([tf.memory().numTensors, dataIds()]).toEqual(counts);
      }
    } finally {
      gpu.getBufferData = getBufferData;
      tf.dispose([x, labels, ...state]);
      optimizer.dispose();
      model.dispose();
    }
    expect(keptStepBuffers()).toBe(0);
    expect(losses[5]!).toBeLessThan(losses[0]! - 0.05);
  });

  it('a sequence op whose kept activations were evicted recomputes them: gradients still equal the host kernels', async (context) => {
    needAdapter(context, unavailable);
    // 65 layer runs under one tape: one more than either backend keeps, so the first one's gradient
    // recomputes its forward pass. A reversed LSTM in tfjs-layers' gate order, on projected inputs.
    const gradients = async () => {
      const inputs = [
        tf.randomNormal([3, 2, 12], 0, 1, 'float32', 1),
        tf.randomNormal([2, 3], 0, 0.5, 'float32', 2),
        tf.randomNormal([2, 3], 0, 0.5, 'float32', 3),
        tf.randomNormal([3, 12], 0, 0.5, 'float32', 4),
      ];
      const f = (xProj: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor, W: tf.Tensor) => {
        const terms = Array.from({ length: 65 }, (_, i) => {
          const options = { reverse: true, gateOrder: 'ifco', recurrence: 'fused' } as const;
          const r = lstmSequence(
            tf.mul(xProj, 1 + i / 65) as tf.Tensor3D,
            h0 as tf.Tensor2D,
            c0 as tf.Tensor2D,
            W as tf.Tensor2D,
            options,
          );
          return tf.add(tf.sum(tf.mul(r.outputs, (i % 5) - 2)), tf.sum(tf.mul(r.c, i % 3)));
        });
        return tf.addN(terms) as tf.Scalar;
      };
      const grads = tf.grads(f)(inputs);
      const arrays = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
      tf.dispose([...inputs, ...grads]);
      return arrays;
    };
    expect(await tf.setBackend('cpu')).toBe(true);
    const expected = await gradients();
    expect(await tf.setBackend('webgpu')).toBe(true);
    const tensors = tf.memory().numTensors;
    const data = dataIds();
    const actual = await gradients();
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-4);
    expect(Math.max(...expected.flatMap((g) => Array.from(g, Math.abs)))).toBeGreaterThan(0.1);
    expect(keptStepBuffers()).toBe(0);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(dataIds()).toBe(data);
  });

  it.for([
    ['lstm', 3, false],
    ['gru', 3, false],
    ['rnn', 3, false],
    ['lstm', 1, true],
    ['gru', 1, true],
  ] as const)(
    '%s, %i step(s), reverse %s, on more units than one workgroup holds (4 x 37 invocations a step): outputs and gradients equal the host kernels',
    async ([cell, T, reverse], context) => {
      needAdapter(context, unavailable);
      const [B, H] = [4, 37];
      const G = (cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1) * H;
      const outputsAndGradients = async () => {
        const inputs = [
          tf.randomNormal([T, B, G], 0, 1, 'float32', 1),
          tf.randomNormal([B, H], 0, 0.5, 'float32', 2),
          tf.randomNormal([H, G], 0, 0.2, 'float32', 3),
          ...(cell === 'lstm' ? [tf.randomNormal([B, H], 0, 0.5, 'float32', 4)] : []),
        ];
        const f = (...[xProj, h0, W, c0]: tf.Tensor[]) => {
          const args = [xProj as tf.Tensor3D, h0 as tf.Tensor2D] as const;
          const options = { recurrence: 'fused', reverse } as const;
          const r =
            cell === 'lstm'
              ? lstmSequence(...args, c0 as tf.Tensor2D, W as tf.Tensor2D, options)
              : cell === 'gru'
                ? gruSequence(...args, W as tf.Tensor2D, options)
                : rnnSequence(...args, W as tf.Tensor2D, options);
          const weights = tf.randomNormal(r.outputs.shape, 0, 1, 'float32', 9);
          return tf.add(tf.sum(tf.mul(r.outputs, weights)), tf.sum(r.h)) as tf.Scalar;
        };
        const { value, grads } = tf.valueAndGrads(f)(inputs);
        const arrays = await Promise.all(
          [value, ...grads].map(async (t) => (await t.data()) as Float32Array),
        );
        tf.dispose([...inputs, value, ...grads]);
        return arrays;
      };
      expect(await tf.setBackend('cpu')).toBe(true);
      const expected = await outputsAndGradients();
      expect(await tf.setBackend('webgpu')).toBe(true);
      const actual = await outputsAndGradients();
      // The loss sums many terms: relative to its size.
      expect(Math.abs(actual[0]![0]! - expected[0]![0]!)).toBeLessThan(
        1e-4 * Math.max(1, Math.abs(expected[0]![0]!)),
      );
      expect(maxAbsDiff(actual.slice(1), expected.slice(1))).toBeLessThan(1e-4);
      expect(Math.max(...expected.slice(1).flatMap((g) => Array.from(g, Math.abs)))).toBeGreaterThan(0.1);
    },
  );
});
