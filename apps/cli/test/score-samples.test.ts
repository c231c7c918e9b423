import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const text = 'the quick brown fox jumps over the lazy dog and the cat sat on the mat. '.repeat(20);
let dir = '';
let corpus = '';
let model = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rnnlm-score-'));
  corpus = join(dir, 'tiny.txt');
  writeFileSync(corpus, text);
  model = join(dir, 'model');
  const trained = await runCli([
    'train',
    ...['--corpus', corpus, '--backend', 'cpu', '--cell', 'gru', '--hidden', '8', '--batch-size', '4'],
    ...['--num-steps', '8', '--optimizer', 'adam', '--lr', '0.05', '--epochs', '1', '--out', model, '--json'],
  ]);
  expect(trained.code, trained.stderr).toBe(0);
}, 120_000);

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

describe('rnnlm eval --text / --file', () => {
  it('prints per-token surprisal in bits and totals that agree with each other and with eval --corpus', async () => {
    const scored = await runCli([
      'eval',
      '--model',
      model,
      '--text',
      'The cat, sat!',
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(scored.code, scored.stderr).toBe(0);
    const result = JSON.parse(scored.stdout);
    // Cleaned to letters as the corpus was: 'the cat sat', the first token context only.
    expect(result.context).toBe('t');
    expect(result.per_token.map((t: { token: string }) => t.token).join('')).toBe('he cat sat');
    expect(result.tokens).toBe(11);
    expect(result.surprisal_unit).toBe('bits');
    const bits = result.per_token.reduce((sum: number, t: { surprisal: number }) => sum + t.surprisal, 0);
    expect(-bits * Math.LN2).toBeCloseTo(result.log_likelihood, 4);
    expect(result.perplexity).toBeCloseTo(Math.exp(-result.log_likelihood / 10), 4);
    expect(result.unknown_tokens).toBe(0);
    for (const t of result.per_token) expect(t.surprisal).toBeGreaterThan(0);

    // The whole corpus scored as one text is eval --corpus at batch 1: the same predictions.
    const file = await runCli(['eval', '--model', model, '--file', corpus, '--backend', 'cpu', '--json']);
    const batch1 = await runCli([
      'eval',
      '--model',
      model,
      '--corpus',
      corpus,
      '--batch-size',
      '1',
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(file.code, file.stderr).toBe(0);
    expect(batch1.code, batch1.stderr).toBe(0);
    expect(JSON.parse(file.stdout).perplexity).toBeCloseTo(JSON.parse(batch1.stdout).perplexity, 3);

    const plain = await runCli(['eval', '--model', model, '--text', 'the cat sat', '--backend', 'cpu']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(
      /^perplexity [\d.]+ on 11 char tokens of --text \(log-likelihood -[\d.]+ nats, [\d.]+ bits per token;/,
    );
  }, 120_000);

  it('refuses text it cannot score and a missing file, with a message and no stack trace', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['--text', '!!'], 3, /cannot score --text: the text has 0 char token\(s\) after 'letters' cleaning/],
      [['--file', join(dir, 'nothing.txt')], 3, /cannot read .*nothing\.txt: no such file/],
      [['--file', dir], 3, /not a regular file/],
      [['--text', 'a b', '--corpus', corpus], 2, /cannot be used with/],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(['eval', '--model', model, '--backend', 'cpu', ...args]);
      expect(result.code, result.stderr).toBe(code);
      expect(result.stderr).toMatch(message);
      noStack(result.stderr);
    }
  }, 120_000);
});

describe('rnnlm generate --num-samples', () => {
  it('draws each sample with its own seed (seed, seed+1, ...), as JSON or separated text', async () => {
    const args = ['generate', '--model', model, '--prefix', 'the', '--length', '15', '--temperature', '1'];
    const json = await runCli([...args, '--seed', '5', '--num-samples', '3', '--json', '--backend', 'cpu']);
    expect(json.code, json.stderr).toBe(0);
    const samples = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(samples.map((s) => s.seed)).toEqual([5, 6, 7]);
    for (const s of samples) {
      expect(s.tokens).toHaveLength(15);
      expect(s.text).toBe(`the${s.tokens.join('')}`);
      expect(s.stopped).toBe('length');
      // Where the steps ran: this model runs on the kernels' token step, so no reason is given.
      expect(s).toMatchObject({ path: 'kernels', pathReason: null });
    }
    const one = await runCli([...args, '--seed', '6', '--json', '--backend', 'cpu']);
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({
      text: samples[1].text,
      path: 'kernels',
      pathReason: null,
    });
    expect(one.stderr).not.toMatch(/generated on tfjs/);
    const single = await runCli([...args, '--seed', '6', '--backend', 'cpu']);
    expect(single.stdout).toBe(`${samples[1].text}\n`);

    const plain = await runCli([...args, '--seed', '5', '--num-samples', '2', '--backend', 'cpu']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe(
      `--- sample 1 of 2 (seed 5) ---\n${samples[0].text}\n\n--- sample 2 of 2 (seed 6) ---\n${samples[1].text}\n`,
    );
  }, 120_000);
});
