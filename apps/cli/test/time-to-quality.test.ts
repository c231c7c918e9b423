// bench/time-to-quality.mjs (the root's `pnpm bench:quality`): its arguments and its JSON, without
// training anything (the benchmark itself runs for minutes; the lead runs it on a quiet machine).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  parseBudget,
  parseOptions,
  runCommand,
  summarize,
  UsageError,
} from '../../../bench/time-to-quality.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SCRIPT = join(ROOT, 'bench', 'time-to-quality.mjs');

describe('bench:quality arguments', () => {
  it("defaults to the issue's run: 15 minutes each, rnnlm and torch with dropout 0.3, rnnlm without", () => {
    const o = parseOptions(['--'], { RNNLM_PYTHON: '/opt/py' });
    expect(o).toMatchObject({
      budgetSeconds: 900,
      runs: ['rnnlm', 'torch', 'rnnlm-no-dropout'],
      hidden: 512,
      layers: 2,
      dropout: 0.3,
      lr: 0.002,
      init: 'uniform',
      anneal: 'budget',
      epochs: 10,
      python: '/opt/py',
    });
    expect(parseBudget('90s')).toBe(90);
    expect(parseBudget('1h30m')).toBe(5400);
    expect(parseBudget('2')).toBe(120);
  });

  it('refuses bad values with a message naming the flag', () => {
    for (const [argv, message] of [
      [['--budget', '0'], /--budget: expected a duration/],
      [['--budget', 'soon'], /--budget: expected a duration/],
      [['--runs', 'rnnlm,keras'], /--runs: unknown run "keras"/],
      [['--dropout', '1'], /--dropout: expected a number from 0 up to, not including, 1/],
      [['--hidden', '0'], /--hidden: expected an integer >= 1/],
      [['--dropout-mode', 'gaussian'], /--dropout-mode: expected standard or variational/],
      [['--init', 'xavier'], /--init: expected uniform or normal/],
      [['--anneal', 'sometimes'], /--anneal: expected budget or epochs/],
      [['--colour'], /Unknown option '--colour'/],
    ] as const) {
      expect(() => parseOptions([...argv], {})).toThrow(UsageError);
      expect(() => parseOptions([...argv], {})).toThrow(message);
    }
  });

  it('gives both programs the same settings, dropout only to the runs that have it', () => {
    const o = parseOptions(['--budget', '90s', '--dropout', '0.25', '--dropout-mode', 'variational'], {});
    const flagsOf = (argv: string[]) => {
      const flags = new Map<string, string>();
      for (let i = 0; i < argv.length; i++) if (argv[i]!.startsWith('--')) flags.set(argv[i]!, argv[i + 1]!);
      return flags;
    };
    const ours = flagsOf(runCommand('rnnlm', o, '/c.txt', '/out'));
    const torch = flagsOf(runCommand('torch', o, '/c.txt', '/out'));
    for (const flag of [
      '--hidden',
      '--layers',
      '--lr',
      '--lr-schedule',
      '--epochs',
      '--dropout',
      '--dropout-mode',
      '--valid-every',
      '--corpus',
      '--seed',
    ]) {
      expect(torch.get(flag), flag).toBe(ours.get(flag));
    }
    expect(ours.get('--dropout')).toBe('0.25');
    expect(ours.get('--dropout-mode')).toBe('variational');
    // rnnlm starts from torch.nn's initialisation scheme (the reference has only its own), but one run.
    expect(ours.get('--init')).toBe('uniform');
    expect(torch.has('--init')).toBe(false);
    expect(flagsOf(runCommand('rnnlm-normal-init', o, '/c.txt', '/out')).get('--init')).toBe('normal');
    expect(ours.get('--time-budget')).toBe('90s');
    expect(torch.get('--time-budget')).toBe('90');
    expect(torch.get('--threads')).toBe('1');
    expect(flagsOf(runCommand('rnnlm-no-dropout', o, '/c.txt', '/out')).get('--dropout')).toBe('0');
    // Both anneal to their own budget by default; --anneal epochs leaves the cosine to the epochs.
    expect(runCommand('rnnlm', o, '/c.txt', '/out')).toContain('--anneal-to-budget');
    expect(runCommand('torch', o, '/c.txt', '/out')).toContain('--anneal-to-budget');
    const byEpochs = parseOptions(['--anneal', 'epochs'], {});
    expect(runCommand('rnnlm', byEpochs, '/c.txt', '/out')).not.toContain('--anneal-to-budget');
    expect(runCommand('torch', byEpochs, '/c.txt', '/out')).not.toContain('--anneal-to-budget');
  });

  it('summarizes a run: the best validation perplexity and the second it was reached', () => {
    const validations = [
      { seconds: 10, valid_perplexity: 9, epoch: 1 },
      { seconds: 20, valid_perplexity: 6.5, epoch: 1, batch: 100 },
      { seconds: 30, valid_perplexity: 7, epoch: 2 },
    ];
    expect(summarize('torch', validations, { dropout: 0.3 })).toEqual({
      run: 'torch',
      impl: 'torch',
      dropout: 0.3,
      best_valid_perplexity: 6.5,
      best_seconds: 20,
      validations,
    });
    expect(summarize('rnnlm', [])).toMatchObject({ best_valid_perplexity: null, best_seconds: null });
  });

  it('--dry-run prints the commands as one JSON object; a bad flag exits 2 with the usage', () => {
    const dry = spawnSync(
      process.execPath,
      [SCRIPT, '--', '--dry-run', '--budget', '90s', '--runs', 'torch,rnnlm'],
      {
        encoding: 'utf8',
      },
    );
    expect(dry.status, dry.stderr).toBe(0);
    const json = JSON.parse(dry.stdout);
    expect(json.budget_s).toBe(90);
    expect(json.commands.map((c: { run: string }) => c.run)).toEqual(['torch', 'rnnlm']);
    expect(json.commands[1].argv).toContain('--time-budget');
    const bad = spawnSync(process.execPath, [SCRIPT, '--budget', 'x'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error: --budget: expected a duration.*\nusage: pnpm bench:quality/s);
  });
});
