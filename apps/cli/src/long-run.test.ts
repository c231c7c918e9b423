import { describe, expect, it } from 'vitest';
import { LongRunClock, parseDuration } from './long-run.js';

describe('LongRunClock', () => {
  it('asks for a checkpoint every interval, validation every n batches, and a stop at the budget', () => {
    let time = 0;
    const clock = new LongRunClock({
      checkpointEveryMinutes: 1,
      timeBudgetSeconds: 150,
      validEvery: 7,
      now: () => time,
    });
    const reasons: Array<[number, string]> = [];
    for (let batch = 1; batch <= 100; batch++) {
      time += 2000; // 2 s a batch
      const due = clock.afterBatch(batch);
      if (due.includes('checkpoint')) clock.checkpointed();
      for (const reason of due) reasons.push([batch, reason]);
      if (due.includes('time-budget')) break;
    }
    expect(reasons.filter(([, r]) => r === 'checkpoint').map(([b]) => b)).toEqual([30, 60]);
    expect(reasons.filter(([, r]) => r === 'validate').map(([b]) => b)).toEqual([
      7, 14, 21, 28, 35, 42, 49, 56, 63, 70,
    ]);
    expect(reasons.at(-1)).toEqual([75, 'time-budget']);
  });

  it('tells the share of the budget spent, for a schedule annealed to it', () => {
    let time = 1_000;
    const clock = new LongRunClock({ timeBudgetSeconds: 200, now: () => time });
    expect(clock.budgetSpent()).toBe(0);
    time += 50_000;
    expect(clock.budgetSpent()).toBe(0.25);
    time += 170_000;
    expect(clock.budgetSpent()).toBe(1);
    expect(new LongRunClock({ now: () => time }).budgetSpent()).toBe(0);
  });

  it('asks for nothing by default', () => {
    let time = 0;
    const clock = new LongRunClock({ now: () => time });
    for (let batch = 1; batch <= 1000; batch++) {
      time += 60_000;
      expect(clock.afterBatch(batch)).toEqual([]);
    }
  });
});

describe('parseDuration', () => {
  it('reads seconds, minutes, hours and plain minutes', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('2')).toBe(120);
    for (const bad of ['', 'soon', '0m', '-5m', '10 minutes'])
      expect(() => parseDuration(bad)).toThrow(/expected a duration/);
  });
});
