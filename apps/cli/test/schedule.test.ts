import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const tiny = ['--backend', 'cpu', '--cell', 'gru', '--hidden', '8', '--batch-size', '4', '--num-steps', '8'];
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rnnlm-schedule-'));
});

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** The bytes of a checkpoint's weights (and training state), wherever model.json points. */
function weights(out: string): Buffer {
  const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  const paths: string[] = model.weightsManifest.flatMap((group: { paths: string[] }) => group.paths);
  return Buffer.concat(paths.map((path) => readFileSync(join(out, path))));
}

describe('rnnlm train: schedules, model size, early stopping', () => {
  it('prints the model size first and each epoch at its scheduled rate (step decay)', async () => {
    const corpus = join(dir, 'fox.txt');
    writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(30));
    const out = join(dir, 'step');
    const args = ['train', '--corpus', corpus, ...tiny, '--epochs', '3', '--lr', '0.02'];
    const run = await runCli([...args, '--lr-schedule', 'step', '--lr-gamma', '0.5', '--out', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines(run.stdout);
    // A GRU layer: input [V, 3h], recurrent [h, 3h], bias [3h]; the head [h, V] and its bias.
    const V = 28; // the pangram's 26 letters, the space and <unk>
    const h = 8;
    const parameters = V * 3 * h + h * 3 * h + 3 * h + h * V + V;
    expect(lines[0]).toEqual({ parameters, weight_bytes: 4 * parameters });
    expect(lines.filter((l) => 'epoch' in l && !('done' in l)).map((l) => l.lr)).toEqual([0.02, 0.01, 0.005]);
    expect(lines.at(-1)).toMatchObject({ done: true, lr: 0.005, parameters });

    const text = await runCli([
      ...args,
      '--lr-schedule',
      'cosine',
      '--warmup-steps',
      '3',
      '--out',
      join(dir, 'cos'),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`model: ${parameters.toLocaleString('en-US')} parameters, `);
    // cosine falls from 0.02 to its minimum (0) over the run's batches (the last epoch may be one
    // batch short of the loader's upper bound, so the last rate is near 0 rather than 0)
    const rate = (epoch: number) =>
      Number(
        new RegExp(`epoch ${epoch}/3: perplexity [\\d.]+, valid [\\d.]+, lr ([\\d.e-]+),`).exec(
          text.stdout,
        )?.[1],
      );
    expect(rate(1)).toBeLessThan(0.02);
    expect(rate(1)).toBeGreaterThan(rate(2));
    expect(rate(2)).toBeGreaterThan(rate(3));
    expect(rate(3)).toBeLessThan(0.02 * 0.01);
  });

  it('stops early with --patience and keeps the best epoch in <out>/best, equal to a run of that many epochs', async () => {
    // Train on alternating letters, validate on pairs: as the model learns the training text, its
    // validation perplexity rises.
    const corpus = join(dir, 'ab.txt');
    writeFileSync(corpus, `${'ab'.repeat(450)}${'aabb'.repeat(25)}`);
    const out = join(dir, 'early');
    const args = ['train', '--corpus', corpus, ...tiny, '--lr', '0.05', '--seed', '2', '--json'];
    const run = await runCli([...args, '--epochs', '20', '--patience', '1', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines(run.stdout);
    const epochs = lines.filter((l) => 'epoch' in l && !('done' in l));
    const valid = epochs.map((l) => l.valid_perplexity as number);
    const bestValue = Math.min(...valid);
    const bestEpoch = valid.indexOf(bestValue) + 1;
    const final = lines.at(-1)!;
    expect(final).toMatchObject({
      done: true,
      stopped_early: true,
      epochs: bestEpoch + 1,
      best: { valid_perplexity: bestValue, epoch: bestEpoch, out: join(out, 'best') },
    });
    expect(epochs.length).toBeLessThan(20);

    const exact = join(dir, 'exact');
    const again = await runCli([...args, '--epochs', String(bestEpoch), '--out', exact]);
    expect(again.code, again.stderr).toBe(0);
    expect(weights(join(out, 'best')).equals(weights(exact))).toBe(true);
    expect(weights(join(out, 'best')).equals(weights(out))).toBe(false);

    const evaluated = await runCli(['eval', '--model', join(out, 'best'), '--backend', 'cpu', '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);

    const plain = await runCli([
      ...args.filter((a) => a !== '--json'),
      '--epochs',
      '20',
      '--patience',
      '1',
      '--out',
      join(dir, 'early-text'),
    ]);
    expect(plain.stdout).toMatch(
      /stopped early after epoch \d+: 1 validations without a better valid perplexity/,
    );
    expect(plain.stdout).toMatch(
      new RegExp(`best valid perplexity [\\d.]+ at epoch ${bestEpoch}, saved to .*best`),
    );
  });

  it('with --valid-every, every validation counts for --patience and best/, mid-epoch ones too', async () => {
    const corpus = join(dir, 'ab.txt');
    writeFileSync(corpus, `${'ab'.repeat(450)}${'aabb'.repeat(25)}`);
    const out = join(dir, 'every');
    const args = ['train', '--corpus', corpus, ...tiny, '--lr', '0.05', '--seed', '2', '--json'];
    // About 28 batches an epoch: validations after batches 5, 10, ..., 25 and at each epoch's end.
    const run = await runCli([
      ...args,
      '--epochs',
      '20',
      '--valid-every',
      '5',
      '--patience',
      '3',
      '--out',
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines(run.stdout);
    const validations = lines.filter((l) => typeof l.valid_perplexity === 'number' && !('done' in l));
    const curve = validations.map((l) => l.valid_perplexity as number);
    const bestValue = Math.min(...curve);
    const bestAt = curve.indexOf(bestValue);
    // Stopped at the third validation after the best, epoch end or not.
    expect(curve.length).toBe(bestAt + 4);
    const final = lines.at(-1)!;
    expect(final).toMatchObject({ done: true, stopped_early: true });
    const best = validations[bestAt]!;
    const midEpoch = !('loss' in best);
    expect(final.best).toEqual({
      valid_perplexity: bestValue,
      epoch: best.epoch,
      ...(midEpoch ? { batch: best.batch } : {}),
      out: join(out, 'best'),
    });
    // best/ holds the weights of that moment: its saved training state stands where the best was.
    const saved = JSON.parse(readFileSync(join(out, 'best', 'model.json'), 'utf8')).modelTopology.training;
    expect(saved.epoch).toBe(midEpoch ? (best.epoch as number) - 1 : best.epoch);
    expect(saved.progress?.batch ?? null).toBe(midEpoch ? best.batch : null);
    expect(saved.best).toMatchObject({ best: bestValue, since: 0 });
    expect(weights(join(out, 'best')).equals(weights(out))).toBe(false);
  });

  it('a run forced into the folder of an older model removes the older best/ once it has saved, and a resume keeps its own', async () => {
    const corpus = join(dir, 'fox.txt');
    writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(30));
    const out = join(dir, 'replaced');
    const args = ['train', '--corpus', corpus, ...tiny, '--out', out];
    const first = await runCli([...args, '--epochs', '1']);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(out, 'best', 'model.json'))).toBe(true);

    // With validation, the forced run saves its own best: the folder holds the new run's pair.
    const validated = await runCli([...args, '--epochs', '1', '--seed', '5', '--force']);
    expect(validated.code, validated.stderr).toBe(0);
    expect(validated.stdout).not.toMatch(/removed/);
    expect(weights(join(out, 'best')).equals(weights(out))).toBe(true);

    // A resumed run keeps the best it continues from, even when it validates no more.
    const resumed = await runCli(['train', '--resume', out, '--epochs', '2', '--backend', 'cpu']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(existsSync(join(out, 'best', 'model.json'))).toBe(true);

    // Without validation, the forced run's model would sit beside the replaced run's best.
    const unvalidated = await runCli([...args, '--epochs', '1', '--valid-fraction', '0', '--force']);
    expect(unvalidated.code, unvalidated.stderr).toBe(0);
    expect(unvalidated.stdout).toMatch(/removed .*best: it was the best of the run this one replaced/);
    expect(existsSync(join(out, 'best'))).toBe(false);
    expect(existsSync(join(out, 'model.json'))).toBe(true);
  });

  it('refuses --patience and the plateau schedule without validation text, saying what to change', async () => {
    const corpus = join(dir, 'fox.txt');
    const args = ['train', '--corpus', corpus, ...tiny, '--valid-fraction', '0', '--out', join(dir, 'none')];
    const run = await runCli([...args, '--patience', '2', '--lr-schedule', 'plateau']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /--patience and --lr-schedule plateau watch the validation perplexity, and --valid-fraction 0 holds no text out.*--valid-fraction above 0/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('anneals the cosine to --time-budget with --anneal-to-budget, and refuses it without a budget or a cosine', async () => {
    const corpus = join(dir, 'fox.txt');
    const args = ['train', '--corpus', corpus, ...tiny, '--lr', '0.02', '--lr-min', '0.001'];
    // The epochs would take days: without the flag the cosine would stay within 1e-7 of 0.02 all through.
    const run = await runCli([
      ...args,
      ...['--epochs', '100000', '--lr-schedule', 'cosine', '--time-budget', '6s', '--anneal-to-budget'],
      ...['--json', '--out', join(dir, 'anneal')],
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines(run.stdout);
    expect(lines.at(-1)).toMatchObject({ stopped: 'time-budget' });
    // The model the budget ends with, at the lowest rates, is measured as the run stops.
    expect(lines.at(-2)).toMatchObject({ valid_perplexity: expect.any(Number) });
    // Each epoch's last rate, asked of the clock: falling as the budget is spent, and well down by the
    // last epoch the budget let end (its end is within an epoch of the budget's, a fraction of it).
    const rates = lines.filter((l) => 'epoch' in l && 'lr' in l).map((l) => l.lr as number);
    expect(rates.length).toBeGreaterThan(1);
    for (const [k, lr] of rates.entries()) {
      expect(lr).toBeGreaterThanOrEqual(0.001);
      if (k > 0) expect(lr).toBeLessThan(rates[k - 1]!);
    }
    expect(rates.at(-1)).toBeLessThan(0.015);

    const noBudget = await runCli([
      ...args,
      '--lr-schedule',
      'cosine',
      '--anneal-to-budget',
      '--out',
      join(dir, 'x'),
    ]);
    expect(noBudget.code).toBe(2);
    expect(noBudget.stderr).toMatch(/--anneal-to-budget .* none is set: add --time-budget/);
    const constant = await runCli([
      ...args,
      '--time-budget',
      '1m',
      '--anneal-to-budget',
      '--out',
      join(dir, 'y'),
    ]);
    expect(constant.code).toBe(2);
    expect(constant.stderr).toMatch(/this run's schedule is constant: use --lr-schedule cosine/);
    expect(constant.stderr).not.toMatch(/\n\s+at /);

    // Resumed, the schedule is the checkpoint's: a constant one is refused too, saying when it was set.
    const saved = join(dir, 'constant');
    const first = await runCli([...args, '--epochs', '1', '--out', saved]);
    expect(first.code, first.stderr).toBe(0);
    const resumed = await runCli([
      'train',
      '--resume',
      saved,
      '--epochs',
      '2',
      '--time-budget',
      '1m',
      '--anneal-to-budget',
      '--backend',
      'cpu',
    ]);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(
      /this run's schedule is constant: use --lr-schedule cosine \(set when the run began\)/,
    );
  });

  it('refuses a different schedule on --resume, naming the saved one', async () => {
    const corpus = join(dir, 'fox.txt');
    const out = join(dir, 'resume');
    const first = await runCli([
      'train',
      '--corpus',
      corpus,
      ...tiny,
      '--epochs',
      '1',
      '--lr-schedule',
      'cosine',
      '--out',
      out,
    ]);
    expect(first.code, first.stderr).toBe(0);
    const resumed = await runCli([
      'train',
      '--resume',
      out,
      '--epochs',
      '2',
      '--lr-schedule',
      'step',
      '--backend',
      'cpu',
    ]);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/--lr-schedule step \(saved: cosine\)/);
  });
});
