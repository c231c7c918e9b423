/**
 * Choosing a backend by measurement: the app times a few training steps of its own model on each
 * backend (this package must not know models: it receives a `measure` callback), the fastest wins,
 * and the answer is remembered per device and model shape so the next run skips measuring.
 * Browser-safe (no tfjs import: the candidates and the callback do the tfjs work).
 */

/** Tokens per second of a few training steps of the app's model on the backend that is active now. */
export type MeasureBackend<Name extends string = string> = (
  backend: Name,
  context: MeasureContext,
) => Promise<number>;

/** What a measurement knows about the ones before it. */
export interface MeasureContext {
  /** The best tokens/s measured so far (0 for the first backend): a measurement may stop early below it. */
  best: number;
}

/** One backend's measured speed. */
export interface Measurement<Name extends string = string> {
  backend: Name;
  tokensPerSecond: number;
}

/** Where a measured choice is kept between runs (a JSON file in Node, localStorage in the page). */
export interface ChoiceMemory {
  /** The choice remembered under `key`, if any. */
  read(key: string): Promise<RememberedChoice | undefined>;
  /** Remembers `choice` under `key`. */
  write(key: string, choice: RememberedChoice): Promise<void>;
}

/** What is remembered: the winner and every speed measured, for the backend line. */
export interface RememberedChoice {
  backend: string;
  measurements: Measurement[];
  /** When it was measured (ISO 8601), so a user can tell a stale answer. */
  measuredAt: string;
}

/** How `auto` measures: the callback, and optionally where to remember the answer and under what key. */
export interface MeasureOptions<Name extends string = string> {
  measure: MeasureBackend<Name>;
  memory?: ChoiceMemory;
  /** The device and the model shape, as one string (see `choiceKey`). Required with `memory`. */
  key?: string;
}

/** Joins the parts that make a measured answer valid: the device and the model shape. */
export function choiceKey(parts: Record<string, string | number | boolean>): string {
  return Object.keys(parts)
    .sort()
    .map((name) => `${name}=${parts[name]}`)
    .join(';');
}

/** `31,200 tokens/s`: a speed as the backend line prints it. */
export function formatTokensPerSecond(tokensPerSecond: number): string {
  const rounded =
    tokensPerSecond >= 100 ? Math.round(tokensPerSecond) : Number(tokensPerSecond.toPrecision(2));
  return `${rounded.toLocaleString('en-US')} tokens/s`;
}

/** `measured: wasm 31,200 tokens/s, cpu 410 tokens/s`, fastest first. */
export function describeMeasurements(measurements: readonly Measurement[], remembered: boolean): string {
  const sorted = [...measurements].sort((a, b) => b.tokensPerSecond - a.tokensPerSecond);
  const list = sorted.map((m) => `${m.backend} ${formatTokensPerSecond(m.tokensPerSecond)}`).join(', ');
  return `measured: ${list}${remembered ? ' (remembered)' : ''}`;
}

/** Options of `StepTimer`: how long a measurement may take. */
export interface StepTimerOptions {
  /** Tokens one training step processes (batch size x steps). */
  tokensPerStep: number;
  /** Untimed steps first (compilation, allocation). Default 1. */
  warmupSteps?: number;
  /** Timed steps at most. Default 5. */
  timedSteps?: number;
  /** Stop timing after this many milliseconds of timed steps (at least one step is timed). Default 2500. */
  capMs?: number;
  /** The best tokens/s so far: stop after the first timed step when this backend is clearly slower. */
  best?: number;
  /** "Clearly slower": below `best / slowerBy` after the first timed step. Default 2. */
  slowerBy?: number;
  /** The clock (injectable for tests). Default `performance.now`. */
  now?: () => number;
}

/**
 * Times training steps: call `start()` before the first step and `stepDone()` after each; it says when
 * to stop, and `tokensPerSecond` is the speed of the timed steps (warm-up excluded).
 */
export class StepTimer {
  readonly #options: Required<Omit<StepTimerOptions, 'now'>> & { now: () => number };
  #steps = 0;
  #timedFrom = 0;
  #last = 0;

  constructor(options: StepTimerOptions) {
    if (!(options.tokensPerStep > 0))
      throw new Error(`tokensPerStep must be positive, got ${options.tokensPerStep}`);
    this.#options = {
      warmupSteps: 1,
      timedSteps: 5,
      capMs: 2500,
      best: 0,
      slowerBy: 2,
      now: () => performance.now(),
      ...options,
    };
  }

  /** Call before the first step: the clock starts. */
  start(): void {
    this.#steps = 0;
    this.#timedFrom = this.#options.now();
  }

  /** Records a finished step; true when the measurement is complete. */
  stepDone(): boolean {
    const { warmupSteps, timedSteps, capMs, best, slowerBy, now } = this.#options;
    const at = now();
    this.#steps++;
    if (this.#steps <= warmupSteps) {
      this.#timedFrom = at;
      return false;
    }
    this.#last = at;
    const timed = this.#steps - warmupSteps;
    if (timed >= timedSteps || at - this.#timedFrom >= capMs) return true;
    return timed === 1 && best > 0 && this.tokensPerSecond < best / slowerBy;
  }

  /** Tokens per second of the timed steps so far (0 before the first). */
  get tokensPerSecond(): number {
    const timed = this.#steps - this.#options.warmupSteps;
    if (timed <= 0) return 0;
    const seconds = Math.max(this.#last - this.#timedFrom, 1e-3) / 1000;
    return (timed * this.#options.tokensPerStep) / seconds;
  }
}
