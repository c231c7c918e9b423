import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const tiny = [
  '--backend',
  'cpu',
  '--cell',
  'gru',
  '--hidden',
  '8',
  '--layers',
  '2',
  '--batch-size',
  '4',
  '--num-steps',
  '8',
];
let dir = '';
let corpus = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rnnlm-dropout-'));
  corpus = join(dir, 'fox.txt');
  writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(30));
});

/** The bytes of a checkpoint's weights (and training state), wherever model.json points. */
function weights(out: string): Buffer {
  const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  const paths: string[] = model.weightsManifest.flatMap((group: { paths: string[] }) => group.paths);
  return Buffer.concat(paths.map((path) => readFileSync(join(out, path))));
}

describe('rnnlm train --dropout', () => {
  it('saves the dropout in the checkpoint, and an interrupted run resumed equals one run straight through', async () => {
    const args = ['train', '--corpus', corpus, ...tiny, '--dropout', '0.3', '--dropout-mode', 'variational'];
    const straight = join(dir, 'straight');
    const run = await runCli([...args, '--epochs', '2', '--out', straight]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('2 x 8, dropout 0.3 (variational)');
    const saved = readFileSync(join(straight, 'model.json'), 'utf8');
    expect(JSON.parse(saved).modelTopology.model).toMatchObject({ dropout: 0.3, dropoutMode: 'variational' });

    const parts = join(dir, 'parts');
    const first = await runCli([...args, '--epochs', '1', '--out', parts]);
    expect(first.code, first.stderr).toBe(0);
    const rest = await runCli(['train', '--resume', parts, '--epochs', '2', '--backend', 'cpu']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(weights(parts).equals(weights(straight))).toBe(true);

    // Dropout changes the run: the same command without it trains other weights.
    const plain = join(dir, 'plain');
    const without = await runCli(['train', '--corpus', corpus, ...tiny, '--epochs', '2', '--out', plain]);
    expect(without.code, without.stderr).toBe(0);
    const plainModel = JSON.parse(readFileSync(join(plain, 'model.json'), 'utf8')).modelTopology.model;
    expect(Object.keys(plainModel)).not.toContain('dropout');
    expect(weights(plain).equals(weights(straight))).toBe(false);

    // Changing it on --resume is refused, naming the saved value.
    const changed = await runCli(['train', '--resume', parts, '--epochs', '3', '--dropout', '0.5']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain('--dropout 0.5 (saved: 0.3)');
    expect(changed.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a rate outside [0, 1) and an unknown mode, saying what is allowed', async () => {
    const args = ['train', '--corpus', corpus, ...tiny, '--out', join(dir, 'bad')];
    const one = await runCli([...args, '--dropout', '1']);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/--dropout.*expected a number < 1, got 1/);
    const mode = await runCli([...args, '--dropout', '0.2', '--dropout-mode', 'gaussian']);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toMatch(/--dropout-mode.*standard, variational/);
  });
});
