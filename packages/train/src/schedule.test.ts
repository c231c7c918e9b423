import { SeqDataLoader } from '@rnnlm/data';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { toArtifacts } from './checkpoint.js';
import { createModel } from './create-model.js';
import { restoreCheckpoint } from './restore.js';
import { LrSchedule, resolveScheduleConfig, type ScheduleConfig } from './schedule.js';
import { toyVocab } from './test-utils/toy.js';
import { Trainer } from './trainer.js';

const at = (epoch: number, step: number, totalSteps = 100) => ({ epoch, step, totalSteps });

describe('LrSchedule', () => {
  it('constant keeps the rate', () => {
    const s = new LrSchedule({ name: 'constant' }, 0.1);
    expect([at(0, 0), at(7, 500)].map((a) => s.rate(a))).toEqual([0.1, 0.1]);
  });

  it('step decay multiplies by gamma every stepEvery epochs, down to minLr', () => {
    const s = new LrSchedule({ name: 'step', stepEvery: 2, gamma: 0.1, minLr: 0.0005 }, 1);
    // epochs 0,1: 1; 2,3: 0.1; 4,5: 0.01; 6: 0.001; 8: 0.0001 -> floored at 0.0005
    const rates = [0, 1, 2, 3, 4, 6, 8].map((e) => s.rate(at(e, e * 10)));
    expect(rates).toEqual([1, 1, 0.1, 0.1, 0.01, 0.001, 0.0005].map((r) => expect.closeTo(r, 12)));
  });

  it('cosine rises linearly over the warm-up, then follows half a cosine to minLr at the last step', () => {
    const s = new LrSchedule({ name: 'cosine', warmupSteps: 4, minLr: 0.1 }, 1.1);
    // warm-up: lr * (step + 1) / 4
    expect([0, 1, 2, 3].map((k) => s.rate(at(0, k, 24)))).toEqual(
      [0.275, 0.55, 0.825, 1.1].map((r) => expect.closeTo(r, 12)),
    );
    // after it: 0.1 + 1.0 * (1 + cos(pi * (step - 4) / 20)) / 2; step 14 is half way: 0.6
    expect(s.rate(at(0, 4, 24))).toBeCloseTo(1.1, 12);
    expect(s.rate(at(0, 14, 24))).toBeCloseTo(0.6, 12);
    expect(s.rate(at(0, 9, 24))).toBeCloseTo(0.1 + (1 + Math.SQRT1_2) / 2, 12);
    expect(s.rate(at(0, 24, 24))).toBeCloseTo(0.1, 12);
    expect(s.rate(at(0, 40, 24))).toBeCloseTo(0.1, 12);
    // a config's totalSteps wins over the run's
    const fixed = new LrSchedule({ name: 'cosine', totalSteps: 10 }, 2);
    expect(fixed.rate(at(0, 5, 1000))).toBeCloseTo(1, 12);
  });

  it('cosine annealed to a time budget falls over whichever ends first, its batches or the budget', () => {
    const s = new LrSchedule({ name: 'cosine', warmupSteps: 4, minLr: 0.1 }, 1.1);
    const cosineAt = (progress: number) => 0.1 + 0.5 * (1 + Math.cos(Math.PI * progress));
    // step 9 is a quarter of the batches after the warm-up; half the budget spent: the clock leads
    expect(s.rate({ ...at(0, 9, 24), timeFraction: 0.5 })).toBeCloseTo(cosineAt(0.5), 12);
    // a tenth of the budget spent: the batches lead, as without a budget
    expect(s.rate({ ...at(0, 9, 24), timeFraction: 0.1 })).toBeCloseTo(cosineAt(0.25), 12);
    expect(s.rate({ ...at(0, 9, 24), timeFraction: 0.1 })).toBe(s.rate(at(0, 9, 24)));
    // the budget spent (or overrun): the floor, whatever the batches say
    expect(s.rate({ ...at(0, 5, 24), timeFraction: 1 })).toBeCloseTo(0.1, 12);
    expect(s.rate({ ...at(0, 5, 24), timeFraction: 1.7 })).toBeCloseTo(0.1, 12);
    // the warm-up still rises by batches
    expect(s.rate({ ...at(0, 1, 24), timeFraction: 0.5 })).toBeCloseTo(cosineAt(0.5) * 0.5, 12);
    // the other schedules do not watch the clock
    const step = new LrSchedule({ name: 'step', gamma: 0.5 }, 1);
    expect(step.rate({ ...at(1, 10, 24), timeFraction: 0.9 })).toBe(0.5);
  });

  it('plateau decays by gamma after patience validations without a better perplexity, never below minLr', () => {
    const s = new LrSchedule({ name: 'plateau', gamma: 0.5, patience: 2, minLr: 0.2 }, 1);
    const seen: number[] = [];
    for (const [epoch, ppl] of [10, 9, 9.5, 9.2, 9.1, 8, 8.5, 8.5, 8.6, 8.7].entries()) {
      s.observe(ppl, epoch + 1);
      seen.push(s.rate(at(epoch + 1, 0)));
    }
    // bad validations: 9.5, 9.2 -> decay (0.5); 9.1 bad, 8 best, 8.5, 8.5 -> decay (0.25); 8.6, 8.7 -> 0.125, floored 0.2
    expect(seen).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2]);
    expect(s.getState().watch).toEqual({ best: 8, bestEpoch: 6, since: 0 });
  });

  it('refuses bad settings with what to change', () => {
    expect(() => resolveScheduleConfig({ name: 'linear' } as unknown as ScheduleConfig)).toThrow(
      /unknown learning-rate schedule "linear"; use one of constant, step, cosine, plateau/,
    );
    expect(() => resolveScheduleConfig({ name: 'step', gamma: 2 })).toThrow(
      /gamma must be in \(0, 1\], got 2/,
    );
    expect(() => resolveScheduleConfig({ name: 'step', stepEvery: 0 })).toThrow(/at least 1, got 0/);
    expect(() => resolveScheduleConfig({ name: 'cosine', warmupSteps: 1.5 })).toThrow(/warm-up/);
    expect(() => resolveScheduleConfig({ name: 'plateau', minLr: -1 })).toThrow(/minimum learning rate/);
  });
});

const text = 'the quick brown fox jumps over the lazy dog and the cat sat on the mat '.repeat(6);
const vocab = toyVocab(Array.from(text));
const ids = vocab.ids(Array.from(text));
/** Valid text unlike the training text: as the model fits the training text, its perplexity rises. */
const unlikeValid = () => vocab.ids(Array.from('eeee eeee eeee '.repeat(4)));
const weightsOf = (trainer: Trainer) => trainer.model.variables.flatMap((v) => Array.from(v.dataSync()));
const make = (schedule?: ScheduleConfig, lr = 0.02, patience?: number) => {
  const model = createModel(
    { impl: 'scratch', cell: 'gru', vocabSize: vocab.size, hidden: 8, layers: 1, bidirectional: false },
    { seed: 4 },
  );
  const loader = new SeqDataLoader(ids, { batchSize: 4, numSteps: 6, sampling: 'sequential', seed: 9 });
  return new Trainer(model, loader, {
    optimizer: { name: 'adam', lr },
    clip: 1,
    ...(schedule ? { schedule } : {}),
    ...(patience ? { patience } : {}),
  });
};
const done = (...trainers: Trainer[]) => {
  for (const t of trainers) {
    t.dispose();
    t.model.dispose();
  }
};

describe('Trainer with a schedule', () => {
  it("sets the optimizer's rate before each update: a warmed-up first batch equals a constant run at that rate", async () => {
    const stopAfterOne = () => {
      const controller = new AbortController();
      return { signal: controller.signal, onBatchEnd: () => controller.abort() };
    };
    const warm = make({ name: 'constant', warmupSteps: 4 }, 0.02);
    const lrs: number[] = [];
    const one = stopAfterOne();
    await warm.fit({
      epochs: 1,
      signal: one.signal,
      onBatchEnd: (e) => {
        lrs.push(e.lr);
        one.onBatchEnd();
      },
    });
    const plain = make(undefined, 0.005);
    const two = stopAfterOne();
    await plain.fit({ epochs: 1, ...two });
    const base = make(undefined, 0.02);
    const three = stopAfterOne();
    await base.fit({ epochs: 1, ...three });
    expect(lrs).toEqual([0.005]);
    const [a, b, c] = [weightsOf(warm), weightsOf(plain), weightsOf(base)];
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThan(1e-7);
    expect(Math.max(...a.map((x, i) => Math.abs(x - c[i]!)))).toBeGreaterThan(1e-3);
    done(warm, plain, base);
  });

  it('anneals the cosine to a time budget: each update at the rate of the batches or the clock, whichever is further', async () => {
    const trainer = make({ name: 'cosine', minLr: 0.001 }, 0.02);
    // A clock that spends the budget in 6 of the run's batches (each update asks it once).
    let asked = 0;
    const lrs: number[] = [];
    const controller = new AbortController();
    await trainer.fit({
      epochs: 2,
      signal: controller.signal,
      timeBudgetSpent: () => asked++ / 6,
      onBatchEnd: (e) => {
        lrs.push(e.lr);
        if (lrs.length === 8) controller.abort();
      },
    });
    expect(asked).toBe(8);
    const total = 2 * trainer.loader.maxBatchesPerEpoch;
    expect(total).toBeGreaterThan(8);
    const cosine = (progress: number) =>
      0.001 + 0.019 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
    const expected = lrs.map((_, k) => cosine(Math.max(k / total, k / 6)));
    expect(lrs).toEqual(expected.map((r) => expect.closeTo(r, 9)));
    expect(lrs.slice(6)).toEqual([0.001, 0.001].map((r) => expect.closeTo(r, 12)));
    // Without the clock the same run is still high at its 8th update.
    const plain = make({ name: 'cosine', minLr: 0.001 }, 0.02);
    const plainLrs: number[] = [];
    const stop = new AbortController();
    await plain.fit({
      epochs: 2,
      signal: stop.signal,
      onBatchEnd: (e) => {
        plainLrs.push(e.lr);
        if (plainLrs.length === 8) stop.abort();
      },
    });
    expect(plainLrs[7]).toBeCloseTo(cosine(7 / total), 9);
    expect(plainLrs[7]).toBeGreaterThan(0.01);
    done(trainer, plain);
  });

  it('reports each epoch at its own rate (step decay) and frees what it makes', async () => {
    const trainer = make({ name: 'step', gamma: 0.5 }, 0.02);
    await trainer.fit({ epochs: 1 });
    const before = tf.memory().numTensors;
    const { epochs } = await trainer.fit({ epochs: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(trainer.history.map((h) => h.lr)).toEqual([0.02, 0.01, 0.005]);
    expect(epochs.map((e) => e.epoch)).toEqual([2, 3]);
    done(trainer);
  });

  it.each<ScheduleConfig>([
    { name: 'cosine', warmupSteps: 3, minLr: 0.001 },
    { name: 'plateau', patience: 1, gamma: 0.5 },
  ])('resumed from a checkpoint after 3 epochs equals 6 epochs straight ($name)', async (schedule) => {
    const valid = unlikeValid();
    const straight = make(schedule, 0.05);
    await straight.fit({ epochs: 6, valid });
    const first = make(schedule, 0.05);
    // an interrupted 6-epoch run: the first fit fixes the cosine's length
    const controller = new AbortController();
    await first.fit({
      epochs: 6,
      valid,
      signal: controller.signal,
      onEpochEnd: (r) => void (r.epoch === 3 && controller.abort()),
    });
    expect(first.epoch).toBe(3);
    const artifacts = await toArtifacts({
      model: first.model,
      vocab,
      corpus: { token: 'char', clean: 'unicode' },
      trainer: first,
    });
    done(first);
    const restored = restoreCheckpoint(artifacts);
    const training = restored.meta.training!;
    expect(training.schedule?.config.name).toBe(schedule.name);
    const loader = new SeqDataLoader(ids, { batchSize: 4, numSteps: 6, sampling: 'sequential', seed: 1 });
    const resumed = new Trainer(restored.model, loader, {
      optimizer: training.optimizer.config,
      clip: 1,
      ...(training.schedule ? { schedule: training.schedule.config } : {}),
    });
    resumed.restore(training, restored.trainingTensors);
    restored.dispose();
    await resumed.fit({ epochs: 6, valid });
    expect(resumed.history.map((h) => h.lr)).toEqual(straight.history.map((h) => h.lr));
    // the schedule did change the rate within the run
    expect(new Set(straight.history.map((h) => h.lr)).size).toBeGreaterThan(1);
    const a = weightsOf(straight);
    const b = weightsOf(resumed);
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThan(1e-6);
    done(straight, resumed);
  });

  it('a checkpoint from before schedules (no schedule, no best) resumes at a constant rate', async () => {
    const first = make(undefined, 0.02);
    await first.fit({ epochs: 1 });
    const state = first.getState();
    delete state.schedule;
    delete state.best;
    delete state.patience;
    const tensors = new Map(first.tensors().map(({ name, tensor }) => [name, tensor]));
    const again = make(undefined, 0.02);
    again.restore(state, tensors);
    await again.fit({ epochs: 2 });
    expect(again.history.map((h) => h.lr)).toEqual([0.02, 0.02]);
    done(first, again);
  });
});

describe('early stopping', () => {
  it('stops after patience epochs without a better validation perplexity and knows the best epoch', async () => {
    const valid = unlikeValid();
    const trainer = make(undefined, 0.05, 1);
    const weights: number[][] = [];
    const result = await trainer.fit({
      epochs: 30,
      valid,
      onEpochEnd: () => void weights.push(weightsOf(trainer)),
    });
    const curve = result.epochs.map((e) => e.validPerplexity!);
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochs.length).toBeLessThan(30);
    // it stopped at the first epoch that did not beat the best before it
    const bestValue = Math.min(...curve);
    const bestEpoch = curve.indexOf(bestValue) + 1;
    expect(trainer.best).toEqual({ validPerplexity: bestValue, epoch: bestEpoch });
    expect(curve.length).toBe(bestEpoch + 1);
    expect(curve.at(-1)!).toBeGreaterThanOrEqual(bestValue);
    expect(weights).toHaveLength(curve.length);
    done(trainer);
  });

  it('refuses a patience that is not a whole number of validations', () => {
    expect(() => make(undefined, 0.02, 1.5)).toThrow(
      /patience must be a whole number of validations, at least 1, got 1.5/,
    );
  });
});

describe("validations between epochs (observeValidation, the CLI's --valid-every)", () => {
  /** Fits until `batches` batches of the epoch in progress are done. */
  const fitUntil = async (trainer: Trainer, batches: number, epochs = 1) => {
    const controller = new AbortController();
    await trainer.fit({
      epochs,
      signal: controller.signal,
      onBatchEnd: (e) => {
        if (e.batch === batches) controller.abort();
      },
    });
  };

  it('count for early stopping and the plateau schedule as epoch ends do, and mark where the best was', async () => {
    const trainer = make({ name: 'plateau', patience: 2, gamma: 0.5 }, 0.02, 3);
    await fitUntil(trainer, 1);
    expect(trainer.observeValidation(9)).toEqual({ improved: true, stop: false });
    await fitUntil(trainer, 2);
    expect(trainer.observeValidation(9.5)).toEqual({ improved: false, stop: false });
    expect(trainer.observeValidation(9.5)).toEqual({ improved: false, stop: false });
    // Two without a better one: the plateau schedule halves the rate of the next update.
    expect(trainer.schedule.rate({ epoch: 0, step: trainer.optimizer.step, totalSteps: 10 })).toBeCloseTo(
      0.01,
      12,
    );
    expect(trainer.observeValidation(10)).toEqual({ improved: false, stop: true });
    expect(trainer.best).toEqual({ validPerplexity: 9, epoch: 1, batch: 1 });
    // The count is in the checkpoint's state.
    expect(trainer.getState().best).toMatchObject({ best: 9, bestEpoch: 1, bestBatch: 1, since: 3 });
    expect(() => trainer.observeValidation(Number.NaN)).toThrow(/a validation perplexity is a finite number/);
    done(trainer);
  });

  it("after an epoch's last batch: that epoch's end reuses it rather than measuring and counting it again", async () => {
    const valid = unlikeValid();
    // How many batches the first epoch has (the random start offset decides).
    const probe = make(undefined, 0.02);
    let last = 0;
    await probe.fit({
      epochs: 1,
      onBatchEnd: (e) => {
        last = e.batch;
      },
    });
    const trainer = make(undefined, 0.02, 1);
    await fitUntil(trainer, last);
    expect(trainer.getState().progress?.batch).toBe(last);
    trainer.observeValidation(7.25);
    const { epochs } = await trainer.fit({ epochs: 1, valid });
    expect(epochs.map((e) => e.validPerplexity)).toEqual([7.25]);
    // One validation counted, not two: patience 1 is not spent by the same weights measured twice.
    expect(trainer.getState().best).toMatchObject({ best: 7.25, since: 0 });
    const more = await trainer.fit({ epochs: 2, valid });
    expect(more.epochs[0]!.validPerplexity).not.toBe(7.25);
    done(probe, trainer);
  });
});
