// scripts/bench-generate.mjs (`pnpm bench:generate`) and the reference's --generate mode, kept cheap: a
// tiny model and a few tokens. The reference part skips where PyTorch is missing (CI installs it).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'bench-generate.mjs');
const PYTHON = process.env.RNNLM_PYTHON || '/usr/bin/python3';
const ENV = {
  ...process.env,
  LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-pthread',
  OPENBLAS_NUM_THREADS: '1',
};
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { env: ENV }).status === 0;
const tiny = ['--models', 'gru', '--impls', 'layers', '--layers', '2', '--hidden', '8', '--length', '60'];

function benchGenerate(args: string[]) {
  const run = spawnSync(process.execPath, [SCRIPT, ...tiny, '--num-samples', '3', ...args], {
    encoding: 'utf8',
    env: ENV,
  });
  expect(run.status, run.stderr).toBe(0);
  return {
    rows: run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
    stderr: run.stderr,
  };
}

const SPEED_FIELDS = [
  'tokens_per_s_batch1',
  'tokens_per_s_batched',
  'cpu_tokens_per_s_batch1',
  'cpu_tokens_per_s_batched',
];

describe('pnpm bench:generate', () => {
  it("measures rnnlm's generation on the kernels at batch 1 and batched, in the reference's fields", () => {
    const { rows, stderr } = benchGenerate(['--no-torch']);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ model: 'gru', layers: 2, hidden: 8, torch: null, ratio_batch1: null });
    expect(row.rnnlm).toMatchObject({ impl: 'rnnlm', mode: 'generate', vocab_size: 28, num_samples: 3 });
    expect(row.rnnlm.backend).toMatch(/^kernels/);
    for (const field of SPEED_FIELDS) expect(row.rnnlm[field]).toBeGreaterThan(0);
    expect(stderr).toMatch(/gru\s+2\s+\d+/);
  }, 60_000);

  it('takes its flags after the `--` that `pnpm bench:generate -- --flag` passes on', () => {
    const run = spawnSync(process.execPath, [SCRIPT, '--', ...tiny, '--no-torch'], {
      encoding: 'utf8',
      env: ENV,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ model: 'gru', layers: 2, hidden: 8 });
  }, 60_000);

  it.skipIf(!hasTorch)(
    'sets the PyTorch reference beside it, with the same fields and the ratios',
    () => {
      const { rows } = benchGenerate([]);
      const [row] = rows;
      expect(row.torch).toMatchObject({
        impl: 'torch',
        mode: 'generate',
        model: 'gru',
        layers: 2,
        vocab_size: 28,
      });
      for (const key of Object.keys(row.rnnlm).filter((k) => k !== 'version'))
        expect(row.torch).toHaveProperty(key);
      for (const field of SPEED_FIELDS) expect(row.torch[field]).toBeGreaterThan(0);
      expect(row.ratio_batch1).toBeCloseTo(row.rnnlm.tokens_per_s_batch1 / row.torch.tokens_per_s_batch1, 2);
    },
    120_000,
  );
});
