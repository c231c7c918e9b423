import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// A shape far from every default (lstm, hidden 256, batch 32, 35 steps, adam), so that a measurement
// on the flags' defaults instead of the checkpoint's shape shows in the remembered key.
const saved = [
  '--cell',
  'gru',
  '--hidden',
  '8',
  '--batch-size',
  '4',
  '--num-steps',
  '8',
  '--optimizer',
  'sgd',
];
let dir = '';
let out = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rnnlm-resume-measure-'));
  const corpus = join(dir, 'fox.txt');
  writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(30));
  out = join(dir, 'model');
  const trained = await runCli([
    'train',
    '--corpus',
    corpus,
    ...saved,
    '--lr',
    '1',
    '--backend',
    'cpu',
    '--epochs',
    '1',
    '--out',
    out,
  ]);
  expect(trained.code, trained.stderr).toBe(0);
});

describe('rnnlm train --resume with --backend auto', () => {
  it('refuses differing flags or nothing left to train before any backend starts, so nothing is measured', async () => {
    const cache = join(dir, 'cache-refused');
    const env = { RNNLM_CACHE_DIR: cache };
    const differing = await runCli(['train', '--resume', out, '--hidden', '16', '--epochs', '2'], { env });
    expect(differing.code).toBe(2);
    expect(differing.stderr).toMatch(/--hidden 16 \(saved: 8\)/);
    const done = await runCli(['train', '--resume', out], { env });
    expect(done.code).toBe(2);
    expect(done.stderr).toMatch(/has already trained 1 epochs: pass --epochs/);
    for (const refused of [differing, done]) {
      expect(refused.stderr).not.toMatch(/^backend /m);
      expect(refused.stderr).not.toContain('measured');
      expect(refused.stderr.trim().split('\n')).toHaveLength(1); // the one error line
    }
    expect(existsSync(join(cache, 'backend-choices.json'))).toBe(false);
  });

  it('measures the backends on the shape the checkpoint saved, and remembers it for that shape', async () => {
    const env = { RNNLM_CACHE_DIR: join(dir, 'cache-valid') };
    const resumed = await runCli(['train', '--resume', out, '--epochs', '2'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      /^backend (wasm|cpu) \(.*; measured: (wasm|cpu) [\d,]+ tokens\/s, (wasm|cpu) [\d,]+ tokens\/s;/m,
    );
    const file = JSON.parse(readFileSync(join(dir, 'cache-valid', 'backend-choices.json'), 'utf8'));
    const keys = Object.keys(file.choices);
    expect(keys).toHaveLength(1);
    const key = Object.fromEntries(keys[0]!.split(';').map((part) => part.split('=')));
    expect(key).toMatchObject({
      cell: 'gru',
      hidden: '8',
      batch: '4',
      steps: '8',
      optimizer: 'sgd',
      layers: '1',
    });

    const again = await runCli(['train', '--resume', out, '--epochs', '3'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^backend (wasm|cpu) \(.*tokens\/s \(remembered\)\)/m);
  });
});
