/**
 * Checkpoints on disk (Node only): a directory with `model.json` (tfjs layout: our metadata in
 * `modelTopology`, a weights manifest) and the weights file it names.
 *
 * Saving never leaves a half-written checkpoint, and never damages the one already there: the weights go
 * to a file name the current model.json does not use (`weights.bin` and `weights.b.bin` alternate), then
 * model.json is replaced by rename, the single atomic step that switches to the new checkpoint; only
 * then is the old weights file removed. A crash at any point leaves a loadable checkpoint.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { CHECKPOINT_FORMAT, fromModelJson, readMeta, toModelJson, weightsFilesOf } from './checkpoint.js';
import { layersModelJson, type TfjsLayersExport } from './export.js';

const MODEL_JSON = 'model.json';
const WEIGHT_FILES = ['weights.bin', 'weights.b.bin'];

/**
 * Saves checkpoint artifacts (from `toArtifacts`) to a directory, atomically (see above); refuses a directory
 * that holds something else than an rnnlm checkpoint.
 */
export async function saveCheckpoint(dir: string, artifacts: tf.io.ModelArtifacts): Promise<void> {
  readMeta(artifacts); // never write something that would not load
  await mkdir(dir, { recursive: true });
  const previous = await readModelJson(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new Error(
      `${join(dir, MODEL_JSON)} exists but is not a readable rnnlm checkpoint (${error.message}); ` +
        'choose another output directory rather than overwrite it',
    );
  });
  let previousWeights: string[] = [];
  if (previous) {
    try {
      previousWeights = weightsFilesOf(previous, join(dir, MODEL_JSON));
    } catch {
      throw new Error(
        `${join(dir, MODEL_JSON)} is not an rnnlm checkpoint; choose another output directory rather than overwrite it`,
      );
    }
  }
  const weightsName = WEIGHT_FILES.find((name) => !previousWeights.includes(name))!;
  const data = artifacts.weightData;
  const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
  await writeAtomically(
    join(dir, weightsName),
    buffers.map((b) => new Uint8Array(b)),
  );
  const modelJson = toModelJson(artifacts, weightsName);
  await writeAtomically(join(dir, MODEL_JSON), [
    new TextEncoder().encode(`${JSON.stringify(modelJson, null, 1)}\n`),
  ]);
  for (const old of previousWeights) {
    if (old !== weightsName && WEIGHT_FILES.includes(old)) await unlink(join(dir, old)).catch(() => {});
  }
}

/** Loads a checkpoint directory (or its model.json) as tfjs ModelArtifacts. */
export async function loadCheckpoint(path: string): Promise<tf.io.ModelArtifacts> {
  const dir = path.endsWith('.json') ? join(path, '..') : path;
  const exists = await stat(dir).catch(() => null);
  if (!exists) throw new Error(`no checkpoint at ${dir}: the directory does not exist`);
  let modelJson: unknown;
  try {
    modelJson = await readModelJson(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`no checkpoint at ${dir}: it has no model.json`);
    throw new Error(`${join(dir, MODEL_JSON)} is corrupt: ${(error as Error).message}`);
  }
  const where = join(dir, MODEL_JSON);
  const buffers: ArrayBuffer[] = [];
  for (const file of weightsFilesOf(modelJson, where)) {
    const bytes = await readFile(join(dir, file)).catch(() => {
      throw new Error(`the checkpoint's weights file ${join(dir, file)} is missing or unreadable`);
    });
    buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }
  return fromModelJson(modelJson, buffers, where);
}

async function readModelJson(dir: string): Promise<unknown> {
  const text = await readFile(join(dir, MODEL_JSON), 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error('it is not valid JSON');
  }
}

/** Writes a file by writing a temporary sibling, flushing it to disk, then renaming it into place. */
export async function writeAtomically(path: string, chunks: Uint8Array[]): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(tmp, 'w');
  try {
    for (const chunk of chunks) await handle.write(chunk);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw error;
  }
  await handle.close();
  await rename(tmp, path);
}

/**
 * A `tf.io` save handler that writes tfjs's standard layout into a directory: `model.json` (topology,
 * weights manifest, metadata) and `weights.bin`, the files `tf.loadLayersModel('file://…/model.json')`
 * (tfjs-node) or an http server reads. Weights are written first, `model.json` last, each atomically.
 */
export function directorySaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts) => {
      await mkdir(dir, { recursive: true });
      const data = artifacts.weightData;
      const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
      await writeAtomically(
        join(dir, EXPORT_WEIGHTS),
        buffers.map((b) => new Uint8Array(b)),
      );
      const modelJson = layersModelJson(artifacts, `./${EXPORT_WEIGHTS}`);
      const text = JSON.stringify(modelJson);
      await writeAtomically(join(dir, MODEL_JSON), [new TextEncoder().encode(text)]);
      const weightDataBytes = buffers.reduce((sum, b) => sum + b.byteLength, 0);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: text.length,
          weightDataBytes,
        },
      };
    },
  };
}

const EXPORT_WEIGHTS = 'weights.bin';
/** Where the step form goes inside an export directory. */
const STEP_DIR = 'step';
const VOCABULARY_JSON = 'vocabulary.json';

/**
 * Writes an export (see `exportTfjsLayers`) to a directory: `model.json` and `weights.bin` (the
 * LayersModel), `vocabulary.json`, and `step/` (the stateful batch-1 form) unless the model is
 * bidirectional. The directory must be new or empty, or `force` must be set; an rnnlm checkpoint is
 * never overwritten, `force` or not.
 */
export async function saveTfjsLayersExport(
  dir: string,
  exported: TfjsLayersExport,
  options: { force?: boolean } = {},
): Promise<string[]> {
  const existing: string[] = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw new Error(`cannot write to ${dir}: ${error.message}`);
  });
  if (existing.includes(MODEL_JSON)) {
    const json = (await readModelJson(dir).catch(() => null)) as { format?: unknown } | null;
    if (json?.format === CHECKPOINT_FORMAT) {
      throw new Error(
        `${dir} holds an rnnlm checkpoint, which the export would overwrite; choose another output directory`,
      );
    }
  }
  if (existing.length > 0 && !options.force) {
    throw new Error(
      `${dir} is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); ` +
        'choose a new directory, or pass force to replace the files an export writes there',
    );
  }
  await directorySaveHandler(dir).save!(exported.model);
  await writeAtomically(join(dir, VOCABULARY_JSON), [
    new TextEncoder().encode(`${JSON.stringify(exported.vocabulary)}\n`),
  ]);
  const written = [MODEL_JSON, EXPORT_WEIGHTS, VOCABULARY_JSON];
  if (exported.step) {
    await directorySaveHandler(join(dir, STEP_DIR)).save!(exported.step);
    written.push(`${STEP_DIR}/${MODEL_JSON}`, `${STEP_DIR}/${EXPORT_WEIGHTS}`);
  }
  return written;
}
