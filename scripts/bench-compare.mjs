#!/usr/bin/env node
// rnnlm against the PyTorch reference on the same configurations and the same corpus file.
//
//   pnpm bench:compare -- [rnnlm bench flags] [--suite reference] [--reference PATH] [--python PATH]
//                         [--repeat N]
//
// For each configuration (as `rnnlm bench` resolves the flags: default lstm-scratch, the reference's
// defaults) it runs `rnnlm bench` and then the reference, bench/torch_reference.py, one after the other
// (never at the same time: they would slow each other down), and prints a JSON line comparing them; a
// table follows on stderr. Each line also gives rnnlm's training arithmetic in GFLOP/s (the model's
// matrix products per token, forward and backward) and, where it trains in the kernels, that as a
// percentage of the machine's WebAssembly SIMD peak on the same threads for the kernels' build that ran
// (relaxed SIMD's fused multiply-add, or plain SIMD's multiply and add; measured once, here; on Node 20
// this script turns relaxed SIMD on, as the CLI does, and RNNLM_KERNELS_SIMD=plain picks the plain build
// for both). The reference runs on one OpenBLAS thread (bench/README.md says why). Without
// python3 or torch it says how to install them and prints rnnlm's numbers with the torch fields null.
// The Time Machine is the repository's copy (fixtures/), so nothing is downloaded.
// Needs `pnpm build` first. Plain Node, no dependencies.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'apps', 'cli', 'dist', 'bin.js');
const TEXT_NODE = join(ROOT, 'packages', 'text', 'dist', 'node.js');
const KERNELS = join(ROOT, 'packages', 'kernels', 'dist', 'index.js');
const RELAXED_SIMD = join(ROOT, 'packages', 'kernels', 'dist', 'relaxed-simd.js');
const TIME_MACHINE = join(ROOT, 'fixtures', 'timemachine.js');
const DEFAULT_REFERENCE = join(ROOT, 'bench', 'torch_reference.py');
// Debian's python3-torch lives in the system Python (a pyenv or venv python3 on the PATH lacks it).
const DEFAULT_PYTHON = '/usr/bin/python3';
// Debian's torch links the slow reference BLAS unless pointed at OpenBLAS (see bench/README.md).
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
export const INSTALL_HINT = 'apt-get install python3-torch libopenblas0-pthread';

/** The flags of `rnnlm bench` this script passes on (the CLI checks their values). */
const BENCH_FLAGS = [
  'model',
  'layers',
  'hidden',
  'batch-size',
  'num-steps',
  'lr',
  'epochs',
  'seed',
  'token',
  'max-tokens',
  'corpus',
  'backend',
  'threads',
  'print-every',
  'suite',
];

const USAGE = `usage: pnpm bench:compare -- [rnnlm bench flags] [--reference PATH] [--python PATH] [--repeat N]
  Runs rnnlm bench and then the PyTorch reference on each configuration and compares tokens/s and perplexity.
  Flags: --${BENCH_FLAGS.join(', --')} (as rnnlm bench --help describes them)
  --reference PATH  the reference script (default: $RNNLM_TORCH_REFERENCE, else bench/torch_reference.py)
  --python PATH     the Python with torch (default: $RNNLM_PYTHON, else ${DEFAULT_PYTHON})
  --repeat N        run each configuration N times, the two alternating, and keep each one's fastest run`;

/** The flags that make both programs run one configuration (they spell them the same way). */
export function configArgs(config) {
  return [
    ['--model', config.model],
    ['--layers', config.layers],
    ['--hidden', config.hidden],
    ['--token', config.token],
    ['--batch-size', config.batch_size],
    ['--num-steps', config.num_steps],
    ['--lr', config.lr],
    ['--epochs', config.epochs],
    ['--seed', config.seed],
    ['--max-tokens', config.max_tokens],
  ].flatMap(([flag, value]) => [flag, String(value)]);
}

/**
 * FLOPs of one training token: forward, then backward (the gradients of each product's input and of its
 * weight, as much again each: 3x forward). Counted are the matrix products: each layer's recurrent one
 * ([H] x [H, G], G = gates x H), a deeper layer's input projection (the same size; layer 0 gathers rows
 * of W_x by token id, no arithmetic) and the head ([H] x [H, V]); the elementwise gate work is left out.
 */
export function trainingFlopsPerToken({ model, layers, hidden, vocab_size }) {
  const gates = { rnn: 1, gru: 3, lstm: 4 }[model.replace(/-scratch$/, '')];
  if (!gates) throw new Error(`bench:compare: no FLOP count for model ${model}`);
  const G = gates * hidden;
  const multiplyAdds = layers * hidden * G + (layers - 1) * hidden * G + hidden * vocab_size;
  return 3 * 2 * multiplyAdds;
}

/**
 * One comparison line from rnnlm's and the reference's summary lines (`torch` null when it did not
 * run), with rnnlm's arithmetic rate and its share of the WebAssembly SIMD peak (`peak` in GFLOP/s on
 * rnnlm's threads in the kernels' build that ran, rnnlm.simd; null: not measured, as on a backend that
 * does not run the kernels).
 */
export function comparisonRow(rnnlm, torch, peak = null) {
  const torchSpeed = torch?.tokens_per_s ?? null;
  const gflops = (trainingFlopsPerToken(rnnlm) * rnnlm.tokens_per_s) / 1e9;
  return {
    model: rnnlm.model,
    layers: rnnlm.layers,
    hidden: rnnlm.hidden,
    token: rnnlm.token,
    epochs: rnnlm.epochs,
    rnnlm_tokens_per_s: rnnlm.tokens_per_s,
    torch_tokens_per_s: torchSpeed,
    ratio: torchSpeed ? Math.round((rnnlm.tokens_per_s / torchSpeed) * 1000) / 1000 : null,
    rnnlm_final_ppl: rnnlm.final_ppl,
    torch_final_ppl: torch?.final_ppl ?? null,
    backend: rnnlm.backend,
    simd: rnnlm.simd ?? null,
    rnnlm_gflops: Math.round(gflops * 100) / 100,
    simd_peak_gflops: peak === null ? null : Math.round(peak * 10) / 10,
    peak_pct: peak === null ? null : Math.round((gflops / peak) * 1000) / 10,
  };
}

/** The comparison lines as an aligned text table. */
export function formatTable(rows) {
  const header = ['model', 'layers', 'hidden', 'token', 'epochs', 'rnnlm tok/s', 'torch tok/s', 'ratio'];
  const lines = [
    [...header, 'rnnlm ppl', 'torch ppl', 'GFLOP/s', '% peak', 'backend', 'simd'],
    ...rows.map((r) => [
      r.model,
      r.layers,
      r.hidden,
      r.token,
      r.epochs,
      r.rnnlm_tokens_per_s,
      r.torch_tokens_per_s ?? '-',
      r.ratio ?? '-',
      r.rnnlm_final_ppl,
      r.torch_final_ppl ?? '-',
      r.rnnlm_gflops,
      r.peak_pct ?? '-',
      r.backend,
      r.simd ?? '-',
    ]),
  ].map((cells) => cells.map(String));
  const widths = lines[0].map((_, i) => Math.max(...lines.map((cells) => cells[i].length)));
  // Names left-aligned, numbers right-aligned.
  const numeric = new Set([1, 2, 4, 5, 6, 7, 8, 9, 10, 11]);
  return lines
    .map((cells) =>
      cells
        .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Backends on which rnnlm trains in the kernels, whose peak is the WebAssembly SIMD one. */
const KERNEL_BACKENDS = new Set(['wasm', 'cpu']);

/**
 * The WebAssembly SIMD peak (GFLOP/s) on `threads` threads in the kernels' build `simd` (relaxed: the
 * fused multiply-add loop; plain: a multiply and an add), measured once per thread count and build: the
 * kernels' loop (no loads) on all threads at once, the fastest of 5 rounds in which they all ran.
 */
const peaks = new Map();
async function simdPeak(threads, simd) {
  const key = `${threads} ${simd}`;
  if (!peaks.has(key)) {
    const { enableRelaxedSimdInNode } = await import(pathToFileURL(RELAXED_SIMD).href);
    enableRelaxedSimdInNode(); // before the kernels' module compiles anything
    const kernels = await import(pathToFileURL(KERNELS).href);
    const rt = await kernels.KernelRuntime.create(threads, simd);
    try {
      const peak = kernels.measureSimdPeak(rt, { rounds: 5, ms: 200 });
      const fma = peak.fmaGflops === null ? '' : `, fused multiply-add ${peak.fmaGflops.toFixed(1)}`;
      console.error(
        `bench:compare: WebAssembly SIMD peak (no loads) on ${peak.threads} thread(s), GFLOP/s: ` +
          `multiply + add ${peak.plainGflops.toFixed(1)}${fma}; the ${simd} build's: ` +
          `${peak.gflops.toFixed(1)} (${peak.gflopsPerThread.toFixed(1)} per thread)`,
      );
      peaks.set(key, peak.gflops);
    } finally {
      rt.dispose();
    }
  }
  return peaks.get(key);
}

/** The file both programs read: the repository's Time Machine, Moby-Dick written out, or the user's file. */
async function corpusFile(source) {
  if (source === 'timemachine') {
    const fixture = await import(pathToFileURL(TIME_MACHINE).href);
    return fixture.timeMachinePath(); // checked against the SHA-1 of the d2l text
  }
  if (source !== 'moby-dick') return resolve(source);
  const text = await import(pathToFileURL(TEXT_NODE).href);
  const file = join(mkdtempSync(join(tmpdir(), 'rnnlm-bench-')), 'moby-dick.txt');
  writeFileSync(file, text.mobyDickText());
  return file;
}

function referenceEnv(env) {
  const libraryPath = [OPENBLAS_DIR, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return { ...env, LD_LIBRARY_PATH: libraryPath, OPENBLAS_NUM_THREADS: '1' };
}

/** Why the reference cannot run here, or null when it can (its --version loads torch and exits). */
function referenceProblem(python, reference, env) {
  if (!existsSync(reference)) return `there is no ${reference}`;
  // A bare name (python3) is looked up on the PATH by the spawn below.
  if (python.includes('/') && !existsSync(python)) return `there is no ${python}`;
  const probe = spawnSync(python, [reference, '--version'], { env: referenceEnv(env), encoding: 'utf8' });
  if (probe.status === 0) return null;
  if (/No module named '?torch/.test(probe.stderr)) return `torch is not installed for ${python}`;
  const last = probe.stderr.trim().split('\n').at(-1);
  return `${python} ${reference} --version failed: ${last || probe.error?.message || `exit ${probe.status}`}`;
}

/** Runs a program with stderr passed through and returns the JSON lines it printed on stdout. */
function runForJson(command, args, options = {}) {
  const run = spawnSync(command, args, {
    ...options,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 2 ** 20,
  });
  if (run.status !== 0) return { status: run.status ?? 1, error: run.error?.message, lines: [] };
  const lines = run.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
  return { status: 0, lines };
}

async function main(argv, env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : argv,
      options: {
        ...Object.fromEntries(BENCH_FLAGS.map((flag) => [flag, { type: 'string' }])),
        reference: { type: 'string' },
        python: { type: 'string' },
        repeat: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`error: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!existsSync(CLI) || !existsSync(TEXT_NODE) || !existsSync(KERNELS)) {
    console.error('error: build first: pnpm build');
    return 1;
  }

  const forwarded = BENCH_FLAGS.filter((flag) => values[flag] !== undefined).flatMap((flag) => [
    `--${flag}`,
    values[flag],
  ]);
  const plan = runForJson(process.execPath, [CLI, 'bench', ...forwarded, '--dry-run']);
  if (plan.status !== 0) return plan.status; // rnnlm has said what was wrong with the flags

  let corpus;
  try {
    corpus = await corpusFile(values.corpus ?? 'timemachine');
  } catch (error) {
    console.error(`error: ${error.message}`);
    return 1;
  }
  const printEvery = values['print-every'] ? ['--print-every', values['print-every']] : [];

  const reference = resolve(values.reference ?? (env.RNNLM_TORCH_REFERENCE || DEFAULT_REFERENCE));
  const python = values.python ?? (env.RNNLM_PYTHON || DEFAULT_PYTHON);
  const problem = referenceProblem(python, reference, env);
  if (problem) {
    console.error(
      `bench:compare: the PyTorch reference cannot run: ${problem}. Install it with \`${INSTALL_HINT}\` ` +
        '(Debian; elsewhere `pip install torch` and --python PATH, or RNNLM_PYTHON, naming that Python), ' +
        "see bench/README.md. Printing rnnlm's numbers only.",
    );
  }

  const repeat = Number(values.repeat ?? 1);
  if (!Number.isInteger(repeat) || repeat < 1) {
    console.error(`error: --repeat must be a positive integer, got ${values.repeat}\n${USAGE}`);
    return 2;
  }
  const rows = [];
  let referenceFailed = false;
  for (const config of plan.lines) {
    // With --repeat, the two alternate and each keeps its fastest run: on a shared machine the slow
    // runs measure the neighbours.
    let rnnlm = null;
    let torch = null;
    for (let round = 0; round < repeat; round++) {
      const ours = runForJson(process.execPath, [
        CLI,
        'bench',
        ...configArgs(config),
        '--corpus',
        corpus,
        ...(values.backend ? ['--backend', values.backend] : []),
        ...(values.threads ? ['--threads', values.threads] : []),
        ...printEvery,
      ]);
      if (ours.status !== 0) return ours.status;
      if (!rnnlm || ours.lines[0].tokens_per_s > rnnlm.tokens_per_s) rnnlm = ours.lines[0];
      if (problem || referenceFailed) continue;
      console.error(
        `bench:compare: the PyTorch reference: ${config.model}, ${config.layers} x ${config.hidden}, ${config.token}s`,
      );
      const referenceArgs = [
        reference,
        ...configArgs(config),
        '--corpus',
        corpus,
        '--threads',
        '1',
        ...printEvery,
      ];
      const run = runForJson(python, referenceArgs, { env: referenceEnv(env) });
      if (run.status === 0) {
        if (!torch || run.lines[0].tokens_per_s > torch.tokens_per_s) torch = run.lines[0];
      } else {
        referenceFailed = true;
        console.error(
          `bench:compare: the reference failed (exit ${run.status}${run.error ? `: ${run.error}` : ''})`,
        );
      }
    }
    const peak =
      KERNEL_BACKENDS.has(rnnlm.backend) && rnnlm.simd ? await simdPeak(rnnlm.threads, rnnlm.simd) : null;
    const row = comparisonRow(rnnlm, torch, peak);
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  console.error(`\n${formatTable(rows)}`);
  return referenceFailed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
