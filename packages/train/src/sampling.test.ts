import { Random } from '@rnnlm/data';
import { describe, expect, it } from 'vitest';
import { makeSampler, type SamplingOptions, samplingDistribution } from './sampling.js';

/** Sampling in its plain form: the distribution's pairs in order, one uniform draw walked down them. */
function plainSampler(options: SamplingOptions): (logits: Float32Array) => number {
  const rng = new Random(options.seed ?? 0);
  return (logits) => {
    const d = samplingDistribution(logits, options.temperature!, options.topK, options.topP);
    let u = rng.next();
    for (const [id, p] of d) {
      u -= p;
      if (u < 0) return id;
    }
    return d[d.length - 1]![0];
  };
}

/** Rows of logits with what makes sampling hard: ties, -Infinity, huge values, NaN. */
function rows(V: number, count: number, seed: number): Float32Array[] {
  const rng = new Random(seed);
  return Array.from({ length: count }, (_, r) => {
    const row = Float32Array.from({ length: V }, () => rng.normal() * 3);
    if (r % 5 === 1) row.fill(row[0]!, 0, Math.min(V, 6)); // ties: the lower id comes first
    if (r % 7 === 2) row[V - 1] = Number.NEGATIVE_INFINITY;
    if (r % 11 === 3) row[r % V] = 3e38;
    if (r % 13 === 4) row[0] = Number.NaN;
    return row;
  });
}

describe('makeSampler', () => {
  const settings: SamplingOptions[] = [
    { temperature: 0.8 },
    { temperature: 1, topK: 5 },
    { temperature: 1.3, topP: 0.9 },
    { temperature: 0.5, topK: 40, topP: 0.7 },
    { temperature: 1e-300 },
    { temperature: 2, topK: 1000 },
  ];
  for (const V of [28, 70, 500]) {
    it(`draws exactly the plain form's tokens from the same seed (V = ${V})`, () => {
      for (const [s, options] of settings.entries()) {
        const seeded = { ...options, seed: 17 + s };
        const fast = makeSampler(seeded);
        const plain = plainSampler(seeded);
        const logits = rows(V, 300, V + s);
        const drawn = logits.map((row) => fast(row));
        expect(drawn).toEqual(logits.map((row) => plain(row)));
        // Not one token over and over: the rows do reach different ids.
        expect(new Set(drawn).size).toBeGreaterThan(options.topK === 5 ? 3 : 1);
      }
    });
  }

  it('is greedy without a temperature', () => {
    const sampler = makeSampler({});
    expect(sampler(Float32Array.of(0.1, 2, -1, 2))).toBe(1);
  });

  it('refuses settings outside their ranges, saying which', () => {
    expect(() => makeSampler({ temperature: -1 })).toThrow(/temperature must be zero/);
    expect(() => makeSampler({ temperature: 1, topK: 0 })).toThrow(/topK must be a positive integer/);
    expect(() => makeSampler({ temperature: 1, topP: 1.5 })).toThrow(/topP must be in/);
  });
});
