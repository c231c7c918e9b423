/**
 * "Export for tf.loadLayersModel": the page's model as a standard tfjs LayersModel (see
 * `exportTfjsLayers` in @rnnlm/train) that any tfjs page or script opens without rnnlm. Downloads, in
 * tfjs's own naming: `rnnlm-tfjs.json` with `rnnlm-tfjs.weights.bin`, the stateful step form
 * `rnnlm-tfjs-step.json` with its weights (not for bidirectional models), and `rnnlm-tfjs-vocabulary.json`
 * (the token of each id).
 */
import type { LanguageModel } from '@rnnlm/cells';
import type { Vocab } from '@rnnlm/text';
import { type CorpusSettings, exportTfjsLayers, layersModelJson } from '@rnnlm/train';
import type * as tf from '@tensorflow/tfjs-core';
import { download } from './files.js';

/** Downloads the export of a model the page holds. */
export async function downloadTfjsLayers(
  model: LanguageModel,
  vocab: Vocab,
  corpus: CorpusSettings,
): Promise<void> {
  const exported = await exportTfjsLayers({
    model,
    tokens: vocab.toJSON().tokens,
    token: corpus.token,
    clean: corpus.clean,
  });
  downloadModel('rnnlm-tfjs', exported.model);
  if (exported.step) downloadModel('rnnlm-tfjs-step', exported.step);
  download('rnnlm-tfjs-vocabulary.json', [JSON.stringify(exported.vocabulary)], 'application/json');
}

function downloadModel(name: string, artifacts: tf.io.ModelArtifacts): void {
  const json = layersModelJson(artifacts, `./${name}.weights.bin`);
  download(`${name}.json`, [JSON.stringify(json)], 'application/json');
  const weights = artifacts.weightData ?? [];
  download(`${name}.weights.bin`, Array.isArray(weights) ? weights : [weights], 'application/octet-stream');
}
