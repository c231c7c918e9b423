/**
 * Checkpoints on disk (Node only): a directory with `model.json` (tfjs layout: our metadata in
 * `modelTopology`, a weights manifest) and the weights file it names.
 *
 * Saving never leaves a half-written checkpoint, and never damages the one already there: the weights go
 * to a file name the current model.json does not use (`weights.bin` and `weights.b.bin` alternate), then
 * model.json is replaced by rename, the single atomic step that switches to the new checkpoint; only
 * then is the old weights file removed. A crash at any point leaves a loadable checkpoint.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, unlinkSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { CHECKPOINT_FORMAT, fromModelJson, readMeta, toModelJson, weightsFilesOf } from './checkpoint.js';
import { layersModelJson, type TfjsLayersExport } from './export.js';
import {
  type LoadedLanguageModel,
  type LoadOptions,
  loadLanguageModel as loadLanguageModelAnywhere,
  type ModelSource,
} from './load.js';
import { fromArtifacts } from './restore.js';

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
  const modelJson = toModelJson(artifacts, weightsName);
  try {
    await writeAtomically(
      join(dir, weightsName),
      buffers.map((b) => new Uint8Array(b)),
    );
    try {
      await writeAtomically(join(dir, MODEL_JSON), [
        new TextEncoder().encode(`${JSON.stringify(modelJson, null, 1)}\n`),
      ]);
    } catch (error) {
      // The new weights are no checkpoint's until model.json names them: drop them.
      await unlink(join(dir, weightsName)).catch(() => {});
      throw error;
    }
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; ${previous ? `the previous checkpoint in ${dir} is kept` : 'nothing was saved'}`,
      { cause: error },
    );
  }
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
    // A permission or I/O error says nothing about the file's contents: only a parse error means corrupt.
    if (code) throw new Error(`cannot read ${join(dir, MODEL_JSON)}: ${(error as Error).message}`);
    throw new Error(`${join(dir, MODEL_JSON)} is corrupt: ${(error as Error).message}`);
  }
  const where = join(dir, MODEL_JSON);
  const buffers: ArrayBuffer[] = [];
  const files = weightsFilesOf(modelJson, where);
  const described = describedBytes(modelJson);
  let total = 0;
  for (const file of files) {
    // Only regular files, and no more bytes than the manifest describes: a weights file that is a link
    // to /dev/zero or a pipe would otherwise be read for ever.
    const info = await stat(join(dir, file)).catch(() => null);
    if (!info) throw new Error(`the checkpoint's weights file ${join(dir, file)} is missing or unreadable`);
    if (!info.isFile())
      throw new Error(`the checkpoint's weights file ${join(dir, file)} is not a regular file`);
    total += info.size;
    if (described !== null && total > described) {
      throw new Error(
        `the checkpoint's weights files hold more than the ${described} bytes its model.json describes: they belong to another checkpoint`,
      );
    }
    const bytes = await readFile(join(dir, file)).catch(() => {
      throw new Error(`the checkpoint's weights file ${join(dir, file)} is missing or unreadable`);
    });
    buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }
  return fromModelJson(modelJson, buffers, where);
}

/** The bytes a model.json's manifest describes (float32 and int32 weights: 4 bytes each), or null if it cannot tell. */
function describedBytes(modelJson: unknown): number | null {
  const groups = (modelJson as { weightsManifest?: Array<{ weights?: tf.io.WeightsManifestEntry[] }> })
    .weightsManifest;
  let bytes = 0;
  for (const group of groups ?? []) {
    for (const spec of group.weights ?? []) {
      const per = spec.dtype === 'float32' || spec.dtype === 'int32' ? 4 : spec.dtype === 'bool' ? 1 : null;
      if (per === null || !Array.isArray(spec.shape)) return null;
      bytes += spec.shape.reduce((a, b) => a * b, 1) * per;
    }
  }
  return Number.isFinite(bytes) ? bytes : null;
}

/** A model.json larger than this is not one rnnlm wrote (a word vocabulary of a million takes ~30 MB). */
const MAX_MODEL_JSON_BYTES = 256 * 2 ** 20;

async function readModelJson(dir: string): Promise<unknown> {
  const path = join(dir, MODEL_JSON);
  // A link to /dev/zero or a pipe would be read until memory runs out: only a regular file of a sane size.
  const info = await stat(path);
  if (!info.isFile() || info.size > MAX_MODEL_JSON_BYTES) {
    throw Object.assign(
      new Error(
        info.isFile()
          ? `it holds ${info.size} bytes, more than a model.json of rnnlm's`
          : 'it is not a regular file',
      ),
      { code: 'EINVAL' },
    );
  }
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error('it is not valid JSON');
  }
}

/** Temporary files being written now, removed if the process exits before they are renamed. */
const pendingTemporaryFiles = new Set<string>();
let exitHookInstalled = false;

/**
 * Writes a file by writing a temporary sibling, flushing it to disk, checking it, then renaming it into
 * place. The temporary name is random and created exclusively without following links (a name planted
 * in a shared folder, a symbolic link included, makes the write fail instead of writing through it).
 * Every byte is written (a short write, as under a file-size limit or a quota, is continued and its
 * error reported), and the file is read back and compared before the rename: anything less leaves the
 * file at `path` as it was, and the temporary file removed.
 */
export async function writeAtomically(path: string, chunks: Uint8Array[]): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(8).toString('hex')}`;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const file of pendingTemporaryFiles) {
        try {
          unlinkSync(file);
        } catch {}
      }
    });
  }
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  const handle = await open(tmp, O_WRONLY | O_CREAT | O_EXCL | (O_NOFOLLOW ?? 0), 0o644);
  pendingTemporaryFiles.add(tmp);
  let handleOpen = true;
  try {
    const expected = createHash('sha256');
    let length = 0;
    for (const chunk of chunks) {
      await writeFully(handle, chunk);
      expected.update(chunk);
      length += chunk.byteLength;
    }
    await handle.sync();
    const { size } = await handle.stat();
    if (size !== length) throw new Error(`${size} of ${length} bytes reached the disk`);
    await handle.close();
    handleOpen = false;
    const written = await readFile(tmp);
    if (createHash('sha256').update(written).digest('hex') !== expected.digest('hex')) {
      throw new Error('the file read back differs from what was written');
    }
    await rename(tmp, path);
  } catch (error) {
    if (handleOpen) await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw new Error(`could not write ${path} completely: ${(error as Error).message}`, { cause: error });
  } finally {
    pendingTemporaryFiles.delete(tmp);
  }
  await syncDirectory(dirname(path));
}

/** Writes all of `chunk`, continuing after short writes; the write that cannot continue throws. */
async function writeFully(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    if (bytesWritten === 0) throw new Error('the disk accepted no more bytes');
    offset += bytesWritten;
  }
}

/** Flushes a rename to disk where the platform allows it (not on Windows, where it is not needed). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close();
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

/**
 * `loadLanguageModel` of @rnnlm/train, plus a checkpoint folder (or its model.json) on disk: any string
 * that is not an http(s):// or indexeddb:// URL is a path.
 */
export async function loadLanguageModel(
  source: ModelSource,
  options: LoadOptions = {},
): Promise<LoadedLanguageModel> {
  if (typeof source === 'string' && !/^(https?|indexeddb):\/\//i.test(source)) {
    return fromArtifacts(await loadCheckpoint(source.replace(/^file:\/\//, '')));
  }
  return loadLanguageModelAnywhere(source, options);
}
