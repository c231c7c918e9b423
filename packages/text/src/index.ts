export { corpusFromBlobs, type NamedBlob, type ReadBlobsOptions } from './blobs.js';
export { CLEAN_MODES, type CleanMode, cleanLines, cleanPrefix } from './clean.js';
export { buildCorpus, type Corpus, type CorpusOptions, encodeWithVocab } from './corpus.js';
export { idArray, type TokenIds } from './ids.js';
export { TIME_MACHINE_SHA1, TIME_MACHINE_URL } from './sources.js';
export { CorpusBuilder } from './stream.js';
export { joinTokens, TOKEN_MODES, type TokenMode, tokenize } from './tokenize.js';
export { type PackedTokens, UNK, Vocab, type VocabJSON, type VocabOptions } from './vocab.js';
