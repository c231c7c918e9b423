#!/usr/bin/env node
// Time to quality: the best validation perplexity rnnlm and the PyTorch reference reach in the same
// wall-clock budget, and when.
//
//   pnpm bench:quality -- [--budget 15m] [--runs rnnlm,torch,rnnlm-no-dropout] [--dry-run] [...]
//
// The whole of Moby-Dick (characters, cleaned to letters, the last 10% held out), a 2-layer LSTM of 512
// units with dropout 0.3, Adam with warm-up and a cosine that reaches its floor as each run's budget
// ends (--anneal-to-budget in both), trained one run after the other for --budget each: `rnnlm train --time-budget --valid-every` (the built CLI), the reference
// (bench/torch_reference.py --time-budget, torch.nn's LSTM), and rnnlm again without dropout. Each
// run's clock starts at its first batch and includes its validations. Prints one JSON object: every
// run's best validation perplexity, the second it was reached, and its validation curve. Progress goes
// to stderr. Needs `pnpm build` first, and PyTorch for the reference (see bench/README.md).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OPENBLAS_DIR, parseOptions, ROOT, RUNS, runCommand, USAGE, UsageError } from './quality-options.mjs';

export { parseBudget, parseOptions, RUNS, runCommand, USAGE, UsageError } from './quality-options.mjs';

const TEXT = join(ROOT, 'packages', 'text', 'dist', 'index.js');
const TEXT_NODE = join(ROOT, 'packages', 'text', 'dist', 'node.js');

/** A run's summary from its validations ({seconds, valid_perplexity, ...}, in order). */
export function summarize(name, validations, extra = {}) {
  let best = null;
  for (const v of validations) if (best === null || v.valid_perplexity < best.valid_perplexity) best = v;
  return {
    run: name,
    impl: RUNS[name].impl,
    dropout: extra.dropout ?? null,
    best_valid_perplexity: best?.valid_perplexity ?? null,
    best_seconds: best?.seconds ?? null,
    validations: validations.map((v) => ({
      seconds: v.seconds,
      valid_perplexity: v.valid_perplexity,
      ...(v.epoch !== undefined ? { epoch: v.epoch } : {}),
      // Batches of that epoch done (absent: at its end): curves compare at equal batches, not seconds.
      ...(v.batch !== undefined ? { batch: v.batch } : {}),
    })),
    ...extra,
  };
}

/** Spawns a run; `onLine` gets each stdout line and the seconds since `since()` started counting. */
function spawnRun(argv, env, onLine) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        onLine(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (buffer) onLine(buffer);
      if (code === 0) resolveRun();
      else
        reject(
          new Error(
            `${argv.slice(0, 3).join(' ')} ... exited with ${code}: ${stderr.trim().split('\n').at(-1)}`,
          ),
        );
    });
  });
}

/** rnnlm: its --json lines, timed on arrival from the first one (printed as training starts). */
async function runRnnlm(name, argv, o, env) {
  let start = null;
  const validations = [];
  let parameters = null;
  await spawnRun(argv, env, (line) => {
    if (!line.startsWith('{')) return;
    const now = performance.now();
    const json = JSON.parse(line);
    if (start === null) {
      start = now;
      parameters = json.parameters ?? null;
    }
    // Validations: between batches ({epoch, batch, ...}) and at epoch ends; not the final summary line.
    if (typeof json.valid_perplexity === 'number' && !('done' in json)) {
      validations.push({
        seconds: Math.round((now - start) / 10) / 100,
        valid_perplexity: Math.round(json.valid_perplexity * 1e4) / 1e4,
        epoch: json.epoch,
        ...(typeof json.batch === 'number' ? { batch: json.batch } : {}),
      });
    }
  });
  return summarize(name, validations, {
    dropout: RUNS[name].dropout ? o.dropout : 0,
    parameters,
    backend: o.backend,
  });
}

/** The reference: it times itself and prints one JSON line at the end. */
async function runTorch(name, argv, o, parentEnv) {
  const env = {
    ...parentEnv,
    LD_LIBRARY_PATH: [OPENBLAS_DIR, parentEnv.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    OPENBLAS_NUM_THREADS: String(o.torchThreads),
  };
  let summary = null;
  await spawnRun(argv, env, (line) => {
    if (line.startsWith('{')) summary = JSON.parse(line);
  });
  if (!summary) throw new Error('the reference printed no summary');
  return summarize(name, summary.validations, {
    dropout: RUNS[name].dropout ? o.dropout : 0,
    version: summary.version,
    threads: summary.threads,
    train_tokens: summary.train_tokens,
  });
}

/** Moby-Dick written out (both programs clean it to letters), and its token counts after the split. */
async function writeCorpus(dir, maxTokens) {
  const { mobyDickText } = await import(pathToFileURL(TEXT_NODE).href);
  const { buildCorpus } = await import(pathToFileURL(TEXT).href);
  const text = mobyDickText();
  const file = join(dir, 'moby-dick.txt');
  writeFileSync(file, text);
  const all = buildCorpus(text, { token: 'char', clean: 'letters' }).ids.length;
  const tokens = maxTokens > 0 ? Math.min(maxTokens, all) : all;
  const valid = Math.round(tokens * 0.1);
  return { file, tokens, train: tokens - valid, valid };
}

async function main(argv, env) {
  let o;
  try {
    o = parseOptions(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`error: ${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'rnnlm-quality-'));
  try {
    const corpus = o.dryRun ? { file: join(dir, 'moby-dick.txt') } : await writeCorpus(dir, o.maxTokens);
    const commands = o.runs.map((name) => ({
      run: name,
      argv: runCommand(name, o, corpus.file, join(dir, name)),
    }));
    if (o.dryRun) {
      process.stdout.write(`${JSON.stringify({ budget_s: o.budgetSeconds, commands })}\n`);
      return;
    }
    const runs = [];
    for (const { run, argv: command } of commands) {
      process.stderr.write(`\n== ${run}: ${command.join(' ')}\n`);
      const summary =
        RUNS[run].impl === 'torch'
          ? await runTorch(run, command, o, env)
          : await runRnnlm(run, command, o, env);
      runs.push(summary);
    }
    const result = {
      budget_s: o.budgetSeconds,
      corpus: {
        name: 'moby-dick',
        token: 'char',
        clean: 'letters',
        tokens: corpus.tokens,
        train_tokens: corpus.train,
        valid_tokens: corpus.valid,
        validated_on: o.validTokens || corpus.valid,
      },
      model: {
        cell: 'lstm',
        layers: o.layers,
        hidden: o.hidden,
        dropout: o.dropout,
        dropout_mode: o.dropoutMode,
        rnnlm_init: o.init,
      },
      training: {
        optimizer: 'adam',
        lr: o.lr,
        lr_schedule: 'cosine',
        anneal: o.anneal,
        lr_min: o.lrMin,
        warmup_steps: o.warmupSteps,
        epochs: o.epochs,
        batch_size: o.batchSize,
        num_steps: o.numSteps,
        clip: 1,
        valid_every: o.validEvery,
        seed: o.seed,
      },
      runs,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2), process.env).catch((error) => {
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(1);
  });
}
