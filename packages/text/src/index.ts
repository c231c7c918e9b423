export { CLEAN_MODES, type CleanMode, cleanLines, cleanPrefix } from './clean.js';
export { buildCorpus, type Corpus, type CorpusOptions } from './corpus.js';
export { TIME_MACHINE_SHA1, TIME_MACHINE_URL } from './sources.js';
export { joinTokens, TOKEN_MODES, type TokenMode, tokenize } from './tokenize.js';
export { UNK, Vocab, type VocabJSON, type VocabOptions } from './vocab.js';
