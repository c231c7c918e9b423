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
  SeqDataLoader,
  type SeqDataLoaderOptions,
  type SeqDataLoaderState,
  splitTrainValid,
} from './loader.js';
export { Random } from './random.js';
