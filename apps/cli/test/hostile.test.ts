// Hostile uses of the CLI: nothing a user saved is lost or half-written, nothing planted in a folder is
// followed, nothing runs away with memory or time, and every refusal says what was wrong.
// (One file past the usual ~400 lines on purpose: the cases share the checkpoint beforeAll trains, and each
// further file would spend another training run on this slow machine.)
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, type CliResult, runCli } from './run-cli.js';

const text = 'the quick brown fox jumps over the lazy dog and the cat sat on the mat. '.repeat(30);
const tiny = ['--backend', 'cpu', '--cell', 'gru', '--hidden', '8', '--batch-size', '4', '--num-steps', '8'];
let dir = '';
let corpus = '';
/** A trained checkpoint the tests copy before they damage anything. */
let trained = '';

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);
const snapshot = (folder: string) =>
  Object.fromEntries(
    (readdirSync(folder, { recursive: true }) as string[])
      .filter((f) => statSync(join(folder, f)).isFile())
      .sort()
      .map((f) => [f, readFileSync(join(folder, f)).toString('base64')]),
  );
const copyOf = (from: string, name: string) => {
  const to = join(dir, name);
  mkdirSync(to);
  // A saved model is a folder with its best model in best/: copied whole.
  cpSync(from, to, { recursive: true });
  return to;
};

const danglingLink = () => {
  const link = join(dir, 'dangling');
  if (!existsSync(link) && !readdirSync(dir).includes('dangling'))
    symlinkSync(join(dir, 'nowhere', 'x'), link);
  return link;
};

/** Runs a shell command line (for ulimit) with the CLI as `$RNNLM`, and collects its output. */
function runShell(script: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-c', script], {
      env: { ...process.env, NO_COLOR: '1', RNNLM: `${process.execPath} ${BIN}`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rnnlm-hostile-'));
  corpus = join(dir, 'tiny.txt');
  writeFileSync(corpus, text);
  trained = join(dir, 'trained');
  const result = await runCli(['train', '--corpus', corpus, ...tiny, '--epochs', '1', '--out', trained]);
  expect(result.code, result.stderr).toBe(0);
});

describe('saving never loses the previous checkpoint', () => {
  it('a save cut short by a file-size limit fails (exit 4) and keeps the checkpoint before it', async () => {
    const out = copyOf(trained, 'fsize');
    const before = snapshot(out);
    // 4 KiB: less than the weights file, more than anything the CLI writes before its first save.
    const result = await runShell(
      `ulimit -f 4; exec $RNNLM train --resume "${out}" --epochs 3 --backend cpu`,
    );
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toMatch(
      // the best model (when the epoch is the best) is saved first, into best/ beside the last one
      /cannot save the (best )?model to .*fsize(\/best)?: could not write .*weights(\.b)?\.bin completely: EFBIG.*the previous checkpoint in .*fsize(\/best)? is kept/,
    );
    noStack(result.stderr);
    expect(snapshot(out)).toEqual(before);
    const generated = await runCli(['generate', '--model', out, '--length', '5', '--backend', 'cpu']);
    expect(generated.code, generated.stderr).toBe(0);
  });

  it('corpus download --force keeps the cached file when the new download fails', async () => {
    const cache = join(dir, 'cache');
    mkdirSync(cache);
    writeFileSync(join(cache, 'timemachine.txt'), 'the cached copy');
    const result = await runCli(['corpus', 'download', '--force'], {
      env: { RNNLM_CACHE_DIR: cache, RNNLM_TIME_MACHINE_URL: 'http://127.0.0.1:9/timemachine.txt' },
    });
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/could not download the Time Machine from http:\/\/127\.0\.0\.1:9/);
    expect(result.stderr).toMatch(/kept/);
    expect(readdirSync(cache)).toEqual(['timemachine.txt']);
    expect(readFileSync(join(cache, 'timemachine.txt'), 'utf8')).toBe('the cached copy');
  });

  it('--out refuses a folder with other files, and a foreign model.json even with --force, before training', async () => {
    const folder = join(dir, 'papers');
    mkdirSync(folder);
    writeFileSync(join(folder, 'weights.bin'), 'my own weights');
    writeFileSync(join(folder, 'perplexity.svg'), '<svg>mine</svg>');
    const before = snapshot(folder);
    const plain = await runCli(['train', '--corpus', corpus, ...tiny, '--epochs', '1', '--out', folder]);
    expect(plain.code).toBe(4);
    expect(plain.stderr).toMatch(/papers holds other files and no rnnlm model.*--force/);
    expect(snapshot(folder)).toEqual(before);

    writeFileSync(join(folder, 'model.json'), '{"format": "layers-model"}');
    const forced = await runCli([
      'train',
      '--corpus',
      corpus,
      ...tiny,
      '--epochs',
      '1',
      '--out',
      folder,
      '--force',
    ]);
    expect(forced.code).toBe(4);
    expect(forced.stderr).toMatch(/model\.json is not an rnnlm checkpoint/);
    expect(forced.stdout).not.toMatch(/epoch 1/);
    noStack(forced.stderr);
  });

  it('a second training into the same --out is refused while the first runs; a stale lock is taken over', async () => {
    const out = join(dir, 'locked');
    let second: CliResult | undefined;
    const first = await runCli(
      ['train', '--corpus', corpus, ...tiny, '--epochs', '100', '--json', '--out', out],
      {
        onStdout: (stdout, child) => {
          if (second === undefined && stdout.includes('"epoch":1')) {
            second = {} as CliResult;
            void runCli([
              'train',
              '--corpus',
              corpus,
              ...tiny,
              '--epochs',
              '1',
              '--out',
              out,
              '--force',
            ]).then((result) => {
              second = result;
              child.kill('SIGINT');
            });
          }
        },
      },
    );
    expect(first.code, first.stderr).toBe(130);
    expect(second!.code).toBe(4);
    expect(second!.stderr).toMatch(/locked is in use by another rnnlm train \(pid \d+ on .*since .*\)/);
    noStack(second!.stderr);
    expect(readdirSync(out)).not.toContain('.rnnlm-lock');

    // A lock whose process has ended (a kill -9) does not block the folder for ever.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('close', r));
    writeFileSync(
      join(out, '.rnnlm-lock'),
      JSON.stringify({ pid: dead.pid, host: execFileSync('hostname').toString().trim(), startedAt: 'then' }),
    );
    const again = await runCli([
      'train',
      '--corpus',
      corpus,
      ...tiny,
      '--epochs',
      '1',
      '--out',
      out,
      '--force',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(out)).not.toContain('.rnnlm-lock');
  });

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${signal} saves a resumable checkpoint and exits ${code}, as Ctrl-C does`, async () => {
      const out = join(dir, `signal-${signal}`);
      let sent = false;
      const result = await runCli(
        ['train', '--corpus', corpus, ...tiny, '--epochs', '100', '--json', '--out', out],
        {
          onStdout: (stdout, child) => {
            if (!sent && stdout.includes('"epoch":1')) {
              sent = true;
              child.kill(signal);
            }
          },
        },
      );
      expect(result.code, result.stderr).toBe(code);
      expect(result.stderr).toMatch(
        /stopped by SIG\w+ after epoch \d.*saved a resumable checkpoint to .*rnnlm train --resume/,
      );
      noStack(result.stderr);
      expect(readdirSync(out).filter((f) => f.includes('tmp'))).toEqual([]);
      const resumed = await runCli(['train', '--resume', out, '--epochs', '2', '--backend', 'cpu', '--json']);
      expect(resumed.code, resumed.stderr).toBe(0);
    });
  }

  it('a second Ctrl-C while saving neither kills the save nor leaves temporary files', async () => {
    const out = join(dir, 'double');
    let sent = false;
    const result = await runCli(
      ['train', '--corpus', corpus, ...tiny, '--epochs', '100', '--json', '--out', out],
      {
        onStdout: (stdout, child) => {
          if (!sent && stdout.includes('"epoch":1')) {
            sent = true;
            child.kill('SIGINT');
            // More while it saves, and after: none may kill it before it has cleaned up.
            for (const ms of [5, 30, 100, 300, 1000])
              setTimeout(() => child.exitCode === null && child.kill('SIGINT'), ms);
          }
        },
      },
    );
    // Exit 130, or, for a signal that lands while Node tears down after the save, death by SIGINT (which
    // a shell reports as 130 too); either way the checkpoint was saved whole and nothing is left behind.
    expect(result.code === 130 || result.signal === 'SIGINT', `${result.code} ${result.signal}`).toBe(true);
    expect(result.stderr).toMatch(/interrupted after epoch \d.*saved a resumable checkpoint/);
    expect(readdirSync(out).filter((f) => f.includes('tmp') || f.includes('lock'))).toEqual([]);
    const generated = await runCli(['generate', '--model', out, '--length', '5', '--backend', 'cpu']);
    expect(generated.code, generated.stderr).toBe(0);
  });

  it('a temporary file name planted as a symbolic link is never followed', async () => {
    const out = join(dir, 'planted');
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'do not touch');
    let planted = false;
    const result = await runCli(['train', '--corpus', corpus, ...tiny, '--epochs', '2', '--out', out], {
      onStdout: (stdout, child) => {
        if (!planted && stdout.includes('training ')) {
          planted = true;
          mkdirSync(out, { recursive: true });
          for (const name of ['perplexity.svg', 'model.json', 'weights.bin', 'weights.b.bin'])
            symlinkSync(victim, join(out, `${name}.tmp-${child.pid}`));
        }
      },
    });
    expect(planted).toBe(true);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('do not touch');
  });
});

describe('problems known up front are found before any training', () => {
  it.each([
    ['/dev/null', /\/dev\/null is not a folder/],
    ['a dangling link', /dangling is not a folder/],
    ['a file', /tiny\.txt is not a folder/],
    ['/proc', /cannot write to \/proc\/rnnlm-model-test/],
    ['empty', /--out is empty/],
    ['model.json', /--out takes a folder.*--out .*x$/m],
  ])('--out %s', async (what, message) => {
    const out =
      what === 'a dangling link'
        ? danglingLink()
        : what === 'a file'
          ? corpus
          : what === '/proc'
            ? '/proc/rnnlm-model-test'
            : what === 'empty'
              ? ''
              : what === 'model.json'
                ? join(dir, 'x', 'model.json')
                : what;
    const result = await runCli(['train', '--corpus', corpus, ...tiny, '--epochs', '1', '--out', out], {
      cwd: dir,
    });
    expect(result.code, result.stderr).toBe(what === 'empty' || what === 'model.json' ? 2 : 4);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).not.toMatch(/epoch 1/);
    noStack(result.stderr);
    expect(existsSync(join(dir, 'x', 'model.json'))).toBe(false);
  });

  it('--hidden too large for memory says how much it would take (exit 2)', async () => {
    const result = await runCli([
      'train',
      '--corpus',
      corpus,
      ...tiny,
      '--hidden',
      '100000',
      '--out',
      join(dir, 'big'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--hidden 100000 .*would need [\d.]+ GiB/);
    noStack(result.stderr);
  });

  it('--min-freq that leaves only <unk> is refused', async () => {
    const result = await runCli([
      'train',
      '--corpus',
      corpus,
      ...tiny,
      '--min-freq',
      '100000',
      '--out',
      join(dir, 'unk'),
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/--min-freq 100000 .*every token .*<unk>.*lower --min-freq/);
  });

  it('a --prefix that cleaning empties is refused before training, not after it', async () => {
    for (const prefix of ['', '123 !!']) {
      const result = await runCli([
        'train',
        '--corpus',
        corpus,
        ...tiny,
        '--prefix',
        prefix,
        '--out',
        join(dir, 'no-prefix'),
      ]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/--prefix ".*" has nothing left after 'letters' cleaning/);
      expect(result.stdout).not.toMatch(/epoch 1/);
    }
  });

  it('--resume refuses flags that differ from the checkpoint, and accepts the same ones', async () => {
    const out = copyOf(trained, 'resume-flags');
    const different = await runCli([
      'train',
      '--resume',
      out,
      '--hidden',
      '16',
      '--embedding',
      '16',
      '--tie-weights',
      '--lr',
      '0.5',
      '--epochs',
      '2',
      '--backend',
      'cpu',
    ]);
    expect(different.code).toBe(2);
    expect(different.stderr).toMatch(
      /--hidden 16 \(saved: 8\), --embedding 16 \(saved: none \(one-hot input\)\), --tie-weights true \(saved: false\).*--lr 0.5 \(saved: 0.01\)/,
    );
    const same = await runCli([
      'train',
      '--resume',
      out,
      '--corpus',
      corpus,
      ...tiny,
      '--epochs',
      '2',
      '--json',
    ]);
    expect(same.code, same.stderr).toBe(0);
    // The checkpoint's model.json names it as well as its folder does (it saved into a folder named model.json).
    const byFile = await runCli([
      'train',
      '--resume',
      join(out, 'model.json'),
      '--epochs',
      '3',
      '--backend',
      'cpu',
    ]);
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(byFile.stdout).toMatch(new RegExp(`saving to ${out}$`, 'm'));
  });
});

describe('reading and generating stay bounded', () => {
  it('--max-tokens reads only the start of an endless pipe', async () => {
    const fifo = join(dir, 'endless');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('bash', ['-c', `yes "the quick brown fox" > "${fifo}"`], { stdio: 'ignore' });
    try {
      const result = await runCli(['corpus', 'info', '--corpus', fifo, '--max-tokens', '500', '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).tokens).toBe(500);
    } finally {
      writer.kill();
    }
    // Bytes that never make a token: it stops after a bounded read with a message, not at memory's end.
    const zero = await runCli(['corpus', 'info', '--corpus', '/dev/zero', '--max-tokens', '100']);
    expect(zero.code).toBe(3);
    expect(zero.stderr).toMatch(/\/dev\/zero: read \d+ MiB without finding 100 char tokens/);
  });

  it('generate streams its text and stops promptly on Ctrl-C (exit 130)', async () => {
    let sent = false;
    const result = await runCli(
      ['generate', '--model', trained, '--length', '1000000000', '--prefix', 'the', '--backend', 'cpu'],
      {
        onStdout: (stdout, child) => {
          if (!sent && stdout.length > 40) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/^the.{37,}\n$/s);
    expect(result.stderr).toMatch(/interrupted after \d+ tokens/);
  });

  it('generate into a pipe its reader closed early ends quietly (rnnlm generate | head)', async () => {
    let closed = false;
    const result = await runCli(
      ['generate', '--model', trained, '--length', '100000', '--temperature', '1', '--backend', 'cpu'],
      {
        onStdout: (_stdout, child) => {
          if (!closed) {
            closed = true;
            child.stdout!.destroy();
          }
        },
      },
    );
    expect(closed).toBe(true);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/EPIPE|error/);
  });

  it('a checkpoint whose saved settings or training state are damaged cannot resume (exit 4, not an internal error)', async () => {
    type Saved = {
      modelTopology: {
        extra: { train: Record<string, unknown> };
        training: { optimizer: { config: { name: string } } };
      };
    };
    const damage: Array<[string, (json: Saved) => void, RegExp]> = [
      ['batch', (j) => (j.modelTopology.extra.train.batchSize = -1), /batchSize must be a positive integer/],
      [
        'optimizer',
        (j) => (j.modelTopology.training.optimizer.config.name = 'bogus'),
        /unknown optimizer "bogus"/,
      ],
      ['corpus', (j) => (j.modelTopology.extra.train.corpus = 12), /./],
    ];
    for (const [name, edit, message] of damage) {
      const out = copyOf(trained, `damaged-${name}`);
      const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
      edit(json);
      writeFileSync(join(out, 'model.json'), JSON.stringify(json));
      const result = await runCli(['train', '--resume', out, '--epochs', '3', '--backend', 'cpu']);
      expect(result.code, `${name}: ${result.stderr}`).toBe(4);
      expect(result.stderr).toMatch(new RegExp(`cannot resume from .*damaged-${name}: ${message.source}`));
      expect(result.stderr).not.toMatch(/internal error/);
    }
  });

  it("generated text on a terminal cannot carry escape sequences from a checkpoint's vocabulary", async () => {
    const out = copyOf(trained, 'escapes');
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const tokens: string[] = json.modelTopology.vocab.tokens;
    json.modelTopology.vocab.tokens = tokens.map((t, i) => (i === 0 ? t : `\u001b]0;pwned\u0007${t}`));
    writeFileSync(join(out, 'model.json'), JSON.stringify(json));
    const command = `${process.execPath} ${BIN} generate --model '${out}' --length 5 --backend cpu --prefix the`;
    // `script` gives the command a terminal; what it printed there is in its output.
    const onTerminal = execFileSync('script', ['-qec', command, '/dev/null']).toString();
    expect(onTerminal).toMatch(/\uFFFD\]0;pwned\uFFFD/);
    expect(onTerminal).not.toContain('\u001b]');
    const piped = await runCli([
      'generate',
      '--model',
      out,
      '--length',
      '5',
      '--backend',
      'cpu',
      '--prefix',
      'the',
    ]);
    expect(piped.stdout).toContain('\u001b]0;pwned\u0007'); // a pipe gets the bytes as they are
  });

  it('a model.json whose config does not match its weights is refused before any model is made', async () => {
    const out = copyOf(trained, 'crafted');
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    json.modelTopology.model.hidden = 100000;
    writeFileSync(join(out, 'model.json'), JSON.stringify(json));
    const result = await runCli(['generate', '--model', out, '--backend', 'cpu']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/model config .*hidden 100000.*parameters.*weights hold/);
    noStack(result.stderr);
  });
});

describe('no quiet wrong answers', () => {
  it('the "saved to" hint is shell-quoted: pasting it runs generate with exactly the path and prefix', async () => {
    const out = join(dir, "it's $(touch pwned) here");
    const prefix = '$(touch pwned) the';
    // Unicode cleaning keeps the prefix as typed (letters cleaning would drop its "$(").
    const result = await runCli(
      [
        'train',
        '--corpus',
        corpus,
        ...tiny,
        '--clean',
        'unicode',
        '--epochs',
        '1',
        '--out',
        out,
        '--prefix',
        prefix,
      ],
      {
        cwd: dir,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const hint = result.stdout.match(/saved to .*: (rnnlm generate .*)$/m)![1]!;
    const args = execFileSync('bash', ['-c', hint.replace(/^rnnlm /, "printf '%s\\n' ")], { cwd: dir })
      .toString()
      .split('\n')
      .slice(0, -1);
    expect(args).toEqual(['generate', '--model', out, '--prefix', prefix]);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('a checkpoint with NaN weights is a corrupt checkpoint (exit 4), for eval and generate', async () => {
    const out = copyOf(trained, 'nan');
    const weights = readdirSync(out).find((f) => f.endsWith('.bin'))!;
    const bytes = readFileSync(join(out, weights));
    bytes.writeFloatLE(Number.NaN, 8);
    writeFileSync(join(out, weights), bytes);
    for (const command of ['eval', 'generate']) {
      const result = await runCli([command, '--model', out, '--backend', 'cpu']);
      expect(result.code, `${command}: ${result.stderr}`).toBe(4);
      expect(result.stderr).toMatch(/weight .* holds NaN or infinite values/);
    }
  });

  it('stores the corpus path absolute, so eval from another folder scores the same file', async () => {
    const a = join(dir, 'from-a');
    mkdirSync(a);
    writeFileSync(join(a, 'corpus.txt'), text);
    const trainedHere = await runCli(
      ['train', '--corpus', 'corpus.txt', ...tiny, '--epochs', '1', '--out', 'm'],
      { cwd: a },
    );
    expect(trainedHere.code, trainedHere.stderr).toBe(0);
    const evaluated = await runCli(['eval', '--model', join(a, 'm'), '--backend', 'cpu', '--json'], {
      cwd: dir,
    });
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout).corpus).toBe(join(a, 'corpus.txt'));
  });

  it('says what is wrong with the right exit code: eval cleaning, unknown prefix, unreadable model.json, vocabulary mismatch', async () => {
    writeFileSync(join(dir, 'digits.txt'), '123 456 789\n'.repeat(20));
    const digits = await runCli([
      'eval',
      '--model',
      trained,
      '--corpus',
      join(dir, 'digits.txt'),
      '--backend',
      'cpu',
    ]);
    expect(digits.code).toBe(3);
    expect(digits.stderr).toMatch(/no char tokens after the model's 'letters' cleaning/);
    expect(digits.stderr).not.toMatch(/--clean/);

    const unknown = await runCli(['generate', '--model', trained, '--prefix', '123 !!', '--backend', 'cpu']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/the prefix "123 !!" has nothing the model knows/);

    const unreadable = join(dir, 'unreadable');
    mkdirSync(join(unreadable, 'model.json'), { recursive: true });
    const read = await runCli(['generate', '--model', unreadable, '--backend', 'cpu']);
    expect(read.code).toBe(4);
    expect(read.stderr).toMatch(/cannot read .*model\.json: it is not a regular file/);
    expect(read.stderr).not.toMatch(/corrupt/);

    const mismatch = copyOf(trained, 'mismatch');
    const json = JSON.parse(readFileSync(join(mismatch, 'model.json'), 'utf8'));
    json.modelTopology.vocab.tokens.pop();
    json.modelTopology.vocab.counts.pop();
    writeFileSync(join(mismatch, 'model.json'), JSON.stringify(json));
    const vocab = await runCli(['generate', '--model', mismatch, '--backend', 'cpu']);
    expect(vocab.code).toBe(4);
    expect(vocab.stderr).toMatch(/vocabulary/);
  });
});
