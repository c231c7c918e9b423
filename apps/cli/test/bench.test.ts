import { describe, expect, it } from 'vitest';
import { timeMachinePath } from '../../../fixtures/timemachine.js';
import { runCli } from './run-cli.js';

// The reference's Time Machine, the repository's copy (no download in tests).
const TIME_MACHINE = timeMachinePath();
const tiny = ['--hidden', '8', '--max-tokens', '2000', '--backend', 'cpu', '--corpus', TIME_MACHINE];

/** stdout as JSON lines; fails the test if any line is not JSON. */
function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

describe('rnnlm bench', () => {
  it("prints one JSON line with the reference's fields, and progress on stderr", async () => {
    const run = await runCli(['bench', ...tiny, '--epochs', '2', '--print-every', '1', '--threads', '2']);
    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines(run.stdout);
    expect(lines).toHaveLength(1);
    const result = lines[0]!;
    expect(result).toEqual({
      impl: 'rnnlm',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      backend: 'cpu',
      model: 'lstm-scratch',
      layers: 1,
      hidden: 8,
      token: 'char',
      vocab_size: 28,
      corpus_tokens: 2000,
      epochs: 2,
      tokens_per_s: expect.any(Number),
      final_ppl: expect.any(Number),
      wall_s: expect.any(Number),
      // The fused kernels do the recurrent work, on the threads asked for.
      threads: 2,
      // Their relaxed-SIMD build (fused multiply-add): the CLI turns it on where Node 20 has it behind a flag.
      simd: 'relaxed',
      seed: 0,
      lr: 1,
      peak_rss_mb: expect.any(Number),
      peak_tensor_mb: expect.any(Number),
      sample: expect.stringMatching(/^time traveller.{50}$/),
      ppl_history: { 1: expect.any(Number), 2: expect.any(Number) },
    });
    expect(result.tokens_per_s).toBeGreaterThan(0);
    expect(Number.isFinite(result.final_ppl)).toBe(true);
    expect(result.final_ppl).toBeGreaterThan(1);
    expect(result.final_ppl).toBeLessThan(result.vocab_size as number);
    expect((result.ppl_history as Record<string, number>)[2]).toBe(result.final_ppl);
    expect(result.wall_s).toBeGreaterThan(0);
    expect(result.peak_rss_mb).toBeGreaterThan(0);
    expect(result.peak_tensor_mb).toBeGreaterThan(0);
    expect(run.stderr).toMatch(
      /^backend cpu .*; recurrent layers: fused WebAssembly SIMD kernels \(relaxed SIMD, fused multiply-add\) on 2 threads$/m,
    );
    expect(run.stderr).toMatch(/^epoch +1 +ppl +[\d.]+ +[\d.]+ tok\/s +elapsed +[\d.]+s$/m);
    expect(run.stderr).toMatch(/^epoch +2 +ppl /m);
  });

  it('runs the whole reference table with --suite, the flags given applying to every configuration', async () => {
    const run = await runCli(['bench', '--suite', 'reference', ...tiny, '--epochs', '1']);
    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines(run.stdout);
    expect(lines.map(({ model, layers, token, lr }) => ({ model, layers, token, lr }))).toEqual([
      { model: 'rnn-scratch', layers: 1, token: 'char', lr: 1 },
      { model: 'gru-scratch', layers: 1, token: 'char', lr: 1 },
      { model: 'lstm-scratch', layers: 1, token: 'char', lr: 1 },
      { model: 'rnn', layers: 1, token: 'char', lr: 1 },
      { model: 'gru', layers: 1, token: 'char', lr: 1 },
      { model: 'lstm', layers: 1, token: 'char', lr: 1 },
      { model: 'lstm', layers: 2, token: 'char', lr: 2 },
      { model: 'lstm', layers: 1, token: 'word', lr: 1 },
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({ epochs: 1, hidden: 8, corpus_tokens: 2000, backend: 'cpu' });
      expect(line.tokens_per_s).toBeGreaterThan(0);
      expect(line).not.toHaveProperty('ppl_history'); // only with --print-every
    }
    expect(lines.at(-1)!.sample).toMatch(/^time traveller( \S+){10}$/);
    expect(run.stderr).not.toMatch(/^epoch /m);
    expect(run.stderr).not.toMatch(/warning/);
  });

  it("--dry-run prints the configurations, the suite's own settings where no flag was given", async () => {
    const run = await runCli(['bench', '--suite', 'reference', '--dry-run', '--hidden', '16']);
    expect(run.code, run.stderr).toBe(0);
    const configs = jsonLines(run.stdout);
    expect(configs).toHaveLength(8);
    expect(configs[0]).toEqual({
      model: 'rnn-scratch',
      layers: 1,
      hidden: 16,
      token: 'char',
      batch_size: 32,
      num_steps: 35,
      lr: 1,
      epochs: 500,
      seed: 0,
      max_tokens: 10000,
      corpus: 'timemachine',
    });
    expect(configs[7]).toMatchObject({ model: 'lstm', token: 'word', epochs: 5, max_tokens: -1 });
  });

  it('rejects bad input with one line, a non-zero exit and no stack trace', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['bench', '--model', 'transformer'], 2, /argument 'transformer' is invalid.*rnn-scratch, gru-scratch/],
      [['bench', '--hidden', '0'], 2, /--hidden <n>.*expected an integer >= 1, got 0/],
      [['bench', '--epochs', '-1'], 2, /--epochs <n>.*expected an integer >= 1/],
      [['bench', '--lr', '0'], 2, /--lr <rate>.*expected a number > 0/],
      [['bench', '--max-tokens', '0'], 2, /expected a positive integer, or -1 for all tokens/],
      [
        ['bench', '--suite', 'reference', '--model', 'gru'],
        2,
        /'--suite <name>' cannot be used with.*--model/,
      ],
      [['bench', '--suite', 'everything'], 2, /Allowed choices are reference/],
      [['bench', '--backend', 'cpu', '--corpus', '/nonexistent/corpus.txt'], 3, /corpus file not found/],
      [
        ['bench', ...tiny, '--max-tokens', '100'],
        3,
        /has 100 char tokens, too few for batches of 32 x 35 steps/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const run = await runCli(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(code);
      expect(run.stdout).toBe('');
      const errors = run.stderr.split('\n').filter((line) => line.startsWith('error:'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      noStack(run.stderr);
    }
  });
});
