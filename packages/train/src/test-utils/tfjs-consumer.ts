// How a consumer of an export opens it: only @tensorflow/tfjs and the files, no rnnlm package. Reads the
// standard model.json, concatenates the weights files its manifest names, and hands both to
// tf.loadLayersModel through tf.io.fromMemory (what tfjs-node's file:// handler does, without tfjs-node).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export async function loadExportedModel(modelJsonPath: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
  const paths = json.weightsManifest.flatMap((group) => group.paths);
  const bytes = paths.map((path) => readFileSync(join(dirname(modelJsonPath), path)));
  const weightData = Buffer.concat(bytes);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: weightData.buffer.slice(
        weightData.byteOffset,
        weightData.byteOffset + weightData.byteLength,
      ),
    }),
  );
}

/** The exported vocabulary file, parsed. */
export function readVocabulary(path: string): { tokens: string[]; token: string; join: string } {
  return JSON.parse(readFileSync(path, 'utf8'));
}
