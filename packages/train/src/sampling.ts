/**
 * Picking the next token from a row of logits: greedy, or sampled after temperature, top-k and top-p.
 *
 * `samplingDistribution` says what sampling means, in the plainest form; the sampler that generation
 * runs does exactly the same arithmetic (the same float64 operations in the same order, so the same
 * seed gives the same token) in buffers of its own, without the arrays of pairs the plain form
 * allocates on every token: at a few microseconds a token, those were a third of the time generation
 * spent outside the model's step.
 */
import { Random } from '@rnnlm/data';

/** What a sampler needs of the generation options. */
export interface SamplingOptions {
  /** 0 or absent: greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Default 0. */
  seed?: number;
}

/** Picks the next token from one row of logits (read at once: they may be a view that changes). */
export type Sampler = (logits: Float32Array) => number;

export function makeSampler(options: SamplingOptions): Sampler {
  const { temperature = 0, topK, topP } = options;
  if (!(temperature >= 0))
    throw new Error(`temperature must be zero (greedy) or positive, got ${temperature}`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1))
    throw new Error(`topK must be a positive integer, got ${topK}`);
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
  if (temperature === 0) return argMax;
  const rng = new Random(options.seed ?? 0);
  let buffers: SortBuffers | null = null;
  return (logits) => {
    if (buffers?.order.length !== logits.length) buffers = sortBuffers(logits.length);
    const id = sampleInPlace(logits, temperature, topK, topP, rng, buffers);
    // NaN logits have no order to sort by: the plain form decides what they give.
    return id ?? sampleFrom(samplingDistribution(logits, temperature, topK, topP), rng);
  };
}

function argMax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Probabilities after temperature, top-k and top-p filtering, as [id, p] pairs in descending order. */
export function samplingDistribution(
  logits: ArrayLike<number>,
  temperature: number,
  topK?: number,
  topP?: number,
): Array<[number, number]> {
  // The largest logit is subtracted before dividing: (l - max) / T is 0 for the best token and at worst
  // -Infinity (probability 0), where l / T alone overflows to ±Infinity (NaN) at a tiny temperature.
  let top = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) top = Math.max(top, logits[i]!);
  const scaled = Array.from(logits, (l, i): [number, number] => [i, (l - top) / temperature]);
  scaled.sort((a, b) => b[1] - a[1]);
  const kept = topK === undefined ? scaled : scaled.slice(0, topK);
  const max = kept[0]![1];
  let total = 0;
  const probs = kept.map(([i, l]): [number, number] => {
    const e = Math.exp(l - max);
    total += e;
    return [i, e];
  });
  for (const pair of probs) pair[1] /= total;
  if (topP === undefined) return probs;
  const nucleus: Array<[number, number]> = [];
  let mass = 0;
  for (const pair of probs) {
    nucleus.push(pair);
    mass += pair[1];
    if (mass >= topP) break;
  }
  for (const pair of nucleus) pair[1] /= mass;
  return nucleus;
}

function sampleFrom(distribution: Array<[number, number]>, rng: Random): number {
  let u = rng.next();
  for (const [id, p] of distribution) {
    u -= p;
    if (u < 0) return id;
  }
  return distribution[distribution.length - 1]![0];
}

interface SortBuffers {
  /** (l - top) / T per id. */
  scaled: Float64Array;
  /** Ids by descending scaled value, ties by ascending id (the plain form's stable sort). */
  order: Int32Array;
  /** Probabilities in that order. */
  probs: Float64Array;
}

function sortBuffers(V: number): SortBuffers {
  return {
    scaled: new Float64Array(V),
    order: Int32Array.from({ length: V }, (_, i) => i),
    probs: new Float64Array(V),
  };
}

/**
 * `sampleFrom(samplingDistribution(...))` step for step, in `buffers`; null (nothing drawn) when a
 * scaled logit is NaN.
 */
function sampleInPlace(
  logits: Float32Array,
  temperature: number,
  topK: number | undefined,
  topP: number | undefined,
  rng: Random,
  { scaled, order, probs }: SortBuffers,
): number | null {
  const V = logits.length;
  let top = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < V; i++) top = Math.max(top, logits[i]!);
  for (let i = 0; i < V; i++) {
    const s = (logits[i]! - top) / temperature;
    if (Number.isNaN(s)) return null;
    scaled[i] = s;
  }
  sortIds(order, scaled);
  let kept = topK === undefined ? V : Math.min(topK, V);
  const max = scaled[order[0]!]!;
  let total = 0;
  for (let j = 0; j < kept; j++) {
    const e = Math.exp(scaled[order[j]!]! - max);
    total += e;
    probs[j] = e;
  }
  for (let j = 0; j < kept; j++) probs[j]! /= total;
  if (topP !== undefined) {
    let mass = 0;
    let n = 0;
    while (n < kept) {
      mass += probs[n++]!;
      if (mass >= topP) break;
    }
    for (let j = 0; j < n; j++) probs[j]! /= mass;
    kept = n;
  }
  let u = rng.next();
  for (let j = 0; j < kept; j++) {
    u -= probs[j]!;
    if (u < 0) return order[j]!;
  }
  return order[kept - 1]!;
}

/**
 * Sorts `order` by descending `scaled`, ties by ascending id: a strict order, so any sort gives the
 * stable sort's result. Small vocabularies by insertion from the last token's order (the next one's
 * is much alike), large ones by the engine's sort.
 */
function sortIds(order: Int32Array, scaled: Float64Array): void {
  const before = (a: number, b: number) => scaled[a]! > scaled[b]! || (scaled[a] === scaled[b] && a < b);
  if (order.length > 64) {
    order.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    return;
  }
  for (let i = 1; i < order.length; i++) {
    const id = order[i]!;
    const value = scaled[id]!;
    let j = i - 1;
    for (; j >= 0; j--) {
      const other = order[j]!;
      const v = scaled[other]!;
      // id goes before other: a larger value, or the same value and a smaller id.
      if (!(value > v || (value === v && id < other))) break;
      order[j + 1] = other;
    }
    order[j + 1] = id;
  }
}
