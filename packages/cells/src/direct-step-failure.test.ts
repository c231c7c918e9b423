import * as kernels from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LanguageModel } from './model.js';
import { createScratchModel } from './scratch-model.js';

// What a failure halfway through a model's `lossAndGradients` leaves behind (fused/direct-step.ts):
// nothing. The kernels' sequenceForward is made to fail on a chosen call, after earlier layers have
// held their activations and the returned tensors have been made.

let failOnCall = 0;
let failWith: () => Error = () => new Error('unexpected');
vi.mock('@rnnlm/kernels', async (importOriginal) => {
  const original = await importOriginal<typeof kernels>();
  let calls = 0;
  return {
    ...original,
    sequenceForward: (...args: Parameters<typeof original.sequenceForward>) => {
      calls++;
      if (failOnCall > 0 && calls === failOnCall) throw failWith();
      return original.sequenceForward(...args);
    },
    resetCalls: () => {
      calls = 0;
    },
  };
});

const [T, B, V] = [4, 2, 5];
const batch = {
  ids: Int32Array.from({ length: B * T }, (_, i) => i % V),
  labels: Int32Array.from({ length: B * T }, (_, i) => (i + 1) % V),
  batchSize: B,
  numSteps: T,
};
const TRAINING = { training: true, maskSeed: 1 } as const;

function model(): LanguageModel {
  return createScratchModel(
    { impl: 'scratch', cell: 'lstm', vocabSize: V, hidden: 4, layers: 3, bidirectional: false },
    { recurrence: 'fused' },
  );
}

afterEach(() => {
  failOnCall = 0;
});

describe('lossAndGradients when the kernels fail on the third layer', () => {
  it.each([
    [
      'out of kernel memory: null, so that the tape takes the step',
      () => new kernels.KernelMemoryError('full'),
      null,
    ],
    ['anything else: the error', () => new Error('bad input'), /bad input/],
  ] as const)('%s, nothing held or made left behind', (_, error, outcome) => {
    const m = model();
    const state = m.beginState(B);
    const tensors = tf.memory().numTensors;
    const held = kernels.kernelRuntime()!.arena.heldBlocks;
    (kernels as unknown as { resetCalls(): void }).resetCalls();
    failOnCall = 3;
    failWith = error;
    if (outcome === null) expect(m.lossAndGradients!(batch, state, TRAINING)).toBeNull();
    else expect(() => m.lossAndGradients!(batch, state, TRAINING)).toThrow(outcome);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(kernels.kernelRuntime()!.arena.heldBlocks).toBe(held);
    // And the next step, with the kernels working again, runs.
    failOnCall = 0;
    const r = m.lossAndGradients!(batch, state, TRAINING)!;
    expect(r.grads).toHaveLength(m.variables.length);
    tf.dispose([...r.grads, ...r.state, ...state]);
    m.dispose();
  });
});
