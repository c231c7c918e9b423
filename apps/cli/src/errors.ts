/**
 * Exit codes and the one error type the commands throw. Every error a user can cause ends as one line
 * on stderr and one of these codes; anything else is a bug (exit 1).
 */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  input: 3,
  checkpoint: 4,
  backend: 5,
  diverged: 6,
  network: 7,
  hangup: 129,
  interrupted: 130,
  terminated: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table printed at the end of every --help. */
export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    internal error (a bug: rerun with --verbose and report the stack trace)
  2    usage error: unknown command, flag or value
  3    input error: corpus file missing, unreadable or not UTF-8; corpus empty or too short
  4    checkpoint error: model directory missing, unreadable, corrupt or incompatible; output directory
       taken, not a folder, not writable or in use by another rnnlm train; a save that could not complete
  5    backend unavailable (for example --backend tensorflow-gpu without @tensorflow/tfjs-node-gpu)
  6    training diverged (loss became NaN or infinite): lower --lr or set --clip
  7    download failed (offline, or the file did not match its checksum)
  130  interrupted by Ctrl-C (rnnlm train saves a resumable checkpoint first; generate prints what it made)
  129, 143  stopped by SIGHUP or SIGTERM, as by Ctrl-C`;

/** An error whose message is meant for the user as it stands, with the exit code it ends in. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message of any thrown value, on one line. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Wraps whatever a step throws as a `CliError` with the exit code of that step (reading the corpus,
 * loading a checkpoint, ...), unless it already is one. Library errors carry good messages; the step
 * knows which exit code they deserve.
 */
export async function during<T>(exitCode: ExitCode, step: () => Promise<T> | T, prefix?: string): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof CliError) throw error;
    const message = messageOf(error);
    throw new CliError(prefix ? `${prefix}: ${message}` : message, exitCode, { cause: error });
  }
}
