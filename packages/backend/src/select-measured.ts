/**
 * `auto` by measurement: start each candidate in turn, let the app time a few training steps of its
 * model there (on throwaway tensors it disposes: tfjs cannot move live tensors between backends, so
 * this runs before the real model exists), then start the fastest. Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  describeMeasurements,
  type Measurement,
  type MeasureOptions,
  type RememberedChoice,
} from './measure.js';
import {
  type Activation,
  type BackendCandidate,
  type BackendSelection,
  BackendUnavailableError,
  finish,
  reasonOf,
  selectFrom,
} from './select.js';
import { withFusedKernels } from './start-fused-kernels.js';

/**
 * What both entries' `selectBackend` do once they list their candidates: pick one (by `measure` when
 * `auto` has it, else the first that starts in order), then start the fused kernels with it.
 */
export async function selectAndStart<Name extends string>(
  candidates: readonly BackendCandidate<Name>[],
  requested: Name | 'auto',
  measure: MeasureOptions<Name> | undefined,
  threads: number,
): Promise<BackendSelection<Name>> {
  const startKernels = async (selection: BackendSelection<Name>) => {
    await tf.ready();
    return withFusedKernels(selection, threads);
  };
  const selection =
    requested === 'auto' && measure
      ? await selectMeasured(candidates, measure, startKernels)
      : await selectFrom(candidates, requested);
  return startKernels(selection);
}

/**
 * Picks the fastest candidate by `options.measure`, or the remembered answer for `options.key`.
 * `prepare` runs after a candidate starts and before it is measured (the fused kernels start there).
 */
export async function selectMeasured<Name extends string>(
  candidates: readonly BackendCandidate<Name>[],
  options: MeasureOptions<Name>,
  prepare: (selection: BackendSelection<Name>) => Promise<BackendSelection<Name>> = async (s) => s,
): Promise<BackendSelection<Name>> {
  const { memory, key } = options;
  if (memory && key === undefined) throw new Error('a memory for measured choices needs a key');
  const remembered = memory ? await memory.read(key!) : undefined;
  const rememberedCandidate = candidates.find((c) => c.name === remembered?.backend);
  if (remembered && rememberedCandidate) {
    const started = await tryActivate(rememberedCandidate);
    // A remembered backend that no longer starts (a package removed) is measured again below.
    if ('activation' in started && !started.activation.degraded) {
      const measurements = known(remembered, candidates);
      return measured(rememberedCandidate.name, started.activation, measurements, [], true);
    }
  }

  const reasons: string[] = [];
  const measurements: Measurement<Name>[] = [];
  const activations = new Map<Name, Activation<Name>>();
  for (const candidate of candidates) {
    const started = await tryActivate(candidate);
    if ('reason' in started) {
      reasons.push(`${candidate.name}: ${started.reason}`);
      continue;
    }
    const { activation } = started;
    if (activation.degraded) {
      // It runs as another candidate (tfjs-node-gpu without CUDA is `tensorflow`), measured on its own.
      reasons.push(`${candidate.name}: ${activation.degraded}`);
      continue;
    }
    try {
      await prepare(finish(candidate.name, activation, false, []));
      const best = Math.max(0, ...measurements.map((m) => m.tokensPerSecond));
      const tokensPerSecond = await options.measure(candidate.name, { best });
      if (!(tokensPerSecond > 0) || !Number.isFinite(tokensPerSecond)) {
        throw new Error(`measured ${tokensPerSecond} tokens/s`);
      }
      measurements.push({ backend: candidate.name, tokensPerSecond });
      activations.set(candidate.name, activation);
    } catch (error) {
      reasons.push(`${candidate.name}: training steps failed (${reasonOf(error)})`);
    }
  }
  if (measurements.length === 0) {
    throw new BackendUnavailableError(
      'auto',
      'no backend could run training steps',
      `No tfjs backend could run training steps: ${reasons.join('; ')}.`,
    );
  }
  const fastest = measurements.reduce((a, b) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));
  const winner = candidates.find((c) => c.name === fastest.backend)!;
  const restarted = await tryActivate(winner);
  if ('reason' in restarted) {
    throw new BackendUnavailableError(
      winner.name,
      restarted.reason,
      `Backend ${winner.name} ran fastest but did not start again: ${restarted.reason}. Pass --backend to pick one.`,
    );
  }
  if (memory) {
    const choice: RememberedChoice = {
      backend: winner.name,
      measurements,
      measuredAt: new Date().toISOString(),
    };
    await memory.write(key!, choice);
  }
  return measured(winner.name, restarted.activation, measurements, reasons, false);
}

type Started<Name extends string> = { activation: Activation<Name> } | { reason: string };

async function tryActivate<Name extends string>(candidate: BackendCandidate<Name>): Promise<Started<Name>> {
  try {
    return { activation: await candidate.activate() };
  } catch (error) {
    return { reason: reasonOf(error) };
  }
}

/** The remembered measurements of backends that are still candidates, typed as such. */
function known<Name extends string>(
  choice: RememberedChoice,
  candidates: readonly BackendCandidate<Name>[],
): Measurement<Name>[] {
  const names = new Set<string>(candidates.map((c) => c.name));
  return choice.measurements.filter((m): m is Measurement<Name> => names.has(m.backend));
}

function measured<Name extends string>(
  backend: Name,
  activation: Activation<Name>,
  measurements: Measurement<Name>[],
  reasons: string[],
  remembered: boolean,
): BackendSelection<Name> {
  const sorted = [...measurements].sort((a, b) => b.tokensPerSecond - a.tokensPerSecond);
  const selection = finish(backend, activation, false, []);
  let message = `backend ${backend} (${activation.device}; ${describeMeasurements(sorted, remembered)}`;
  if (reasons.length > 0) message += `; ${reasons.join('; ')}`;
  message += ')';
  if (selection.notes.length > 0) message += `; note: ${selection.notes.join('; ')}`;
  return { ...selection, reasons, measurements: sorted, remembered, message };
}
