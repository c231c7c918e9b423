export { createLayersModel, type LayersModelOptions } from './layers-model.js';
export {
  copyLayersWeightsToScratch,
  copyScratchWeightsToLayers,
  layersToScratchWeights,
  loadWeights,
  type NamedWeights,
  namedWeights,
  scratchToLayersWeights,
  weightNameMapping,
} from './weights.js';
