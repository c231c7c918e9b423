import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const tiny = ['--backend', 'cpu', '--hidden', '8', '--batch-size', '4', '--num-steps', '8', '--epochs', '1'];
let dir = '';
let corpus = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rnnlm-init-'));
  corpus = join(dir, 'fox.txt');
  writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(30));
});

const savedModel = (out: string) =>
  JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).modelTopology.model as Record<string, unknown>;

describe('rnnlm train --init', () => {
  it('saves the scheme in the checkpoint (the default leaves it out) and refuses another on --resume', async () => {
    const uniform = join(dir, 'uniform');
    const run = await runCli(['train', '--corpus', corpus, ...tiny, '--init', 'uniform', '--out', uniform]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('1 x 8, uniform init');
    expect(savedModel(uniform)).toMatchObject({ init: 'uniform' });

    const plain = join(dir, 'plain');
    const normal = await runCli(['train', '--corpus', corpus, ...tiny, '--out', plain]);
    expect(normal.code, normal.stderr).toBe(0);
    expect(Object.keys(savedModel(plain))).not.toContain('init');

    const changed = await runCli(['train', '--resume', uniform, '--epochs', '2', '--init', 'normal']);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain('--init normal (saved: uniform)');
    const resumed = await runCli(['train', '--resume', uniform, '--epochs', '2', '--backend', 'cpu']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(savedModel(uniform)).toMatchObject({ init: 'uniform' });
  });

  it('refuses an unknown scheme, naming the choices', async () => {
    const bad = await runCli([
      'train',
      '--corpus',
      corpus,
      ...tiny,
      '--init',
      'xavier',
      '--out',
      join(dir, 'bad'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--init.*normal, uniform/);
  });
});
