/**
 * The selection logic shared by the Node and browser entry points: try candidates in order, keep the
 * reason each one was skipped, and make a forced backend that cannot start an error saying how to
 * install it. Browser-safe (no tfjs import at all: the candidates do the tfjs work).
 */
import type { KernelsStatus } from '@rnnlm/kernels';
import type { Measurement } from './measure.js';

/** What a candidate reports when it starts. */
export interface Activation<Name extends string = string> {
  /** tfjs's own name for the active backend (`tf.getBackend()`). */
  tfjsBackend: string;
  /** Where the math runs, in words: "GPU (CUDA)", "CPU (WebAssembly, SIMD, 1 thread)", ... */
  device: string;
  /**
   * When the candidate started but is not what its name promises, the backend that actually runs
   * (tfjs-node-gpu without a usable CUDA device runs TensorFlow's CPU kernels: that is `tensorflow`).
   */
  runsAs?: Name;
  /** Why the candidate itself counts as skipped although a backend now runs (see `runsAs`). */
  degraded?: string;
  /** Facts worth printing about the running backend. */
  notes?: string[];
}

/** A backend to try: its name, how to start it, and what to tell the user when it cannot start. */
export interface BackendCandidate<Name extends string = string> {
  name: Name;
  /** Starts the backend, or throws `BackendUnavailableError` (any other error counts as one too). */
  activate(): Promise<Activation<Name>>;
  /** How to make this backend available, for the error when it was asked for and cannot start. */
  installHint: string;
}

/** Which backend runs and why the ones before it were skipped. */
export interface BackendSelection<Name extends string = string> {
  /** The backend that runs. */
  backend: Name;
  /** tfjs's name for it (`tf.getBackend()`): `tensorflow` for both native packages. */
  tfjsBackend: string;
  /** Where the math runs, in words. */
  device: string;
  /** True when the backend was asked for by name rather than picked. */
  forced: boolean;
  /** One line per backend tried before the one that runs: `"<name>: <why it was skipped>"`. */
  reasons: string[];
  /** Facts worth printing about the running backend (for example a tfjs-core version mismatch). */
  notes: string[];
  /** The whole story on one line, for logs: which backend, where it runs, what was skipped and why. */
  message: string;
  /**
   * The fused recurrent kernels (@rnnlm/kernels), started on the backends they run on (wasm and cpu):
   * how many threads they use, or why they do not run. Absent on other backends.
   */
  fusedKernels?: KernelsStatus;
  /** When `auto` chose by measuring: every backend's measured tokens/s, fastest first. */
  measurements?: Measurement<Name>[];
  /** True when the measurements come from an earlier run with the same device and model shape. */
  remembered?: boolean;
}

/** A backend that was asked for by name and cannot start. The message says how to install it. */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
  constructor(
    readonly backend: string,
    readonly reason: string,
    message = reason,
  ) {
    super(message);
  }
}

/** Tries `candidates` in order (or only the one named by `requested`) and reports the outcome. */
export async function selectFrom<Name extends string>(
  candidates: readonly BackendCandidate<Name>[],
  requested: Name | 'auto' = 'auto',
): Promise<BackendSelection<Name>> {
  const names = candidates.map((c) => c.name);
  if (requested !== 'auto') {
    const candidate = candidates.find((c) => c.name === requested);
    if (!candidate) {
      throw new BackendUnavailableError(
        String(requested),
        'unknown backend',
        `Unknown backend "${requested}": choose one of auto, ${names.join(', ')}.`,
      );
    }
    let activation: Activation<Name>;
    try {
      activation = await candidate.activate();
    } catch (error) {
      const reason = reasonOf(error);
      throw new BackendUnavailableError(
        candidate.name,
        reason,
        `Backend ${candidate.name} is not available: ${reason}. ${candidate.installHint}`,
      );
    }
    if (activation.degraded) {
      throw new BackendUnavailableError(
        candidate.name,
        activation.degraded,
        `Backend ${candidate.name} is not available: ${activation.degraded}. ${candidate.installHint}`,
      );
    }
    return finish(candidate.name, activation, true, []);
  }

  const reasons: string[] = [];
  for (const candidate of candidates) {
    let activation: Activation<Name>;
    try {
      activation = await candidate.activate();
    } catch (error) {
      reasons.push(`${candidate.name}: ${reasonOf(error)}`);
      continue;
    }
    if (activation.degraded) reasons.push(`${candidate.name}: ${activation.degraded}`);
    return finish(activation.runsAs ?? candidate.name, activation, false, reasons);
  }
  throw new BackendUnavailableError(
    'auto',
    'no backend could start',
    `No tfjs backend could start: ${reasons.join('; ')}.`,
  );
}

/** The selection for the backend that runs (internal: shared with select-measured.ts). */
export function finish<Name extends string>(
  backend: Name,
  activation: Activation<Name>,
  forced: boolean,
  reasons: string[],
): BackendSelection<Name> {
  const notes = activation.notes ?? [];
  let message = `backend ${backend} (${activation.device})${forced ? ', as asked' : ''}`;
  if (reasons.length > 0) message += `; skipped ${reasons.join('; ')}`;
  if (notes.length > 0) message += `; note: ${notes.join('; ')}`;
  return {
    backend,
    tfjsBackend: activation.tfjsBackend,
    device: activation.device,
    forced,
    reasons,
    notes,
    message,
  };
}

/** One line saying why a candidate failed (internal: shared with select-measured.ts). */
export function reasonOf(error: unknown): string {
  if (error instanceof BackendUnavailableError) return error.reason;
  const text = error instanceof Error ? error.message : String(error);
  // Native loaders throw multi-line messages; the first line says what happened.
  return (text.split('\n').find((line) => line.trim() !== '') ?? text).trim().replace(/\.$/, '');
}
