/**
 * Ctrl-C (SIGINT), a closing terminal (SIGHUP) and a service manager's stop (SIGTERM) all mean "stop
 * now, keep what you have": the work in progress ends cleanly (training saves a resumable checkpoint)
 * and the command exits with the conventional 128 + the signal's number. A second signal while that
 * happens is acknowledged and otherwise ignored, so that it cannot cut a save short.
 */

import { EXIT, type ExitCode } from './errors.js';
import type { Io } from './flags.js';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export const SIGNAL_EXIT: Record<StopSignal, ExitCode> = {
  SIGINT: EXIT.interrupted,
  SIGTERM: EXIT.terminated,
  SIGHUP: EXIT.hangup,
};

export interface StopRequest {
  /** Aborted on the first signal. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  readonly received: StopSignal | undefined;
  /** Restores the default handling of the signals. */
  dispose(): void;
}

/** Catches the stop signals until `dispose`; `finishing` says what a second signal waits for. */
export function catchStopSignals(io: Io, finishing: string): StopRequest {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const handler = (signal: StopSignal) => {
    if (received === undefined) {
      received = signal;
      controller.abort();
    } else {
      io.stderr.write(`\n${signal}: ${finishing}, one moment\n`);
    }
  };
  for (const name of STOP_SIGNALS) process.on(name, handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose: () => {
      for (const name of STOP_SIGNALS) process.off(name, handler);
    },
  };
}
