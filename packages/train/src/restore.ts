/**
 * Restoring a checkpoint of either implementation, synchronously: both model factories are imported
 * here (and so tfjs-layers). The generate-only entry (`@rnnlm/train/generate`) does without this file:
 * its `loadLanguageModel` imports tfjs-layers only for a checkpoint that needs it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { type RestoredCheckpoint, restoreCheckpointWith } from './checkpoint.js';
import { createModel } from './create-model.js';
import { fromArtifactsWith, type LoadedLanguageModel } from './load.js';

/**
 * Checks artifacts from any source and rebuilds the model with its weights (see
 * `restoreCheckpointWith`).
 */
export function restoreCheckpoint(artifacts: tf.io.ModelArtifacts): RestoredCheckpoint {
  return restoreCheckpointWith(artifacts, createModel);
}

/** Rebuilds the model and its vocabulary from checkpoint artifacts. */
export function fromArtifacts(artifacts: tf.io.ModelArtifacts): LoadedLanguageModel {
  return fromArtifactsWith(artifacts, createModel);
}
