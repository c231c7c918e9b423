export {
  assertBatchShape,
  type Batch,
  minCorpusTokens,
  SAMPLINGS,
  type Sampling,
  seqDataIterRandom,
  seqDataIterSequential,
} from './iterators.js';
export {
  asTokenIds,
  SeqDataLoader,
  type SeqDataLoaderOptions,
  type SeqDataLoaderState,
  splitTrainValid,
  type TokenIdArray,
} from './loader.js';
export { Random } from './random.js';
