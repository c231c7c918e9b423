import { createScratchModel, type LanguageModel, type ModelConfig, validateModelConfig } from '@rnnlm/cells';
import { createLayersModel } from '@rnnlm/layers';

/** Builds a model of either implementation from its config (as stored in checkpoints). */
export function createModel(config: ModelConfig, options: { seed?: number } = {}): LanguageModel {
  const valid = validateModelConfig(config);
  return valid.impl === 'layers' ? createLayersModel(valid, options) : createScratchModel(valid, options);
}
