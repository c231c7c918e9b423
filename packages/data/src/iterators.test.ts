import { describe, expect, it } from 'vitest';
import { type Batch, minCorpusTokens, seqDataIterRandom, seqDataIterSequential } from './iterators.js';
import { SeqDataLoader, splitTrainValid } from './loader.js';
import { Random } from './random.js';

const corpus = Int32Array.from({ length: 203 }, (_, i) => i); // ids equal positions: easy to reason about
const row = (batch: Batch, r: number, key: 'X' | 'Y') =>
  Array.from(batch[key].subarray(r * batch.numSteps, (r + 1) * batch.numSteps));

describe('seqDataIterSequential', () => {
  it('yields Y as X shifted by one, and row r of batch i+1 continues row r of batch i', () => {
    const batches = [...seqDataIterSequential(corpus, 4, 5, new Random(1))];
    expect(batches.length).toBeGreaterThan(2);
    for (const [i, batch] of batches.entries()) {
      for (let r = 0; r < 4; r++) {
        expect(row(batch, r, 'Y')).toEqual(row(batch, r, 'X').map((id) => corpus[id + 1]));
        if (i > 0) expect(row(batch, r, 'X')[0]).toBe(row(batches[i - 1]!, r, 'X')[4]! + 1);
      }
    }
  });

  it("matches d2l's seq_data_iter_sequential for the offset it drew", () => {
    const batchSize = 3;
    const numSteps = 6;
    const batches = [...seqDataIterSequential(corpus, batchSize, numSteps, new Random(9))];
    const offset = batches[0]!.X[0]!; // ids are positions
    // d2l, literally: Xs = corpus[offset : offset + num_tokens].reshape(batch_size, -1), and so on.
    const numTokens = Math.floor((corpus.length - offset - 1) / batchSize) * batchSize;
    const Xs = Array.from(corpus.slice(offset, offset + numTokens));
    const perRow = numTokens / batchSize;
    const numBatches = Math.floor(perRow / numSteps);
    expect(batches).toHaveLength(numBatches);
    for (let b = 0; b < numBatches; b++) {
      for (let r = 0; r < batchSize; r++) {
        expect(row(batches[b]!, r, 'X')).toEqual(
          Xs.slice(r * perRow + b * numSteps, r * perRow + (b + 1) * numSteps),
        );
      }
    }
  });

  it('draws start offsets over the whole range 0..numSteps', () => {
    const rng = new Random(2);
    const offsets = new Set<number>();
    for (let e = 0; e < 200; e++) offsets.add(seqDataIterSequential(corpus, 4, 5, rng).next().value!.X[0]!);
    expect([...offsets].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('seqDataIterRandom', () => {
  it('yields non-overlapping subsequences within an epoch, Y shifted by one', () => {
    for (const seed of [1, 2, 3]) {
      const seen = new Set<number>();
      let count = 0;
      for (const batch of seqDataIterRandom(corpus, 4, 5, new Random(seed))) {
        for (let r = 0; r < 4; r++) {
          const x = row(batch, r, 'X');
          expect(x).toEqual(Array.from({ length: 5 }, (_, t) => x[0]! + t)); // contiguous text
          expect(row(batch, r, 'Y')).toEqual(x.map((id) => id + 1));
          for (const id of x) {
            expect(seen.has(id)).toBe(false);
            seen.add(id);
          }
          count++;
        }
      }
      // d2l: (len - offset - 1) // num_steps subsequences, served in whole batches.
      expect(count).toBeGreaterThanOrEqual(Math.floor(Math.floor((corpus.length - 5) / 5) / 4) * 4);
    }
  });

  it("matches d2l's seq_data_iter_random for the offset and shuffle it drew", () => {
    // The reference, step by step as d2l writes it: the same seeded draws, on a plain list.
    const draws = new Random(5);
    const offset = draws.int(5);
    const numSubseqs = Math.floor((corpus.length - offset - 1) / 5);
    const starts = draws.shuffle(Array.from({ length: numSubseqs }, (_, i) => offset + i * 5));
    const batches = [...seqDataIterRandom(corpus, 4, 5, new Random(5))];
    expect(batches).toHaveLength(Math.floor(numSubseqs / 4));
    batches.forEach((batch, b) => {
      for (let r = 0; r < 4; r++) {
        const start = starts[b * 4 + r]!;
        expect(row(batch, r, 'X')).toEqual(Array.from({ length: 5 }, (_, t) => corpus[start + t]));
        expect(row(batch, r, 'Y')).toEqual(Array.from({ length: 5 }, (_, t) => corpus[start + t + 1]));
      }
    });
  });

  it('shuffles: batches do not come in text order', () => {
    const starts = [...seqDataIterRandom(corpus, 2, 5, new Random(4))].map((b) => b.X[0]!);
    expect(starts).not.toEqual([...starts].sort((a, b) => a - b));
  });
});

describe('SeqDataLoader', () => {
  it('gives a new epoch per iteration and repeats for a seed', () => {
    const a = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 5, sampling: 'random', seed: 3 });
    const b = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 5, sampling: 'random', seed: 3 });
    const epoch1 = [...a];
    const epoch2 = [...a];
    expect(epoch2).not.toEqual(epoch1);
    expect([...b]).toEqual(epoch1);
    expect([...b]).toEqual(epoch2);
    expect(epoch1.length).toBeLessThanOrEqual(a.maxBatchesPerEpoch);
  });

  it('resumes from saved state with the same batches', () => {
    const a = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 5, sampling: 'sequential', seed: 8 });
    [...a];
    const state = a.getState();
    const expected = [...a];
    const b = new SeqDataLoader(corpus, { batchSize: 4, numSteps: 5, sampling: 'sequential', seed: 123 });
    b.setState(state);
    expect([...b]).toEqual(expected);
  });

  it('rejects a corpus too short for one batch, with the numbers', () => {
    const needed = minCorpusTokens(4, 5);
    expect(needed).toBe(26);
    expect(
      () => new SeqDataLoader(corpus.slice(0, needed - 1), { batchSize: 4, numSteps: 5, sampling: 'random' }),
    ).toThrow(/the corpus has 25 tokens, too few for batches of 4 x 5 steps \(at least .* = 26 are needed\)/);
    // At the minimum, every offset still yields a batch.
    for (let seed = 0; seed < 30; seed++) {
      for (const iterate of [seqDataIterRandom, seqDataIterSequential]) {
        expect(iterate(corpus.slice(0, needed), 4, 5, new Random(seed)).next().done).toBe(false);
      }
    }
    expect(() => new SeqDataLoader(corpus, { batchSize: 0, numSteps: 5, sampling: 'random' })).toThrow(
      /batchSize must be a positive integer/,
    );
    expect(
      () => new SeqDataLoader(corpus, { batchSize: 2, numSteps: 5, sampling: 'shuffled' as never }),
    ).toThrow(/unknown sampling "shuffled"; use one of sequential, random/);
  });
});

describe('splitTrainValid', () => {
  it('keeps the last fraction as validation text', () => {
    const { train, valid } = splitTrainValid(corpus, 0.1);
    expect(valid.length).toBe(20);
    expect(Array.from(train).concat(Array.from(valid))).toEqual(Array.from(corpus));
    expect(() => splitTrainValid(corpus, 1)).toThrow(/validFraction must be in \[0, 1\)/);
  });

  it('splits compact typed ids into views of the same memory, never a copy', () => {
    for (const ids of [
      Uint8Array.from(corpus, (v) => v % 256),
      Uint16Array.from(corpus),
      Uint32Array.from(corpus),
    ]) {
      const { train, valid } = splitTrainValid(ids, 0.25);
      expect(train.buffer).toBe(ids.buffer);
      expect(valid.buffer).toBe(ids.buffer);
      expect(train.constructor).toBe(ids.constructor);
      expect([train.length, valid.length]).toEqual([152, 51]);
      expect(valid[0]).toBe(ids[152]);
      // The loader reads the view in place and serves the same batches as from a plain copy.
      const loader = new SeqDataLoader(train, { batchSize: 4, numSteps: 5, sampling: 'sequential', seed: 2 });
      expect(loader.ids).toBe(train);
      const copy = new SeqDataLoader(Array.from(train), {
        batchSize: 4,
        numSteps: 5,
        sampling: 'sequential',
        seed: 2,
      });
      expect(copy.ids).toBeInstanceOf(Int32Array);
      expect([...loader]).toEqual([...copy]);
    }
  });
});
