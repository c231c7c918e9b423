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

/** Token ids as the loaders keep them: any integer typed array, used in place (never copied). */
export type TokenIdArray = Uint8Array | Uint16Array | Uint32Array | Int32Array;

/** `ids` itself when it is an integer typed array, else its values in an `Int32Array`. */
export function asTokenIds(ids: ArrayLike<number>): TokenIdArray {
  if (
    ids instanceof Uint8Array ||
    ids instanceof Uint16Array ||
    ids instanceof Uint32Array ||
    ids instanceof Int32Array
  ) {
    return ids;
  }
  return Int32Array.from(ids);
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
  /** The ids batches are read from: the array given (a view, not a copy) when it is a typed array. */
  readonly ids: TokenIdArray;
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
    this.ids = asTokenIds(ids);
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
 * the validation text is unseen and contiguous. Both parts are views of `ids` when it is a typed
 * array, so a corpus of any size is never copied.
 */
export function splitTrainValid<T extends TokenIdArray>(
  ids: T,
  validFraction: number,
): { train: T; valid: T };
export function splitTrainValid(
  ids: ArrayLike<number>,
  validFraction: number,
): { train: TokenIdArray; valid: TokenIdArray };
export function splitTrainValid(
  ids: ArrayLike<number>,
  validFraction: number,
): { train: TokenIdArray; valid: TokenIdArray } {
  if (!(validFraction >= 0 && validFraction < 1)) {
    throw new Error(`validFraction must be in [0, 1), got ${validFraction}`);
  }
  const all = asTokenIds(ids);
  const cut = all.length - Math.round(all.length * validFraction);
  return { train: all.subarray(0, cut), valid: all.subarray(cut) };
}
