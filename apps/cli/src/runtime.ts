/** Backend start-up, output directories and small file helpers shared by the commands. */
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  type BackendSelection,
  BackendUnavailableError,
  type NodeBackendName,
  selectBackend,
} from '@rnnlm/backend';
import { CliError, EXIT } from './errors.js';
import type { Io } from './flags.js';

/**
 * Starts the backend and prints which one runs and why the others were skipped (stderr: stdout is for
 * results). The native packages are loaded from here, where the CLI lists them as optional peers.
 */
export async function startBackend(
  name: NodeBackendName | 'auto',
  io: Io,
  threads?: number,
): Promise<BackendSelection<NodeBackendName>> {
  try {
    const selection = await selectBackend({
      backend: name,
      ...(threads === undefined ? {} : { threads }),
      loaders: {
        'tensorflow-gpu': () => import(nativeSpecifier('gpu')),
        tensorflow: () => import(nativeSpecifier('cpu')),
      },
    });
    io.stderr.write(`${selection.message}\n`);
    return selection;
  } catch (error) {
    if (error instanceof BackendUnavailableError)
      throw new CliError(error.message, EXIT.backend, { cause: error });
    throw error;
  }
}

function nativeSpecifier(kind: 'gpu' | 'cpu'): string {
  // Variable specifiers: TypeScript must not try to resolve packages that are optional.
  return kind === 'gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
}

/** The file a saved model always has (the rest of the format is @rnnlm/train's). */
export const MODEL_FILE = 'model.json';

export function holdsModel(dir: string): boolean {
  return existsSync(join(dir, MODEL_FILE));
}

/**
 * Where `rnnlm train` saves. A directory that already holds a model is never overwritten by accident:
 * an explicit --out needs --force; the default name moves on to `rnnlm-model-2`, `-3`, ... so that
 * running the README's command twice keeps both models.
 */
export function chooseOutDir(opts: {
  out: string;
  outGiven: boolean;
  force: boolean;
  resume?: string;
}): string {
  if (opts.resume && !opts.outGiven) return resolve(opts.resume);
  const wanted = resolve(opts.out);
  if (opts.resume && resolve(opts.resume) === wanted) return wanted;
  if (!holdsModel(wanted) || opts.force) return wanted;
  if (opts.outGiven) {
    throw new CliError(
      `${opts.out} already holds a saved model: pass --force to overwrite it, --resume ${opts.out} to continue training it, or --out another directory`,
      EXIT.checkpoint,
    );
  }
  for (let n = 2; ; n++) {
    const candidate = join(dirname(wanted), `${basename(wanted)}-${n}`);
    if (!holdsModel(candidate)) return candidate;
  }
}

/** Writes a small file atomically: a temporary file in the same directory, then a rename. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}
