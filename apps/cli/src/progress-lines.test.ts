import { describe, expect, it } from 'vitest';
import { progressLines } from './progress-lines.js';

describe('progressLines', () => {
  it('prints one line per interval with batches, loss, the learning rate, tokens/s and ETA', () => {
    let time = 1_000_000;
    const written: string[] = [];
    const stream = { write: (line: string) => written.push(line) } as unknown as NodeJS.WritableStream;
    const progress = progressLines(stream, 2, 5, 1000, { everyMs: 10_000, now: () => time });
    for (let batch = 1; batch <= 400; batch++) {
      time += 100; // 0.1 s a batch: a line every 100 batches
      progress.update(batch, { perplexity: Math.E ** 2, tokensPerSecond: 12_345, lr: 0.001254 });
    }
    expect(written).toHaveLength(4);
    expect(written[0]).toBe(
      'epoch 2/5 batch 100/1,000 (10%) | loss 2.000 | ppl 7.39 | lr 0.00125 | 12,345 tok/s | epoch ETA 1m 30s\n',
    );
    expect(written[3]).toMatch(/^epoch 2\/5 batch 400\/1,000 \(40%\) .* epoch ETA 1m 00s\n$/);
  });

  it('stays quiet for an epoch shorter than the interval', () => {
    let time = 0;
    const written: string[] = [];
    const stream = { write: (line: string) => written.push(line) } as unknown as NodeJS.WritableStream;
    const progress = progressLines(stream, 1, 1, 50, { now: () => time });
    for (let batch = 1; batch <= 50; batch++) {
      time += 100;
      progress.update(batch, { perplexity: 10, tokensPerSecond: 1 });
    }
    expect(written).toEqual([]);
  });
});
