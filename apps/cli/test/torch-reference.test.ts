// bench/torch_reference.py, the PyTorch reference that `pnpm bench:compare` runs, checked against
// `rnnlm bench` where PyTorch is installed (Debian's python3-torch). CI installs it (.ci/run), so there a
// missing torch fails instead of skipping; on a developer's machine without torch these tests skip.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { timeMachinePath } from '../../../fixtures/timemachine.js';
import { runCli } from './run-cli.js';

const REFERENCE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'bench',
  'torch_reference.py',
);
const PYTHON = process.env.RNNLM_PYTHON || '/usr/bin/python3';
// As bench:compare runs it: Debian's torch on OpenBLAS, one thread.
const ENV = {
  ...process.env,
  LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-pthread',
  OPENBLAS_NUM_THREADS: '1',
};
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { env: ENV }).status === 0;

describe.runIf(process.env.CI)('in CI', () => {
  it('has torch, so the reference below runs rather than skips', () => {
    expect(hasTorch, `${PYTHON} cannot import torch: .ci/run installs python3-torch`).toBe(true);
  });
});

function reference(args: string[]) {
  const run = spawnSync(PYTHON, [REFERENCE, ...args, '--threads', '1'], { env: ENV, encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const tiny = ['--hidden', '8', '--max-tokens', '2000', '--epochs', '2', '--print-every', '1'];

describe.skipIf(!hasTorch)('bench/torch_reference.py', () => {
  it('prints the fields rnnlm bench prints, for the same corpus and settings; scratch cells stack', async () => {
    const config = [...tiny, '--model', 'lstm-scratch', '--layers', '2', '--corpus', timeMachinePath()];
    const torchRun = reference(config);
    expect(torchRun.code, torchRun.stderr).toBe(0);
    const torch = JSON.parse(torchRun.stdout);
    const ours = await runCli(['bench', ...config, '--backend', 'cpu']);
    expect(ours.code, ours.stderr).toBe(0);
    const rnnlm = JSON.parse(ours.stdout);

    expect(Object.keys(torch)).toEqual(expect.arrayContaining(Object.keys(rnnlm)));
    for (const key of [
      'model',
      'layers',
      'hidden',
      'token',
      'vocab_size',
      'corpus_tokens',
      'epochs',
      'seed',
      'lr',
    ]) {
      expect(torch[key], key).toEqual(rnnlm[key]);
    }
    expect(torch).toMatchObject({ impl: 'torch', backend: 'cpu', threads: 1, peak_tensor_mb: null });
    expect(Object.keys(torch.ppl_history)).toEqual(['1', '2']);
    expect(torch.final_ppl).toBe(torch.ppl_history[2]);
    expect(torch.final_ppl).toBeGreaterThan(1);
    expect(torch.final_ppl).toBeLessThan(torch.vocab_size);
    expect(torch.tokens_per_s).toBeGreaterThan(0);
    expect(torch.peak_rss_mb).toBeGreaterThan(0);
    expect(torch.sample).toMatch(/^time traveller.{50}$/);
    expect(torchRun.stderr).toMatch(/^epoch +2 +ppl +[\d.]+ +[\d.]+ tok\/s +elapsed +[\d.]+s$/m);
  });

  it("reproduces the original reference's published perplexity (rnn-scratch, 10 epochs: 14.9314)", () => {
    // The figure from the reference benchmark this script replaces (PyTorch 1.13, OpenBLAS): same data,
    // draws and arithmetic, so other builds of torch should land within a small fraction.
    const run = reference(['--model', 'rnn-scratch', '--epochs', '10', '--print-every', '10']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ vocab_size: 28, corpus_tokens: 10000, hidden: 256 });
    expect(Math.abs(result.final_ppl / 14.9314 - 1)).toBeLessThan(0.02);
  });

  it('words: the whole text, the same vocabulary as rnnlm', () => {
    const run = reference([
      '--model',
      'rnn',
      '--token',
      'word',
      '--max-tokens',
      '-1',
      '--hidden',
      '8',
      '--epochs',
      '1',
    ]);
    expect(run.code, run.stderr).toBe(0);
    // The figures of the original reference's word-level run (its vocabulary and corpus rules).
    expect(JSON.parse(run.stdout)).toMatchObject({ vocab_size: 4580, corpus_tokens: 32775 });
    expect(JSON.parse(run.stdout).sample).toMatch(/^time traveller( \S+){10}$/);
  });

  it('torch.nn models take an embedding, and a head tied to it: one parameter, counted once', () => {
    const run = (extra: string[]) => {
      const r = reference([...tiny, '--model', 'lstm', '--corpus', timeMachinePath(), ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const untied = run(['--embedding', '8']);
    const tied = run(['--embedding', '8', '--tie-weights']);
    const V = tied.vocab_size as number;
    // nn.Embedding [V, 8]; nn.LSTM input and recurrent weights [32, 8] and two biases [32]; Linear [V, 8] + [V].
    expect(untied).toMatchObject({ embedding: 8, tie_weights: false });
    expect(untied.parameters).toBe(V * 8 + 32 * 8 + 32 * 8 + 2 * 32 + V * 8 + V);
    expect(tied).toMatchObject({ embedding: 8, tie_weights: true });
    expect(tied.parameters).toBe(untied.parameters - V * 8);
  });

  it('rejects bad flags and corpora with one line, exit 2 and no traceback', () => {
    const latin1 = join(mkdtempSync(join(tmpdir(), 'rnnlm-reference-')), 'latin1.txt');
    writeFileSync(latin1, Buffer.from([0x61, 0x62, 0xe9, 0x63])); // 'ab', Latin-1 é, 'c'
    const cases: Array<[string[], RegExp]> = [
      [['--hidden', '0'], /--hidden: expected an integer >= 1, got 0/],
      [['--max-tokens', '0'], /expected a positive integer, or -1 for all tokens/],
      [['--model', 'transformer'], /argument --model: invalid choice: 'transformer'/],
      [['--embedding', '0'], /--embedding: expected an integer >= 1, got 0/],
      [
        ['--model', 'lstm', '--tie-weights'],
        /--tie-weights needs --embedding equal to --hidden 256, got no --embedding/,
      ],
      [
        ['--model', 'lstm', '--embedding', '64', '--tie-weights'],
        /--tie-weights needs --embedding equal to --hidden 256, got --embedding 64/,
      ],
      [
        ['--model', 'gru-scratch', '--embedding', '64'],
        /are for the torch.nn models; gru-scratch takes one-hot inputs/,
      ],
      [['--corpus', join('/nonexistent', 'corpus.txt')], /corpus file not found: \/nonexistent\/corpus.txt/],
      [['--max-tokens', '100'], /has 100 char tokens, too few for batches of 32 x 35 steps/],
      [
        ['--corpus', latin1],
        /latin1\.txt is not valid UTF-8 text \(invalid continuation byte at byte offset 2\)/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = reference(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      const errors = run.stderr.split('\n').filter((line) => /error:/.test(line));
      expect(errors, run.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      expect(run.stderr).not.toMatch(/Traceback/);
    }
  });
});
