/**
 * Progress for a log file: when stderr is not a terminal a bar cannot redraw, so a long epoch prints
 * one plain line every `everyMs` instead (batches, loss, perplexity, tokens/s, the epoch's ETA), and
 * a log shows that the run is alive and how far it has come.
 */
import { formatCount, formatDuration, formatPerplexity, formatRate } from './format.js';
import type { EpochProgress } from './progress.js';

export interface ProgressLinesOptions {
  /** Milliseconds between lines; default 10 s. */
  everyMs?: number;
  /** The clock, in milliseconds (tests pass their own). */
  now?: () => number;
}

export function progressLines(
  stream: NodeJS.WritableStream,
  epoch: number,
  epochs: number,
  totalBatches: number,
  { everyMs = 10_000, now = Date.now }: ProgressLinesOptions = {},
): EpochProgress {
  const started = now();
  let last = started;
  return {
    update(batch, { perplexity, tokensPerSecond, lr }) {
      const time = now();
      if (time - last < everyMs) return;
      last = time;
      const perBatch = (time - started) / 1000 / batch;
      const eta = Math.max(0, totalBatches - batch) * perBatch;
      const percent = totalBatches > 0 ? ` (${Math.floor((100 * batch) / totalBatches)}%)` : '';
      stream.write(
        `epoch ${epoch}/${epochs} batch ${formatCount(batch)}/${formatCount(totalBatches)}${percent} | ` +
          `loss ${Math.log(perplexity).toFixed(3)} | ppl ${formatPerplexity(perplexity)} | ` +
          (lr === undefined ? '' : `lr ${formatRate(lr)} | `) +
          `${formatCount(tokensPerSecond)} tok/s | epoch ETA ${formatDuration(eta)}\n`,
      );
    },
    stop() {},
  };
}
