// The arguments of bench/time-to-quality.mjs (`pnpm bench:quality`) and the command line of each run:
// which runs there are, their settings, and how each trainer is called. Apart from the script that
// runs them, so that the arguments can be checked without training anything.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'apps', 'cli', 'dist', 'bin.js');
const REFERENCE = join(ROOT, 'bench', 'torch_reference.py');
// Debian's python3-torch, with OpenBLAS rather than the slow reference BLAS (see bench/README.md).
const DEFAULT_PYTHON = '/usr/bin/python3';
export const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';

/** The runs, in the order they run: who trains, and with which dropout. */
export const RUNS = {
  rnnlm: { impl: 'rnnlm', dropout: true },
  torch: { impl: 'torch', dropout: true },
  'rnnlm-no-dropout': { impl: 'rnnlm', dropout: false },
  'torch-no-dropout': { impl: 'torch', dropout: false },
  // rnnlm from the notebooks' N(0, 0.01²) rather than --init: what the initialisation is worth.
  'rnnlm-normal-init': { impl: 'rnnlm', dropout: true, init: 'normal' },
};

const OPTIONS = {
  budget: { type: 'string', default: '15m' },
  runs: { type: 'string', default: 'rnnlm,torch,rnnlm-no-dropout' },
  hidden: { type: 'string', default: '512' },
  layers: { type: 'string', default: '2' },
  dropout: { type: 'string', default: '0.3' },
  'dropout-mode': { type: 'string', default: 'standard' },
  // rnnlm's initialisation: torch.nn's own is uniform, and bench/parity.mjs shows the two then learn alike.
  init: { type: 'string', default: 'uniform' },
  lr: { type: 'string', default: '0.002' },
  'lr-min': { type: 'string', default: '0.0001' },
  'warmup-steps': { type: 'string', default: '100' },
  // How each run's cosine falls: `budget`, to --lr-min by the end of its own budget (both programs'
  // --anneal-to-budget), so each ends at the floor rate however many batches its speed allowed; or
  // `epochs`, over --epochs' batches, cut by the budget wherever it ends (a run too slow for its epochs
  // stops mid-schedule, one too fast leaves time unused).
  anneal: { type: 'string', default: 'budget' },
  // The epochs a run may take. With --anneal budget, more than a budget holds (an epoch of the book is
  // 922 batches of 32 x 35, about 6 minutes for rnnlm on the quiet 2-core machine), so that the clock
  // sets the schedule; with --anneal epochs, the cosine's length.
  epochs: { type: 'string', default: '10' },
  'batch-size': { type: 'string', default: '32' },
  'num-steps': { type: 'string', default: '35' },
  'valid-every': { type: 'string', default: '100' },
  'valid-tokens': { type: 'string', default: '50000' },
  'max-tokens': { type: 'string', default: '0' },
  seed: { type: 'string', default: '0' },
  backend: { type: 'string', default: 'wasm' },
  threads: { type: 'string' },
  // PyTorch's fastest setting on the 2-core machine of bench/README.md: one thread, one OpenBLAS thread.
  'torch-threads': { type: 'string', default: '1' },
  python: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
};

export const USAGE = `usage: pnpm bench:quality -- [--budget 15m] [--runs ${Object.keys(RUNS).join(',')}] [--dry-run]
  Trains a ${OPTIONS.layers.default}-layer LSTM of ${OPTIONS.hidden.default} units on the whole of Moby-Dick (characters, letters, 90/10 split)
  with rnnlm and the PyTorch reference for the same wall-clock budget each, one after the other, and
  prints each run's best validation perplexity, when it was reached, and its validation curve.
  --budget D          each run's budget: 90s, 15m, 1h (default 15m)
  --runs A,B          which runs, in order (default ${OPTIONS.runs.default})
  --hidden N --layers N --dropout P --dropout-mode standard|variational --lr R --lr-min R
  --init uniform|normal  rnnlm's initial weights (default uniform, torch.nn's scheme; normal: the notebooks')
  --anneal budget|epochs  each cosine falls to --lr-min by the end of its run's budget (default), or
                      over --epochs' batches, cut by the budget
  --warmup-steps N --epochs N (at most; the cosine's length with --anneal epochs; default 10)
  --batch-size N --num-steps N --seed N
  --valid-every N     validate every N batches, and at each epoch's end (default 100)
  --valid-tokens N    validate on the first N held-out tokens (default 50000; 0: all)
  --max-tokens N      use the first N tokens of the book (default 0: all)
  --backend NAME --threads N   rnnlm's backend (default wasm) and kernel threads (default: the cores)
  --torch-threads N   torch's and OpenBLAS's threads (default 1, its fastest on 2 cores; see bench/README.md)
  --python PATH       the Python with torch (default: $RNNLM_PYTHON, else ${DEFAULT_PYTHON})
  --dry-run           print the commands as JSON and train nothing`;

/** `90s`, `15m`, `1h30m` or plain minutes, in seconds (the CLI's --time-budget syntax). */
export function parseBudget(text) {
  const t = text.trim();
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(t);
  const seconds = /^\d+(\.\d+)?$/.test(t)
    ? Number(t) * 60
    : m
      ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)
      : Number.NaN;
  if (t === '' || !(seconds > 0))
    throw new UsageError(`--budget: expected a duration such as 90s, 15m or 1h, got "${text}"`);
  return seconds;
}

export class UsageError extends Error {}

/** The settings from the command line, checked; throws a UsageError naming what is wrong. */
export function parseOptions(argv, env = {}) {
  let values;
  try {
    // `pnpm bench:quality -- --budget 90s` passes the `--` on.
    const args = argv[0] === '--' ? argv.slice(1) : argv;
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  if (values.help) return { help: true };
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min)
      throw new UsageError(`--${name}: expected an integer >= ${min}, got "${values[name]}"`);
    return n;
  };
  const num = (name, ok, what) => {
    const n = Number(values[name]);
    if (values[name].trim() === '' || !Number.isFinite(n) || !ok(n))
      throw new UsageError(`--${name}: expected ${what}, got "${values[name]}"`);
    return n;
  };
  const runs = values.runs.split(',').map((r) => r.trim());
  for (const run of runs) {
    if (!(run in RUNS))
      throw new UsageError(`--runs: unknown run "${run}"; use some of ${Object.keys(RUNS).join(', ')}`);
  }
  if (!['standard', 'variational'].includes(values['dropout-mode'])) {
    throw new UsageError(`--dropout-mode: expected standard or variational, got "${values['dropout-mode']}"`);
  }
  if (!['budget', 'epochs'].includes(values.anneal)) {
    throw new UsageError(`--anneal: expected budget or epochs, got "${values.anneal}"`);
  }
  if (!['uniform', 'normal'].includes(values.init)) {
    throw new UsageError(`--init: expected uniform or normal, got "${values.init}"`);
  }
  return {
    help: false,
    budgetSeconds: parseBudget(values.budget),
    runs,
    hidden: int('hidden', 1),
    layers: int('layers', 1),
    dropout: num('dropout', (n) => n >= 0 && n < 1, 'a number from 0 up to, not including, 1'),
    dropoutMode: values['dropout-mode'],
    init: values.init,
    lr: num('lr', (n) => n > 0, 'a number > 0'),
    lrMin: num('lr-min', (n) => n >= 0, 'a number >= 0'),
    warmupSteps: int('warmup-steps', 0),
    anneal: values.anneal,
    epochs: int('epochs', 1),
    batchSize: int('batch-size', 1),
    numSteps: int('num-steps', 1),
    validEvery: int('valid-every', 0),
    validTokens: int('valid-tokens', 0),
    maxTokens: int('max-tokens', 0),
    seed: int('seed', 0),
    backend: values.backend,
    threads: values.threads === undefined ? null : int('threads', 1),
    torchThreads: int('torch-threads', 1),
    python: values.python ?? env.RNNLM_PYTHON ?? DEFAULT_PYTHON,
    dryRun: values['dry-run'],
  };
}

/** The command line of one run: [program, ...arguments]. */
export function runCommand(name, o, corpus, out) {
  const { impl, dropout } = RUNS[name];
  const p = dropout ? o.dropout : 0;
  const common = [
    ['--hidden', o.hidden],
    ['--layers', o.layers],
    ['--batch-size', o.batchSize],
    ['--num-steps', o.numSteps],
    ['--optimizer', 'adam'],
    ['--lr', o.lr],
    ['--lr-schedule', 'cosine'],
    ['--lr-min', o.lrMin],
    ['--warmup-steps', o.warmupSteps],
    ['--epochs', o.epochs],
    ['--clip', 1],
    ['--dropout', p],
    ['--valid-fraction', 0.1],
    ['--valid-every', o.validEvery],
    ['--valid-tokens', o.validTokens],
    ['--seed', o.seed],
    ['--corpus', corpus],
  ];
  const flags = (pairs) => pairs.flatMap(([flag, value]) => [flag, String(value)]);
  const anneal = o.anneal === 'budget' ? ['--anneal-to-budget'] : [];
  if (impl === 'torch') {
    return [
      o.python,
      REFERENCE,
      '--model',
      'lstm',
      ...flags(common),
      ...(p > 0 ? ['--dropout-mode', o.dropoutMode] : []),
      '--max-tokens',
      String(o.maxTokens || -1),
      '--time-budget',
      String(o.budgetSeconds),
      ...anneal,
      '--threads',
      String(o.torchThreads),
    ];
  }
  return [
    process.execPath,
    CLI,
    'train',
    '--cell',
    'lstm',
    ...flags(common),
    ...(p > 0 ? ['--dropout-mode', o.dropoutMode] : []),
    '--init',
    RUNS[name].init ?? o.init,
    '--clean',
    'letters',
    '--max-tokens',
    String(o.maxTokens),
    '--time-budget',
    `${o.budgetSeconds}s`,
    ...anneal,
    '--backend',
    o.backend,
    ...(o.threads ? ['--threads', String(o.threads)] : []),
    '--sample-every',
    '0',
    '--json',
    '--out',
    out,
  ];
}
