import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const text = 'the quick brown fox jumps over the lazy dog and the cat sat on the mat. '.repeat(30);
const tiny = [
  '--backend',
  'cpu',
  '--cell',
  'gru',
  '--hidden',
  '8',
  '--batch-size',
  '4',
  '--num-steps',
  '8',
  '--optimizer',
  'adam',
  '--lr',
  '0.05',
];
let dir = '';
let corpus = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rnnlm-cli-'));
  corpus = join(dir, 'tiny.txt');
  writeFileSync(corpus, text);
});

/** No error output may carry a stack trace unless --verbose. */
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

describe('rnnlm', () => {
  it('prints help with defaults and exit codes for every command, and its version', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/train[\s\S]*generate[\s\S]*eval[\s\S]*corpus/);
    expect(top.stdout).toMatch(/Exit codes:[\s\S]*130/);
    const trainHelp = await runCli(['train', '--help']);
    expect(trainHelp.stdout).toMatch(/--corpus <source>[\s\S]*?\(default: "moby-dick"\)/);
    expect(trainHelp.stdout).toMatch(
      /--cell <kind>[\s\S]*?choices: "rnn", "gru", "lstm",\s+default:\s+"lstm"/,
    );
    for (const command of [['generate'], ['eval'], ['corpus', 'info'], ['corpus', 'download']]) {
      const help = await runCli([...command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Usage: rnnlm/);
    }
    const version = await runCli(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('trains a tiny model, saves it, generates from it and evaluates it', async () => {
    const out = join(dir, 'model');
    const trained = await runCli([
      'train',
      '--corpus',
      corpus,
      ...tiny,
      '--epochs',
      '2',
      '--out',
      out,
      '--prefix',
      'the ',
    ]);
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stderr).toMatch(/^backend cpu/m);
    expect(trained.stdout).toMatch(/epoch 1\/2: perplexity [\d.]+, valid [\d.]+/);
    expect(trained.stdout).toMatch(/perplexity by epoch: [▁-█]{2}/);
    expect(trained.stdout).toMatch(/\nthe .{50,}\n/);
    // beside the last model, the best by validation perplexity (a whole checkpoint folder)
    expect(readdirSync(out).sort()).toEqual([
      'best',
      'model.json',
      'perplexity.svg',
      expect.stringMatching(/^weights(\.b)?\.bin$/),
    ]);
    expect(readFileSync(join(out, 'perplexity.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);

    const generated = await runCli([
      'generate',
      '--model',
      out,
      '--prefix',
      'the quick',
      '--length',
      '12',
      '--backend',
      'cpu',
    ]);
    expect(generated.code, generated.stderr).toBe(0);
    expect(generated.stdout).toMatch(/^the quick.{12}\n$/);
    const sampled = await runCli([
      'generate',
      '--model',
      out,
      '--prefix',
      'the',
      '--length',
      '12',
      '--temperature',
      '1',
      '--seed',
      '3',
      '--backend',
      'cpu',
    ]);
    const again = await runCli([
      'generate',
      '--model',
      out,
      '--prefix',
      'the',
      '--length',
      '12',
      '--temperature',
      '1',
      '--seed',
      '3',
      '--backend',
      'cpu',
    ]);
    expect(sampled.stdout).toBe(again.stdout);

    const evaluated = await runCli(['eval', '--model', out, '--backend', 'cpu', '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const result = JSON.parse(evaluated.stdout);
    expect(result.tokens).toBe(text.replace(/[^A-Za-z]+/g, ' ').trim().length); // the whole text, as cleaned
    expect(result.perplexity).toBeGreaterThan(1);
    expect(result.perplexity).toBeLessThan(28);
  });

  it('--backend auto times training steps on wasm and cpu, takes the fastest and remembers it', async () => {
    const env = { RNNLM_CACHE_DIR: join(dir, 'measure-cache') };
    const args = ['train', '--corpus', corpus, ...tiny.slice(2), '--epochs', '1', '--sample-every', '0'];
    const measured = await runCli([...args, '--out', join(dir, 'auto-1')], { env });
    expect(measured.code, measured.stderr).toBe(0);
    const line =
      /^backend (wasm|cpu) \(.*; measured: (wasm|cpu) ([\d,]+) tokens\/s, (wasm|cpu) ([\d,]+) tokens\/s;.*$/m.exec(
        measured.stderr,
      );
    expect(line, measured.stderr).not.toBeNull();
    const [, winner, first, firstSpeed, second, secondSpeed] = line!;
    expect(new Set([first, second])).toEqual(new Set(['wasm', 'cpu']));
    expect(winner).toBe(first); // fastest first, and the fastest runs
    const speed = (s: string) => Number(s.replace(/,/g, ''));
    expect(speed(firstSpeed!)).toBeGreaterThanOrEqual(speed(secondSpeed!));
    expect(line![0]).toContain('tensorflow: @tensorflow/tfjs-node is not installed');
    const saved = JSON.parse(readFileSync(join(dir, 'auto-1', 'model.json'), 'utf8'));
    expect(JSON.stringify(saved)).toContain(`"backend":"${winner}"`);

    const remembered = await runCli([...args, '--out', join(dir, 'auto-2')], { env });
    expect(remembered.code, remembered.stderr).toBe(0);
    expect(remembered.stderr).toMatch(
      new RegExp(`^backend ${winner} \\(.*tokens/s \\(remembered\\)\\)`, 'm'),
    );

    const unmeasured = await runCli([...args, '--no-measure', '--out', join(dir, 'auto-3')], { env });
    expect(unmeasured.code, unmeasured.stderr).toBe(0);
    expect(unmeasured.stderr).toMatch(/^backend wasm \(CPU \(WebAssembly[^;]*\); skipped tensorflow-gpu/m);
    expect(unmeasured.stderr).not.toContain('measured');
  });

  it('stops on Ctrl-C with a resumable checkpoint (exit 130); resuming equals an uninterrupted run', async () => {
    const args = ['train', '--corpus', corpus, ...tiny, '--epochs', '3', '--json', '--seed', '5'];
    const straight = await runCli([...args, '--out', join(dir, 'straight')]);
    expect(straight.code, straight.stderr).toBe(0);
    const straightFinal = JSON.parse(straight.stdout.trim().split('\n').at(-1)!);

    const out = join(dir, 'interrupted');
    let sent = false;
    const interrupted = await runCli([...args, '--out', out], {
      onStdout: (stdout, child) => {
        if (!sent && stdout.includes('"epoch":1')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toMatch(
      /interrupted after epoch \d.*saved a resumable checkpoint to .*rnnlm train --resume/,
    );
    noStack(interrupted.stderr);

    const resumed = await runCli(['train', '--resume', out, '--backend', 'cpu', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const resumedFinal = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!);
    expect(resumedFinal.epochs).toBe(3);
    expect(resumedFinal.perplexity).toBeCloseTo(straightFinal.perplexity, 9);
    expect(resumedFinal.sample).toBe(straightFinal.sample);
  });

  it('resumes a word-level model whose vocabulary dropped rare words (--min-freq), embedded and tied', async () => {
    const out = join(dir, 'words');
    // Words seen once become <unk>: the saved vocabulary is smaller than the text's.
    const rare = join(dir, 'rare.txt');
    writeFileSync(rare, `${text} a zebra and a quokka`);
    const args = ['--corpus', rare, '--token', 'word', '--min-freq', '2', ...tiny, '--json'];
    const embedded = ['--embedding', '8', '--tie-weights'];
    const first = await runCli(['train', ...args, ...embedded, '--epochs', '1', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const saved = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).modelTopology;
    expect(saved.model).toMatchObject({ hidden: 8, embedding: 8, tieWeights: true });
    // The size line counts the tied matrix once: no head weight of its own.
    const V = saved.vocabSize as number;
    const size = JSON.parse(first.stdout.trim().split('\n')[0]!);
    expect(size.parameters).toBe(V * 8 + 3 * 8 * (8 + 8 + 1) + V);
    // Resumed with its saved flags, and with the same ones given again.
    const resumed = await runCli(['train', '--resume', out, '--epochs', '2', '--backend', 'cpu', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!).epochs).toBe(2);
    const again = await runCli(['train', '--resume', out, ...embedded, '--epochs', '3', '--backend', 'cpu']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/resuming scratch gru, 1 x 8, embedding 8 \(tied to the head\)/);
  });

  it('explains each user error on one line, with its exit code and no stack trace', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [
        ['train', '--corpus', join(dir, 'missing.txt'), ...tiny],
        3,
        /error: corpus file not found: .*missing\.txt/,
      ],
      [['train', '--corpus', join(dir, 'blank.txt'), ...tiny], 3, /is empty/],
      [['train', '--corpus', join(dir, 'short.txt'), ...tiny], 3, /too few for batches of 4 x 8 steps/],
      [['train', '--bogus'], 2, /unknown option '--bogus'/],
      [
        ['train', '--cell', 'transformer'],
        2,
        /argument 'transformer' is invalid.*Allowed choices are rnn, gru, lstm/,
      ],
      [['train', '--epochs', '-3'], 2, /expected an integer >= 1/],
      [['train', '--embedding', '0'], 2, /--embedding.*expected an integer >= 1/],
      [
        ['train', '--corpus', corpus, ...tiny, '--tie-weights'],
        2,
        /--tie-weights ties the output head to the token embedding, and there is none: add --embedding 8 \(--hidden 8\)/,
      ],
      [
        ['train', '--corpus', corpus, ...tiny, '--embedding', '4', '--tie-weights', '--bidirectional'],
        2,
        /--tie-weights needs --embedding equal to the top layer's width, twice --hidden 8 \(--bidirectional\), 16, but --embedding is 4: use --embedding 16/,
      ],
      [['train', '--corpus', corpus, ...tiny, '--backend', 'tensorflow'], 5, /@tensorflow\/tfjs-node/],
      [['generate', '--model', join(dir, 'nowhere')], 4, /cannot load the model in .*nowhere: no checkpoint/],
      [['generate', '--model', join(dir, 'corrupt'), '--backend', 'cpu'], 4, /model.json is corrupt/],
    ];
    writeFileSync(join(dir, 'blank.txt'), '  \n ');
    writeFileSync(join(dir, 'short.txt'), 'too short');
    const corrupt = join(dir, 'corrupt');
    await runCli(['train', '--corpus', corpus, ...tiny, '--epochs', '1', '--out', corrupt]);
    writeFileSync(join(corrupt, 'model.json'), '{"format": "rnnlm-checkpoint", ');
    for (const [args, code, message] of cases) {
      const result = await runCli(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(code);
      expect(result.stderr).toMatch(message);
      noStack(result.stderr);
    }
  });

  /** Every file under a model's folder (the best model's too), by relative path. */
  const savedFiles = (out: string) =>
    (readdirSync(out, { recursive: true }) as string[]).filter((f) => statSync(join(out, f)).isFile());

  it('stops a diverging run with exit 6 and leaves the saved model untouched', async () => {
    const out = join(dir, 'keep');
    expect((await runCli(['train', '--corpus', corpus, ...tiny, '--epochs', '1', '--out', out])).code).toBe(
      0,
    );
    const before = Object.fromEntries(
      savedFiles(out).map((f) => [f, readFileSync(join(out, f)).toString('base64')]),
    );
    const diverged = await runCli([
      'train',
      '--corpus',
      corpus,
      ...tiny,
      '--optimizer',
      'sgd',
      '--lr',
      '1e38',
      '--clip',
      '0',
      '--epochs',
      '2',
      '--out',
      out,
      '--force',
    ]);
    expect(diverged.code).toBe(6);
    expect(diverged.stderr).toMatch(/training diverged at epoch 1, batch \d+.*lower learning rate/);
    noStack(diverged.stderr);
    const after = Object.fromEntries(
      savedFiles(out).map((f) => [f, readFileSync(join(out, f)).toString('base64')]),
    );
    expect(after).toEqual(before);
    const taken = await runCli(['train', '--corpus', corpus, ...tiny, '--epochs', '1', '--out', out]);
    expect(taken.code).toBe(4);
    expect(taken.stderr).toMatch(/already holds a saved model: pass --force/);
  });
});
