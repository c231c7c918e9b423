import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayersModel } from './layers-model.js';
import { maxAbsDiff, tinyConfig } from './test-utils/helpers.js';
import {
  layersToScratchWeights,
  loadWeights,
  type NamedWeights,
  namedWeights,
  scratchToLayersWeights,
  weightNameMapping,
} from './weights.js';

let tensorsAtStart = 0;
beforeEach(() => {
  tensorsAtStart = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(tensorsAtStart);
});

/** Scratch-named weights whose every entry says which gate block it came from: value = block index. */
function labelledScratchWeights(cell: 'rnn' | 'gru' | 'lstm', H: number, V: number): NamedWeights {
  const gates = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
  const blocks = (rows: number) =>
    tf.tensor2d(
      Array.from({ length: rows * gates * H }, (_, k) => Math.floor((k % (gates * H)) / H)),
      [rows, gates * H],
    );
  const bias = tf.tensor1d(Array.from({ length: gates * H }, (_, k) => Math.floor(k / H)));
  const [x, h, b] = cell === 'rnn' ? ['W_xh', 'W_hh', 'b_h'] : ['W_x', 'W_h', 'b'];
  return {
    [`layer0/forward/${x}`]: blocks(V),
    [`layer0/forward/${h}`]: blocks(H),
    [`layer0/forward/${b}`]: bias,
    'head/W_hq': tf.fill([H, V], 7),
    'head/b_q': tf.fill([V], 8),
  };
}

describe('scratch <-> layers weight mapping', () => {
  it('LSTM: scratch (i, f, o, c) blocks land in tfjs-layers order (i, f, c, o)', () => {
    const config = tinyConfig('scratch', { cell: 'lstm', hidden: 2, vocabSize: 3 });
    const scratch = labelledScratchWeights('lstm', 2, 3);
    const layers = scratchToLayersWeights(config, scratch);
    // Block labels in scratch order: i=0, f=1, o=2, c=3. In layers order: i, f, c, o = 0, 1, 3, 2.
    expect(Array.from(layers['layer0/forward/bias']!.dataSync())).toEqual([0, 0, 1, 1, 3, 3, 2, 2]);
    expect(Array.from(layers['layer0/forward/kernel']!.dataSync()).slice(0, 8)).toEqual([
      0, 0, 1, 1, 3, 3, 2, 2,
    ]);
    expect(Array.from(layers['layer0/forward/recurrent_kernel']!.dataSync()).slice(8, 16)).toEqual([
      0, 0, 1, 1, 3, 3, 2, 2,
    ]);
    expect(Array.from(layers['head/kernel']!.dataSync())).toEqual(Array(6).fill(7));
    const back = layersToScratchWeights(config, layers);
    for (const name of Object.keys(scratch)) expect(maxAbsDiff(back[name]!, scratch[name]!)).toBe(0);
    tf.dispose([Object.values(scratch), Object.values(layers), Object.values(back)]);
  });

  it('GRU (z, r, h) and RNN copy without reordering', () => {
    for (const cell of ['gru', 'rnn'] as const) {
      const config = tinyConfig('scratch', { cell, hidden: 2, vocabSize: 3 });
      const scratch = labelledScratchWeights(cell, 2, 3);
      const layers = scratchToLayersWeights(config, scratch);
      const x = cell === 'rnn' ? 'W_xh' : 'W_x';
      expect(maxAbsDiff(layers['layer0/forward/kernel']!, scratch[`layer0/forward/${x}`]!)).toBe(0);
      expect(Object.keys(layers).sort()).toEqual([
        'head/bias',
        'head/kernel',
        'layer0/forward/bias',
        'layer0/forward/kernel',
        'layer0/forward/recurrent_kernel',
      ]);
      tf.dispose([Object.values(scratch), Object.values(layers)]);
    }
  });

  it('the name mapping covers every layer and direction, matching the layers model order', () => {
    const config = tinyConfig('layers', { cell: 'gru', layers: 2, bidirectional: true });
    const model = createLayersModel(config, { seed: 1 });
    const mapping = weightNameMapping(config);
    expect(mapping.map((p) => p.layers)).toEqual([...model.weightNames]);
    expect(mapping.map((p) => p.scratch)).toContain('layer1/backward/W_h');
    model.dispose();
  });

  it('a missing weight is a clear error and leaks nothing', () => {
    const config = tinyConfig('scratch', { cell: 'lstm', hidden: 2, vocabSize: 3 });
    const scratch = labelledScratchWeights('lstm', 2, 3);
    const partial = { ...scratch };
    delete partial['head/b_q'];
    expect(() => scratchToLayersWeights(config, partial)).toThrow(/head\/b_q is missing/);
    tf.dispose(Object.values(scratch));
  });
});

describe('loadWeights', () => {
  it('assigns by name, and refuses unknown names, missing names and wrong shapes without changing the model', () => {
    const model = createLayersModel(tinyConfig('layers', { cell: 'rnn' }), { seed: 2 });
    const before = model.variables.map((v) => tf.clone(v));
    const replacement: NamedWeights = {};
    for (const [name, v] of Object.entries(namedWeights(model))) replacement[name] = tf.onesLike(v);

    const stray = tf.scalar(1);
    expect(() => loadWeights(model, { ...replacement, 'layer9/forward/kernel': stray })).toThrow(
      /no weights named layer9\/forward\/kernel/,
    );
    const { 'head/bias': _dropped, ...missing } = replacement;
    expect(() => loadWeights(model, missing)).toThrow(/head\/bias is missing/);
    const wrongShape = { ...replacement, 'head/bias': tf.ones([3]) };
    expect(() => loadWeights(model, wrongShape)).toThrow(/head\/bias has shape \[3\], the model needs \[7\]/);
    model.variables.forEach((v, i) => {
      expect(maxAbsDiff(v, before[i]!)).toBe(0);
    });

    loadWeights(model, replacement);
    for (const v of model.variables) expect(tf.tidy(() => tf.min(v).dataSync()[0])).toBe(1);
    tf.dispose([before, Object.values(replacement), wrongShape['head/bias'], stray]);
    model.dispose();
  });
});
