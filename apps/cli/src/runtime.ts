/** Backend start-up, shared by the commands. */
import {
  type BackendSelection,
  BackendUnavailableError,
  type MeasureOptions,
  type NodeBackendName,
  selectBackend,
} from '@rnnlm/backend';
import { CliError, EXIT } from './errors.js';
import type { Io } from './flags.js';

/**
 * Starts the backend and prints which one runs and why the others were skipped (stderr: stdout is for
 * results). The native packages are loaded from here, where the CLI lists them as optional peers.
 * With `measure`, `auto` times the run's training steps on each backend and takes the fastest (train
 * only: generate, eval, export and bench take the static order, where a few steps say little).
 */
export async function startBackend(
  name: NodeBackendName | 'auto',
  io: Io,
  threads?: number,
  measure?: MeasureOptions<NodeBackendName>,
): Promise<BackendSelection<NodeBackendName>> {
  try {
    const selection = await selectBackend({
      backend: name,
      ...(threads === undefined ? {} : { threads }),
      ...(measure ? { measure } : {}),
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
