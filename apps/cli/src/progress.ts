/** The per-epoch progress bar (on stderr, only when it is a terminal) and number formatting. */
import cliProgress from 'cli-progress';

export interface EpochProgress {
  /** Called after each batch. */
  update(batch: number, values: { perplexity: number; tokensPerSecond: number }): void;
  /** Removes the bar (the caller prints the epoch's summary line instead). */
  stop(): void;
}

/** A bar for one epoch of `totalBatches`, or a no-op when stderr is not a terminal. */
export function epochProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  epoch: number,
  epochs: number,
  totalBatches: number,
): EpochProgress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `epoch ${epoch}/${epochs} {bar} {value}/{total} batches | ppl {ppl} | {speed} tok/s | ETA {eta_formatted}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalBatches, 0, { ppl: '-', speed: '-' });
  return {
    update(batch, values) {
      bar.update(batch, {
        ppl: formatPerplexity(values.perplexity),
        speed: formatCount(values.tokensPerSecond),
      });
    },
    stop() {
      bar.stop();
    },
  };
}

export function formatPerplexity(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value >= 1000 ? value.toExponential(2) : value.toFixed(2);
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m < 60
    ? `${m}m ${String(s).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
