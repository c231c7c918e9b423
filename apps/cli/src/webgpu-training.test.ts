// Training on tfjs's webgpu backend in Node (the `webgpu` package, on this machine's adapter, SwiftShader
// where there is no GPU): a tiny model's losses over a few steps equal the cpu backend's, and no tensor
// is left behind. Outside CI a machine with no adapter skips, saying why; in CI that fails.
import { selectBackend } from '@rnnlm/backend';
import { NO_NATIVE_LOADERS, needAdapter, startWebgpu } from '@rnnlm/backend/testing';
import type { ModelConfig } from '@rnnlm/cells';
import { assembleRun } from '@rnnlm/train';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The losses of the first `steps` minibatches of a seeded run on the active backend. */
async function losses(model: ModelConfig, steps: number): Promise<number[]> {
  const ids = Int32Array.from({ length: 600 }, (_, i) => (i * 7 + (i >> 3)) % model.vocabSize);
  const run = assembleRun({
    ids,
    token: 'char',
    batchSize: 4,
    numSteps: 6,
    sampling: 'sequential',
    seed: 3,
    model,
    optimizer: { name: 'adam', lr: 0.01 },
    clip: 1,
  });
  const seen: number[] = [];
  try {
    const done = new AbortController();
    await run.trainer.fit({
      epochs: 1,
      signal: done.signal,
      onBatchEnd: ({ loss }) => {
        seen.push(loss);
        if (seen.length === steps) done.abort();
      },
    });
  } finally {
    run.dispose();
  }
  return seen;
}

let unavailable: string | null = null;
beforeAll(async () => {
  unavailable = await startWebgpu();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('training on webgpu in Node', () => {
  const models: ModelConfig[] = [
    { impl: 'scratch', cell: 'lstm', vocabSize: 12, hidden: 8, layers: 2, bidirectional: false },
    { impl: 'layers', cell: 'gru', vocabSize: 12, hidden: 8, layers: 1, bidirectional: false },
  ];
  for (const model of models) {
    it(`${model.impl} ${model.cell}: the losses of 4 steps equal the cpu backend's`, async (context) => {
      needAdapter(context, unavailable);
      await selectBackend({ backend: 'cpu', threads: 1 });
      const onCpu = await losses(model, 4);
      const selection = await selectBackend({ backend: 'webgpu', loaders: NO_NATIVE_LOADERS });
      expect(selection.tfjsBackend).toBe('webgpu');
      const before = tf.memory().numTensors;
      const onWebgpu = await losses(model, 4);
      expect(tf.memory().numTensors).toBe(before);
      expect(onWebgpu).toHaveLength(4);
      for (let i = 0; i < 4; i++)
        expect(Math.abs(onWebgpu[i]! - onCpu[i]!), `step ${i + 1}`).toBeLessThan(1e-4);
      // The steps trained: the loss moved.
      expect(onWebgpu[3]).not.toBe(onWebgpu[0]);
    });
  }
});
