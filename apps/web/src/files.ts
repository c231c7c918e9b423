/**
 * Checkpoints as files: export downloads `model.json` and `weights.bin` (the layout `rnnlm train`
 * writes, so the CLI opens them), import reads a `model.json` and the weights files it names.
 */
import { fromModelJson, toModelJson, weightsFilesOf } from '@rnnlm/train';
import type * as tf from '@tensorflow/tfjs-core';

export function exportFiles(artifacts: tf.io.ModelArtifacts): void {
  download(
    'model.json',
    [JSON.stringify(toModelJson(artifacts, 'weights.bin'), null, 1)],
    'application/json',
  );
  download('weights.bin', [artifacts.weightData as ArrayBuffer], 'application/octet-stream');
}

/** Hands the browser a file to save, made of `parts`. */
export function download(name: string, parts: BlobPart[], type: string): void {
  const url = URL.createObjectURL(new Blob(parts, { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Reads a checkpoint from the files chosen together; `name` is what the page will keep it as. */
export async function importFiles(
  files: FileList | File[],
): Promise<{ name: string; artifacts: tf.io.ModelArtifacts }> {
  const list = Array.from(files);
  const jsonFile = list.find((f) => f.name.endsWith('.json'));
  if (!jsonFile) throw new Error("choose the checkpoint's model.json together with its weights file");
  let json: unknown;
  try {
    json = JSON.parse(await jsonFile.text());
  } catch {
    throw new Error(`${jsonFile.name} is not valid JSON: it is not an rnnlm checkpoint`);
  }
  const buffers: ArrayBuffer[] = [];
  for (const name of weightsFilesOf(json, jsonFile.name)) {
    const file = list.find((f) => f.name === name);
    if (!file) throw new Error(`${jsonFile.name} needs its weights file ${name}: choose both files together`);
    buffers.push(await file.arrayBuffer());
  }
  return {
    name: `imported-${jsonFile.name.replace(/\.json$/, '')}-${Date.now()}`,
    artifacts: fromModelJson(json, buffers, jsonFile.name),
  };
}
