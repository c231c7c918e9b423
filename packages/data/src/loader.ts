import {
  assertBatchShape,
  type Batch,
  SAMPLINGS,
  type Sampling,
  seqDataIterRandom,
  seqDataIterSequential,
} from './iterators.js';
import { Random } from './random.js';

/** Options of `SeqDataLoader`: the minibatch shape, the sampling and its seed. */
export interface SeqDataLoaderOptions {
  batchSize: number;
  numSteps: number;
  sampling: Sampling;
  /** Seeds the random start offsets (and the shuffle, under random sampling). Default 0. */
  seed?: number;
}

/** What a checkpoint keeps of a loader so that a resumed run sees the same batches. */
export interface SeqDataLoaderState {
  rng: number[];
}

/**
 * Minibatches over a sequence of token ids, as d2l's `SeqDataLoader`: each iteration is one epoch
 * with a new random start offset, drawn from a seeded generator so runs repeat exactly.
 */
export class SeqDataLoader implements Iterable<Batch> {
  readonly ids: Int32Array;
  readonly batchSize: number;
  readonly numSteps: number;
  readonly sampling: Sampling;
  #rng: Random;

  constructor(ids: ArrayLike<number>, options: SeqDataLoaderOptions) {
    const { batchSize, numSteps, sampling, seed = 0 } = options;
    if (!SAMPLINGS.includes(sampling)) {
      throw new Error(`unknown sampling ${JSON.stringify(sampling)}; use one of ${SAMPLINGS.join(', ')}`);
    }
    assertBatchShape(ids.length, batchSize, numSteps);
    this.ids = Int32Array.from(ids);
    this.batchSize = batchSize;
    this.numSteps = numSteps;
    this.sampling = sampling;
    this.#rng = new Random(seed);
  }

  /** One epoch of minibatches; the next call starts the next epoch. */
  [Symbol.iterator](): Iterator<Batch> {
    const iterate = this.sampling === 'random' ? seqDataIterRandom : seqDataIterSequential;
    return iterate(this.ids, this.batchSize, this.numSteps, this.#rng);
  }

  /** The most minibatches an epoch can have (the random start offset may cost one). */
  get maxBatchesPerEpoch(): number {
    const { length } = this.ids;
    if (this.sampling === 'random')
      return Math.floor(Math.floor((length - 1) / this.numSteps) / this.batchSize);
    return Math.floor(Math.floor((length - 1) / this.batchSize) / this.numSteps);
  }

  /** The loader's random state, to resume the same sequence of minibatches later (see `setState`). */
  getState(): SeqDataLoaderState {
    return { rng: this.#rng.getState() };
  }

  /** Restores a state from `getState`: the minibatches continue as they would have. */
  setState(state: SeqDataLoaderState): void {
    this.#rng = new Random(state.rng);
  }
}

/**
 * Splits ids into a training part and a validation part (the last `validFraction` of the text), so
 * the validation text is unseen and contiguous.
 */
export function splitTrainValid(
  ids: ArrayLike<number>,
  validFraction: number,
): { train: Int32Array; valid: Int32Array } {
  if (!(validFraction >= 0 && validFraction < 1)) {
    throw new Error(`validFraction must be in [0, 1), got ${validFraction}`);
  }
  const all = Int32Array.from(ids);
  const cut = all.length - Math.round(all.length * validFraction);
  return { train: all.slice(0, cut), valid: all.slice(cut) };
}
