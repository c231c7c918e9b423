#!/usr/bin/env node
// Training speed of the reference LSTM (lstm-scratch, as `rnnlm bench`: vocabulary 28, 35 steps, SGD
// lr 1, clipping 1) on tfjs's webgpu backend in Node (the `webgpu` package: Vulkan, Metal or D3D12)
// against rnnlm's WebAssembly kernels on this machine's CPU, at batch 32, 128 and 512 and hidden 256
// and 1024. Each configuration runs in its own process with its own time limit, the whole within a
// budget (default 570 s, under 10 minutes); what did not fit is listed as skipped. Prints one JSON
// object on stdout (progress on stderr). Needs `pnpm build` first. Plain Node, no dependencies.
//
//   node scripts/bench-gpu.mjs [--backends webgpu,wasm] [--batches 32,128,512] [--hiddens 256,1024]
//        [--cap-s 20] [--timeout-s 60] [--budget-s 570] [--threads N] [--software] [--quick]
//
// --quick checks the script end to end in a minute or two: batch 4, hidden 16, 8 steps, 3 timed steps.
// scripts/device-gpu.sh runs this and the page's measurement (bench-gpu-page.mjs) on a GPU machine.
//
// --software points Vulkan at SwiftShader (Debian's chromium package), a CPU adapter: for checking the
// script where there is no GPU, never for speed. On a GPU machine Dawn needs libvulkan1 and the
// driver's Vulkan ICD (NVIDIA: VK_DRIVER_FILES or VK_ICD_FILENAMES naming nvidia_icd.json if the
// loader does not find it). A webgpu line's `device` says which adapter ran: "CPU (WebGPU on a software
// adapter ...)" means the GPU was not found and the number is not a GPU's.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { scriptArgs } from './script-args.mjs';

// RNNLM_BENCH_ROOT: the CLI deployed by scripts/pack-device-gpu.sh, in place of this repository.
const env = process.env;
const ROOT = env.RNNLM_BENCH_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..');
const built = (name) =>
  [
    join(ROOT, 'packages', name, 'dist', 'index.js'),
    join(ROOT, 'node_modules', '@rnnlm', name, 'dist', 'index.js'),
  ].find((path) => existsSync(path)) ?? join(ROOT, 'packages', name, 'dist', 'index.js');
const BACKEND = built('backend');
const TRAIN = built('train');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const { values: args } = parseArgs({
  args: scriptArgs(),
  options: {
    backends: { type: 'string', default: 'webgpu,wasm' },
    batches: { type: 'string', default: '32,128,512' },
    hiddens: { type: 'string', default: '256,1024' },
    'cap-s': { type: 'string', default: '20' },
    'timeout-s': { type: 'string', default: '60' },
    'budget-s': { type: 'string', default: '570' },
    threads: { type: 'string' },
    software: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    one: { type: 'string' },
  },
});
if (args.quick) Object.assign(args, { batches: '4', hiddens: '16', 'cap-s': '5', 'timeout-s': '180' });
const numSteps = args.quick ? 8 : 35;
const timedSteps = args.quick ? 3 : 10;

const list = (text) => text.split(',').filter((s) => s !== '');
const numbers = (text) => list(text).map(Number);

if (!existsSync(BACKEND) || !existsSync(TRAIN)) {
  process.stderr.write(
    'bench-gpu: build first (pnpm build): packages/backend/dist or packages/train/dist is missing\n',
  );
  process.exit(1);
}
// The Vulkan loader reads these when Dawn starts, in this process and the children it spawns.
if (args.software && !env.VK_ICD_FILENAMES) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
env.XDG_RUNTIME_DIR ??= tmpdir();
const threads = Number(args.threads ?? Math.min(8, availableParallelism()));

if (args.one) {
  // One configuration, in this process: start the backend, time training steps, print one JSON line.
  const [backendName, batch, hidden] = args.one.split(',');
  const { selectBackend, StepTimer } = await import(pathToFileURL(BACKEND).href);
  const { measureTrainingSpeed } = await import(pathToFileURL(TRAIN).href);
  const selection = await selectBackend({ backend: backendName, threads });
  const shape = {
    model: {
      impl: 'scratch',
      cell: 'lstm',
      vocabSize: 28,
      hidden: Number(hidden),
      layers: 1,
      bidirectional: false,
    },
    batchSize: Number(batch),
    numSteps,
    optimizer: { name: 'sgd', lr: 1 },
    clip: 1,
  };
  const started = performance.now();
  const tokensPerSecond = await measureTrainingSpeed(
    shape,
    new StepTimer({
      tokensPerStep: shape.batchSize * shape.numSteps,
      warmupSteps: 2,
      timedSteps,
      capMs: Number(args['cap-s']) * 1000,
    }),
    timedSteps + 2,
  );
  process.stdout.write(
    `${JSON.stringify({
      backend: backendName,
      batch: shape.batchSize,
      hidden: shape.model.hidden,
      tokens_per_s: Math.round(tokensPerSecond),
      device: selection.device,
      recurrent_layers: selection.fusedKernels?.message ?? `tfjs ops on ${selection.tfjsBackend}`,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    })}\n`,
  );
  process.exit(0);
}

/** Runs one configuration in a child process with a time limit; resolves with its JSON or why not. */
function runOne(backend, batch, hidden, timeoutS) {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--one', `${backend},${batch},${hidden}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1);
      if (code === 0 && line) return done(JSON.parse(line));
      const why = signal
        ? `no result within ${timeoutS} s`
        : (stderr
            .trim()
            .split('\n')
            .filter((l) => l.startsWith('error') || l.includes('Error'))
            .at(-1) ?? `exit ${code}`);
      done({ backend, batch, hidden, tokens_per_s: null, error: why.slice(0, 400) });
    });
  });
}

const budgetS = Number(args['budget-s']);
const timeoutS = Number(args['timeout-s']);
const began = performance.now();
const results = [];
for (const hidden of numbers(args.hiddens)) {
  for (const batch of numbers(args.batches)) {
    for (const backend of list(args.backends)) {
      const left = budgetS - (performance.now() - began) / 1000;
      if (left < 10) {
        results.push({ backend, batch, hidden, tokens_per_s: null, error: 'skipped: time budget spent' });
        continue;
      }
      const result = await runOne(backend, batch, hidden, Math.min(timeoutS, left));
      process.stderr.write(`${JSON.stringify(result)}\n`);
      results.push(result);
    }
  }
}
const speed = (backend, batch, hidden) =>
  results.find((r) => r.backend === backend && r.batch === batch && r.hidden === hidden)?.tokens_per_s ??
  null;
const ratios = [];
for (const hidden of numbers(args.hiddens)) {
  for (const batch of numbers(args.batches)) {
    const gpu = speed('webgpu', batch, hidden);
    const cpu = speed('wasm', batch, hidden);
    ratios.push({ batch, hidden, webgpu_over_wasm: gpu && cpu ? Math.round((gpu / cpu) * 100) / 100 : null });
  }
}
process.stdout.write(
  `${JSON.stringify({
    model: `lstm-scratch (vocab 28, ${numSteps} steps, sgd lr 1, clip 1)`,
    quick: args.quick,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version },
    threads,
    software_adapter: args.software,
    seconds: Math.round((performance.now() - began) / 1000),
    results,
    ratios,
  })}\n`,
);
