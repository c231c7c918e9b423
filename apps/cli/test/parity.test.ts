// bench/parity.mjs: rnnlm's Trainer and the PyTorch reference from the same initial weights on the same
// minibatches, update by update. Runs where PyTorch is installed (as torch-reference.test.ts).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PYTHON = process.env.RNNLM_PYTHON || '/usr/bin/python3';
const ENV = {
  ...process.env,
  LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-pthread',
  OPENBLAS_NUM_THREADS: '1',
};
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { env: ENV }).status === 0;

describe.skipIf(!hasTorch)('bench/parity.mjs', () => {
  it("trains as torch.nn.LSTM with Adam, clipping and the cosine schedule do, loss for loss, but for torch's second bias", () => {
    const args = ['--steps', '12', '--hidden', '24', '--max-tokens', '20000', '--warmup-steps', '4'];
    const run = spawnSync(process.execPath, [join(ROOT, 'bench', 'parity.mjs'), ...args], {
      encoding: 'utf8',
      env: ENV,
    });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(result.rnnlm).toHaveLength(12);
    // The first loss is the same function of the same weights; each later one follows an update.
    expect(result.rnnlm[0]).toBeCloseTo(result.torch_one_bias[0], 5);
    // With b_hh held at zero torch has rnnlm's parameters: the updates agree to float32 rounding.
    expect(result.max_abs_diff_one_bias).toBeLessThan(1e-4);
    // As torch.nn.LSTM is, Adam moves both biases: the check sees that much of a difference.
    expect(result.max_abs_diff_two_biases).toBeGreaterThan(1e-3);
  });
});

describe.skipIf(!hasTorch)('bench/torch_reference.py --dropout-mode', () => {
  const reference = (args: string[]) =>
    spawnSync(PYTHON, [join(ROOT, 'bench', 'torch_reference.py'), ...args, '--threads', '1'], {
      env: ENV,
      encoding: 'utf8',
    });

  it('variational trains the torch.nn models layer by layer; the scratch cells refuse it', () => {
    const common = ['--hidden', '8', '--layers', '2', '--max-tokens', '3000', '--dropout', '0.3'];
    const small = ['--batch-size', '4', '--num-steps', '10'];
    const run = reference([
      ...common,
      ...small,
      '--model',
      'lstm',
      '--dropout-mode',
      'variational',
      '--optimizer',
      'adam',
      '--lr',
      '0.01',
      '--time-budget',
      '60',
      '--epochs',
      '1',
      '--valid-every',
      '10',
    ]);
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ dropout: 0.3, dropout_mode: 'variational' });
    expect(summary.validations.length).toBeGreaterThan(0);
    expect(summary.validations[0]).toMatchObject({ batch: 10 });
    const scratch = reference([...common, '--model', 'lstm-scratch', '--dropout-mode', 'variational']);
    expect(scratch.status).toBe(2);
    expect(scratch.stderr).toMatch(/--dropout-mode variational is for the torch.nn models/);
  });
});
