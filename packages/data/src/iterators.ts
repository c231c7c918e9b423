import type { Random } from './random.js';

/** One minibatch: `X` and `Y` are row-major [batchSize, numSteps]; `Y` is `X` shifted by one token. */
export interface Batch {
  X: Int32Array;
  Y: Int32Array;
  batchSize: number;
  numSteps: number;
}

/**
 * How minibatches are cut from the corpus: at random offsets (each minibatch independent) or sequentially
 * (each row continuing the previous minibatch's row, so the hidden state can be carried).
 */
export type Sampling = 'random' | 'sequential';
/** The default (d2l's, which carries the state across batches) first. */
export const SAMPLINGS: readonly Sampling[] = ['sequential', 'random'];

/**
 * The fewest tokens either iterator needs to yield one batch whatever its random start offset:
 * the offset can be up to `numSteps`, then `batchSize` rows of `numSteps` tokens, plus one for the
 * labels of the last step.
 */
export function minCorpusTokens(batchSize: number, numSteps: number): number {
  return (batchSize + 1) * numSteps + 1;
}

/**
 * Throws a clear error unless `batchSize` and `numSteps` are positive integers and the corpus has at least
 * `minCorpusTokens(batchSize, numSteps)` tokens.
 */
export function assertBatchShape(corpusLength: number, batchSize: number, numSteps: number): void {
  for (const [name, value] of [
    ['batchSize', batchSize],
    ['numSteps', numSteps],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  const needed = minCorpusTokens(batchSize, numSteps);
  if (corpusLength < needed) {
    throw new Error(
      `the corpus has ${corpusLength} tokens, too few for batches of ${batchSize} x ${numSteps} steps ` +
        `(at least (batchSize + 1) * numSteps + 1 = ${needed} are needed); use a longer text, ` +
        'a smaller batch size or fewer steps',
    );
  }
}

/**
 * Random sampling, as d2l's `seq_data_iter_random`: drop a random 0..numSteps-1 tokens from the
 * front, cut the rest into non-overlapping subsequences of `numSteps` tokens, shuffle them, and
 * serve them `batchSize` at a time. Neighbouring minibatches are not adjacent in the text, so a
 * trainer starts each one from a fresh state.
 */
export function* seqDataIterRandom(
  corpus: ArrayLike<number>,
  batchSize: number,
  numSteps: number,
  rng: Random,
): Generator<Batch> {
  assertBatchShape(corpus.length, batchSize, numSteps);
  const offset = rng.int(numSteps);
  const numSubseqs = Math.floor((corpus.length - offset - 1) / numSteps);
  // A typed array, filled by a plain loop: for a 1 GB corpus that is 27 million offsets, which as a
  // JavaScript array made by Array.from took most of 20 s and 200 MB before the first batch.
  const starts = corpus.length <= 2 ** 32 ? new Uint32Array(numSubseqs) : new Float64Array(numSubseqs);
  for (let i = 0; i < numSubseqs; i++) starts[i] = offset + i * numSteps;
  rng.shuffle(starts);
  const numBatches = Math.floor(numSubseqs / batchSize);
  for (let b = 0; b < numBatches; b++) {
    const X = new Int32Array(batchSize * numSteps);
    const Y = new Int32Array(batchSize * numSteps);
    for (let r = 0; r < batchSize; r++) {
      const start = starts[b * batchSize + r]!;
      for (let t = 0; t < numSteps; t++) {
        X[r * numSteps + t] = corpus[start + t]!;
        Y[r * numSteps + t] = corpus[start + t + 1]!;
      }
    }
    yield { X, Y, batchSize, numSteps };
  }
}

/**
 * Sequential partitioning, as d2l's `seq_data_iter_sequential`: drop a random 0..numSteps tokens from
 * the front, lay the rest out as `batchSize` long rows, and walk along them `numSteps` at a time, so
 * row r of minibatch i+1 continues row r of minibatch i and a trainer can carry the hidden state over.
 */
export function* seqDataIterSequential(
  corpus: ArrayLike<number>,
  batchSize: number,
  numSteps: number,
  rng: Random,
): Generator<Batch> {
  assertBatchShape(corpus.length, batchSize, numSteps);
  const offset = rng.int(numSteps + 1);
  const rowLength = Math.floor((corpus.length - offset - 1) / batchSize);
  const numBatches = Math.floor(rowLength / numSteps);
  for (let b = 0; b < numBatches; b++) {
    const X = new Int32Array(batchSize * numSteps);
    const Y = new Int32Array(batchSize * numSteps);
    for (let r = 0; r < batchSize; r++) {
      const start = offset + r * rowLength + b * numSteps;
      for (let t = 0; t < numSteps; t++) {
        X[r * numSteps + t] = corpus[start + t]!;
        Y[r * numSteps + t] = corpus[start + t + 1]!;
      }
    }
    yield { X, Y, batchSize, numSteps };
  }
}
