import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const text = 'the quick brown fox jumps over the lazy dog and the cat sat on the mat. '.repeat(30);
const tiny = ['--backend', 'cpu', '--cell', 'gru', '--hidden', '8', '--batch-size', '4', '--num-steps', '8'];
let dir = '';
let corpus = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rnnlm-long-run-'));
  corpus = join(dir, 'tiny.txt');
  writeFileSync(corpus, text);
});

/** The bytes of a checkpoint's weights (and training state), wherever model.json points. */
function weights(out: string): Buffer {
  const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  const paths: string[] = model.weightsManifest.flatMap((group: { paths: string[] }) => group.paths);
  return Buffer.concat(paths.map((path) => readFileSync(join(out, path))));
}

describe('long runs', () => {
  it('mid-epoch checkpoints and validations, a time budget and a resume give the uninterrupted weights', async () => {
    const args = ['train', '--corpus', corpus, ...tiny, '--epochs', '2', '--seed', '3', '--json'];
    const straight = await runCli([...args, '--out', join(dir, 'straight')]);
    expect(straight.code, straight.stderr).toBe(0);
    const expected = weights(join(dir, 'straight'));

    // A checkpoint after every batch (0.00001 minutes), a validation every 5 batches on 50 tokens.
    const busy = await runCli([
      ...args,
      '--out',
      join(dir, 'busy'),
      '--checkpoint-every',
      '0.00001',
      '--valid-every',
      '5',
      '--valid-tokens',
      '50',
    ]);
    expect(busy.code, busy.stderr).toBe(0);
    const lines = busy.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.filter((line) => 'valid_perplexity' in line && 'batch' in line).length).toBeGreaterThan(5);
    expect(weights(join(dir, 'busy')).equals(expected)).toBe(true);

    // A 50 ms budget stops in the middle of the run with a checkpoint; resuming finishes it.
    const out = join(dir, 'budget');
    const stopped = await runCli([...args, '--out', out, '--time-budget', '0.05s']);
    expect(stopped.code, stopped.stderr).toBe(0);
    const last = JSON.parse(stopped.stdout.trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ done: false, stopped: 'time-budget' });
    const resumed = await runCli(['train', '--resume', out, '--backend', 'cpu', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ done: true, epochs: 2 });
    expect(weights(out).equals(expected)).toBe(true);
  });

  it('rejects a bad duration clearly', async () => {
    const result = await runCli(['train', '--corpus', corpus, ...tiny, '--time-budget', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/expected a duration such as 90s, 10m, 2h or 1h30m, got "soon"/);
  });
});
