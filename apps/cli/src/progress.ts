/** The per-epoch progress bar (on stderr when it is a terminal, else a line every 10 s) and number formatting. */
import cliProgress from 'cli-progress';
import { formatCount, formatPerplexity, formatRate } from './format.js';
import { progressLines } from './progress-lines.js';

export { formatBytes, formatCount, formatDuration, formatPerplexity, formatRate } from './format.js';

export interface EpochProgress {
  /** Called after each batch. */
  update(batch: number, values: { perplexity: number; tokensPerSecond: number; lr?: number }): void;
  /** Removes the bar (the caller prints the epoch's summary line instead). */
  stop(): void;
}

/** A bar for one epoch of `totalBatches`, or a line every 10 s when stderr is not a terminal (a log file). */
export function epochProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  epoch: number,
  epochs: number,
  totalBatches: number,
): EpochProgress {
  if (!stream.isTTY) return progressLines(stream, epoch, epochs, totalBatches);
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `epoch ${epoch}/${epochs} {bar} {value}/{total} batches | ppl {ppl} | lr {lr} | {speed} tok/s | ETA {eta_formatted}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalBatches, 0, { ppl: '-', lr: '-', speed: '-' });
  return {
    update(batch, values) {
      bar.update(batch, {
        ppl: formatPerplexity(values.perplexity),
        lr: formatRate(values.lr),
        speed: formatCount(values.tokensPerSecond),
      });
    },
    stop() {
      bar.stop();
    },
  };
}
