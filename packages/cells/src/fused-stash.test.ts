import '@tensorflow/tfjs-backend-wasm';
// The wasm backend lacks the gradient of gather; the apps get it from @rnnlm/backend, as here.
import { registerWasmTrainingKernels } from '@rnnlm/backend';
import { type CellKind, kernelRuntime, stopKernels } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fusedCrossEntropy, savedActivationSets } from './fused/index.js';
import type { LanguageModel, ModelConfig } from './model.js';
import { createScratchModel } from './scratch-model.js';

// The saved activations of the fused layers live in kernel memory between a forward op and its
// gradient (fused/stash.ts): what must hold of them on the backends that run the kernels.

registerWasmTrainingKernels();

const [T, B, V] = [5, 3, 7];
const ids = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 3 + t * 5) % V));
const labels = Array.from({ length: T * B }, (_, i) => (i * 4) % V);

function model(cell: CellKind, extra: Partial<ModelConfig> = {}): LanguageModel {
  const config: ModelConfig = {
    impl: 'scratch',
    cell,
    vocabSize: V,
    hidden: 6,
    layers: 2,
    bidirectional: false,
  };
  const m = createScratchModel({ ...config, ...extra }, { seed: 4, recurrence: 'fused' });
  // Larger weights than the 0.01 init, so that every gate and nonlinearity matters.
  for (const [i, v] of m.variables.entries()) {
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 50 + i)));
  }
  return m;
}

/** The loss of one forward pass (logits weighted by fixed values, and the final states). */
function loss(m: LanguageModel, x: tf.Tensor2D): tf.Scalar {
  const out = m.forward(x, m.beginState(B));
  const w = tf.randomNormal(out.logits.shape, 0, 1, 'float32', 9);
  const states = out.state.map((s) => tf.sum(tf.mul(s, 0.5)));
  return tf.addN([tf.sum(tf.mul(out.logits, w)), ...states]) as tf.Scalar;
}

/** The gradient of every variable, as arrays, from `f` (which runs the model under the tape). */
function gradients(m: LanguageModel, f: () => tf.Scalar): Float32Array[] {
  const { value, grads } = tf.variableGrads(f, m.variables);
  const list = m.variables.map((v) => grads[v.name]!.dataSync() as Float32Array);
  tf.dispose([value, ...Object.values(grads)]);
  return list;
}

/** A forward pass whose results nobody uses. */
function pass(m: LanguageModel, x: tf.Tensor2D): void {
  tf.tidy(() => {
    m.forward(x, m.beginState(B));
  });
}

function heldBytes(): number {
  return kernelRuntime()!.arena.heldBytes;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`saved activations in kernel memory on ${backend}`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });
    afterAll(async () => {
      await tf.setBackend('cpu');
    });

    it.each(['lstm', 'gru', 'rnn'] as const)(
      '%s: gradients are the same, bit for bit, when the activations were kept, evicted or held by a replaced runtime',
      (cell) => {
        const before = tf.memory().numTensors;
        const m = model(cell, { embedding: 4 });
        const x = tf.tensor2d(ids, [B, T], 'int32');
        const kept = gradients(m, () => loss(m, x));
        // 33 passes of 2 layers under one tape: more sets than the stash keeps, the first pass's are dropped.
        const evicted = gradients(m, () => {
          const first = loss(m, x);
          for (let i = 0; i < 32; i++) pass(m, x);
          expect(savedActivationSets()).toBe(64);
          return first;
        });
        // The kernels restarted between the forward op and its gradient: the held memory belongs to the old runtime.
        const replaced = gradients(m, () => {
          const result = loss(m, x);
          const old = kernelRuntime();
          stopKernels();
          expect(kernelRuntime()).not.toBe(old);
          return result;
        });
        expect(Math.max(...kept.map((g) => Math.max(...g.map(Math.abs))))).toBeGreaterThan(0.1);
        expect(evicted).toEqual(kept);
        expect(replaced).toEqual(kept);
        // The sets of the passes nobody used go with the next forward op, and their kernel memory with them.
        pass(m, x);
        expect(savedActivationSets()).toBe(0);
        expect(heldBytes()).toBe(0);
        x.dispose();
        m.dispose();
        expect(tf.memory().numTensors).toBe(before);
      },
    );

    it('a set nobody takes (an unused pass, a gradient that threw) is freed by the next forward op', () => {
      const m = model('lstm');
      const x = tf.tensor2d(ids, [B, T], 'int32');
      pass(m, x);
      expect(savedActivationSets()).toBe(0);
      expect(heldBytes()).toBe(0);

      // A pass under the tape whose result the loss does not use: its backward pass never comes.
      gradients(m, () => {
        pass(m, x);
        return loss(m, x);
      });
      expect(savedActivationSets()).toBe(2);
      expect(heldBytes()).toBeGreaterThan(0);
      pass(m, x); // not recording: holds nothing new
      expect(savedActivationSets()).toBe(0);
      expect(heldBytes()).toBe(0);

      // A gradient whose function throws after the forward pass leaves its tape behind.
      expect(() =>
        tf.variableGrads(() => {
          m.forward(x, m.beginState(B));
          throw new Error('the loss failed');
        }, m.variables),
      ).toThrow(/the loss failed/);
      expect(savedActivationSets()).toBe(2);
      pass(m, x);
      expect(savedActivationSets()).toBe(0);
      expect(heldBytes()).toBe(0);
      x.dispose();
      m.dispose();
    });

    it.each(['lstm', 'gru'] as const)(
      '%s: over 50 training steps the tensors, the saved sets and the kernel memory stay flat',
      (cell) => {
        const m = model(cell, { embedding: 6, tieWeights: true });
        const x = tf.tensor2d(ids, [B, T], 'int32');
        const y = tf.tensor1d(labels, 'int32');
        const optimizer = tf.train.sgd(0.05);
        const step = () => {
          const { value, grads } = tf.variableGrads(
            () => fusedCrossEntropy(m.forward(x, m.beginState(B)).logits, y),
            m.variables,
          );
          optimizer.applyGradients(grads);
          const l = value.dataSync()[0]!;
          tf.dispose([value, ...Object.values(grads)]);
          return l;
        };
        const first = step();
        step();
        const tensors = tf.memory().numTensors;
        const memory = kernelRuntime()!.arena.memory.buffer.byteLength;
        let last = first;
        for (let i = 0; i < 50; i++) {
          last = step();
          expect(tf.memory().numTensors).toBe(tensors);
          expect(savedActivationSets()).toBe(0);
          expect(heldBytes()).toBe(0);
          expect(kernelRuntime()!.arena.memory.buffer.byteLength).toBe(memory);
        }
        // Not vacuous: the steps trained.
        expect(last).toBeLessThan(first);
        tf.dispose([x, y]);
        optimizer.dispose();
        m.dispose();
      },
    );
  });
}
