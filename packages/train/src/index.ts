export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointInput,
  type CheckpointMeta,
  type CheckpointModelJson,
  type CorpusSettings,
  checkArtifacts,
  fromModelJson,
  type RestoredCheckpoint,
  readMeta,
  restoreCheckpointWith,
  toArtifacts,
  toModelJson,
  weightsFilesOf,
} from './checkpoint.js';
export { clipByGlobalNorm, clipScale, globalNorm } from './clip.js';
export { createModel } from './create-model.js';
export {
  EXPORT_VOCABULARY_FORMAT,
  type ExportedModelInfo,
  type ExportedVocabulary,
  type ExportInputMapping,
  exportInputMapping,
  exportTfjsLayers,
  layersModelJson,
  type TfjsLayersExport,
  type TfjsLayersExportInput,
  type TfjsLayersModelOptions,
  toTfjsLayersModel,
} from './export.js';
// What an app needs to load a model and generate or score, also the lean `@rnnlm/train/generate` entry.
export * from './inference.js';
export { crossEntropy, perplexity, timeMajor } from './loss.js';
export {
  formatGiB,
  MAX_PARAMETERS,
  modelSize,
  parameterCount,
  TRAINING_BYTES_PER_PARAMETER,
} from './model-size.js';
export {
  OPTIMIZER_NAMES,
  Optimizer,
  type OptimizerConfig,
  type OptimizerName,
  type OptimizerState,
  resolveOptimizerConfig,
  type UpdatePath,
} from './optimizers.js';
export { fromArtifacts, restoreCheckpoint } from './restore.js';
export {
  assembleRun,
  CorpusTooShortError,
  type NewRunOptions,
  type ResumedRunOptions,
  type Run,
  type RunOptions,
  type RunOptionsBase,
  type RunSettingNames,
} from './run.js';
export {
  LrSchedule,
  resolveScheduleConfig,
  SCHEDULE_NAMES,
  type ScheduleConfig,
  type ScheduleName,
  type ScheduleState,
  type ScheduleStep,
  ValidationWatch,
  type WatchState,
} from './schedule.js';
export {
  type BatchEndEvent,
  DIVERGENCE_MARGIN,
  DivergenceError,
  type EpochProgress,
  type EpochResult,
  evaluatePerplexity,
  type FitOptions,
  type FitResult,
  Trainer,
  type TrainerOptions,
  type TrainerState,
  type ValidationVerdict,
} from './trainer.js';
export {
  measureTrainingSpeed,
  type TrainingStepTimer,
  type TrainShape,
  trainShapeKey,
} from './training-speed.js';
