/**
 * `@rnnlm/train/generate`: what an app needs to load a saved model and generate or score text, and
 * nothing else: neither the trainer nor tfjs-layers (a model of impl `layers` brings tfjs-layers in
 * when it is loaded, as a separate chunk a bundler splits off).
 */
export { generateBatchTokens, generateSamples } from './batch.js';
export {
  type GenerateEnd,
  type GenerateOptions,
  type GenerateResult,
  generate,
  generateAsync,
  generateTokens,
  generateTokensAsync,
  generationPath,
  readPrefix,
  samplingDistribution,
  synchronousReadsUnavailable,
  type TokenVocab,
} from './generate.js';
export {
  fromArtifactsWith,
  type LoadedLanguageModel,
  type LoadOptions,
  loadLanguageModel,
  type ModelSource,
} from './load.js';
export { type ScoreOptions, scoreText, type TextScore, type TokenScore } from './score.js';
export {
  GENERATION_PATHS,
  type GenerationPath,
  kernelPathUnavailable,
  prepareGeneration,
} from './step-path.js';
export { type GenerateStreamOptions, type GenerateStreamResult, generateStream } from './stream.js';
