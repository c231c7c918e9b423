import { Random } from '@rnnlm/data';
import { describe, expect, it } from 'vitest';
import { validateModelConfig } from './config.js';
import { initialWeights } from './init.js';
import type { ModelConfig } from './model.js';
import { createScratchModel } from './scratch-model.js';

const base: ModelConfig = {
  impl: 'scratch',
  cell: 'lstm',
  vocabSize: 40,
  hidden: 64,
  layers: 2,
  bidirectional: false,
};

function moments(values: ArrayLike<number>) {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  const mean = sum / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += (values[i]! - mean) ** 2;
  return { mean, variance: sq / values.length, min, max };
}

const weightsOf = (config: ModelConfig, seed: number) => {
  const model = createScratchModel(config, { seed });
  const out = new Map(model.variables.map((v, i) => [model.weightNames[i]!, v.dataSync() as Float32Array]));
  model.dispose();
  return out;
};

describe('initialisation schemes', () => {
  it('normal (the default) is the notebooks: N(0, 0.01²) drawn weight by weight from Random(seed), zero biases', () => {
    const config = { ...base, layers: 1, hidden: 5, vocabSize: 7, embedding: 3 };
    const weights = weightsOf(config, 11);
    // The order of draws: embedding, then per layer W_x, W_h (b draws nothing), then the head.
    const rng = new Random(11);
    const expectDrawn = (name: string) => {
      const values = weights.get(name)!;
      const expected = Float32Array.from(values, () => rng.normal() * 0.01);
      expect(values).toEqual(expected);
    };
    for (const name of ['embedding/W_e', 'layer0/forward/W_x', 'layer0/forward/W_h', 'head/W_hq'])
      expectDrawn(name);
    for (const name of ['layer0/forward/b', 'head/b_q'])
      expect([...weights.get(name)!].every((x) => x === 0)).toBe(true);
  });

  it('init normal said out loud builds the same weights bit for bit as no init, and the config keeps no field', () => {
    const a = weightsOf(base, 3);
    const b = weightsOf({ ...base, init: 'normal' }, 3);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, values] of a) expect(b.get(name)).toEqual(values);
    expect(validateModelConfig({ ...base, init: 'normal' })).toEqual(base);
    expect(validateModelConfig({ ...base, init: 'uniform' }).init).toBe('uniform');
  });

  it('uniform is PyTorch: U(±1/√H) recurrent weights, b_ih + b_hh biases, U(±1/√fanIn) head, N(0, 1) embedding', () => {
    const config: ModelConfig = { ...base, embedding: 32, bidirectional: true, init: 'uniform' };
    const weights = weightsOf(config, 5);
    const k = 1 / Math.sqrt(64);
    const headK = 1 / Math.sqrt(128); // the head reads both directions
    const check = (name: string, bound: number, variance: number, tolerance = 0.05, fill = 0.9) => {
      const m = moments(weights.get(name)!);
      expect(m.min).toBeGreaterThanOrEqual(-bound);
      expect(m.max).toBeLessThanOrEqual(bound);
      // Close to the bound (the draws fill the range).
      expect(m.max).toBeGreaterThan(bound * fill);
      expect(m.min).toBeLessThan(-bound * fill);
      expect(Math.abs(m.mean)).toBeLessThan(4 * Math.sqrt(variance / weights.get(name)!.length));
      expect(Math.abs(m.variance / variance - 1)).toBeLessThan(tolerance);
    };
    for (const layer of [0, 1]) {
      for (const d of ['forward', 'backward']) {
        check(`layer${layer}/${d}/W_x`, k, k ** 2 / 3);
        check(`layer${layer}/${d}/W_h`, k, k ** 2 / 3);
        // The sum of two U(-k, k): on (-2k, 2k), variance 2k²/3 (256 values: a looser tolerance).
        check(`layer${layer}/${d}/b`, 2 * k, (2 * k ** 2) / 3, 0.2, 0.6);
      }
    }
    check('head/W_hq', headK, headK ** 2 / 3);
    check('head/b_q', headK, headK ** 2 / 3, 0.5);
    const e = moments(weights.get('embedding/W_e')!);
    expect(Math.abs(e.mean)).toBeLessThan(0.1);
    expect(Math.abs(e.variance - 1)).toBeLessThan(0.1);
    expect(Math.max(-e.min, e.max)).toBeGreaterThan(2.5);
  });

  it('uniform: the same seed repeats, another differs; a tied head keeps only its bias, U(±1/√fanIn)', () => {
    const config: ModelConfig = { ...base, cell: 'gru', embedding: 64, tieWeights: true, init: 'uniform' };
    expect(weightsOf(config, 2)).toEqual(weightsOf(config, 2));
    expect(weightsOf(config, 2).get('layer0/forward/W_x')).not.toEqual(
      weightsOf(config, 3).get('layer0/forward/W_x'),
    );
    const names = initialWeights(config, 2).map((w) => `${w.name}:${w.kind}`);
    expect(names).toEqual([
      'embedding/W_e:embedding',
      'layer0/forward/W_x:input',
      'layer0/forward/W_h:recurrent',
      'layer0/forward/b:bias',
      'layer1/forward/W_x:input',
      'layer1/forward/W_h:recurrent',
      'layer1/forward/b:bias',
      'head/b_q:headBias',
    ]);
    const bias = moments(weightsOf(config, 2).get('head/b_q')!);
    expect(Math.max(-bias.min, bias.max)).toBeLessThanOrEqual(1 / 8);
  });

  it('refuses an unknown scheme, naming the choices', () => {
    expect(() => validateModelConfig({ ...base, init: 'xavier' })).toThrow(
      /unknown init "xavier"; use one of normal, uniform/,
    );
  });
});
