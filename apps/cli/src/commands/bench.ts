/**
 * `rnnlm bench`: the PyTorch reference benchmark (bench/torch_reference.py) run on rnnlm, with the same
 * settings, training and summary line, so the two can be compared number for number.
 */
import { availableParallelism } from 'node:os';
import type { NodeBackendName } from '@rnnlm/backend';
import type { CellKind } from '@rnnlm/cells';
import { DivergenceError, generate, type Run } from '@rnnlm/train';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { CliError, EXIT } from '../errors.js';
import type { BenchFlags, BenchModel, Context, Io } from '../flags.js';
import { startBackend } from '../runtime.js';
import { watchPeakTensorBytes } from '../tensor-memory.js';
import { CLI_VERSION } from '../version.js';
import { readCorpus, startRun } from './shared.js';

/** One benchmark run, with every setting resolved. */
export interface BenchConfig {
  model: BenchModel;
  layers: number;
  hidden: number;
  token: 'char' | 'word';
  batchSize: number;
  numSteps: number;
  lr: number;
  epochs: number;
  seed: number;
  /** -1: the whole corpus. */
  maxTokens: number;
  corpus: string;
}

type SuiteEntry = Pick<BenchConfig, 'model' | 'layers' | 'token' | 'lr' | 'epochs' | 'maxTokens'>;

/** The reference's table (the configurations bench/README.md lists with their figures), in order of cost. */
const REFERENCE_SUITE: SuiteEntry[] = [
  { model: 'rnn-scratch', layers: 1, token: 'char', lr: 1, epochs: 500, maxTokens: 10000 },
  { model: 'gru-scratch', layers: 1, token: 'char', lr: 1, epochs: 500, maxTokens: 10000 },
  { model: 'lstm-scratch', layers: 1, token: 'char', lr: 1, epochs: 500, maxTokens: 10000 },
  { model: 'rnn', layers: 1, token: 'char', lr: 1, epochs: 500, maxTokens: 10000 },
  { model: 'gru', layers: 1, token: 'char', lr: 1, epochs: 500, maxTokens: 10000 },
  { model: 'lstm', layers: 1, token: 'char', lr: 1, epochs: 500, maxTokens: 10000 },
  { model: 'lstm', layers: 2, token: 'char', lr: 2, epochs: 500, maxTokens: 10000 },
  { model: 'lstm', layers: 1, token: 'word', lr: 1, epochs: 5, maxTokens: -1 },
];

/** The text every sample continues, as the reference's. */
const SAMPLE_PREFIX = 'time traveller';

/**
 * The configurations a bench command runs: the flags as given, or with --suite the suite's table,
 * where a flag the user typed overrides that setting in every entry (--epochs 3 for a quick pass).
 */
export function benchConfigurations(flags: BenchFlags, given: (name: string) => boolean): BenchConfig[] {
  const fromFlags: BenchConfig = {
    model: flags.model,
    layers: flags.layers,
    hidden: flags.hidden,
    token: flags.token,
    batchSize: flags.batchSize,
    numSteps: flags.numSteps,
    lr: flags.lr,
    epochs: flags.epochs,
    seed: flags.seed,
    maxTokens: flags.maxTokens,
    corpus: flags.corpus,
  };
  if (!flags.suite) return [fromFlags];
  return REFERENCE_SUITE.map((entry) => {
    const config = { ...fromFlags };
    for (const key of Object.keys(entry) as Array<keyof SuiteEntry>) {
      if (!given(key)) Object.assign(config, { [key]: entry[key] });
    }
    return config;
  });
}

export async function bench(flags: BenchFlags, { io, given }: Context): Promise<void> {
  const configs = benchConfigurations(flags, given);
  if (flags.dryRun) {
    for (const config of configs) io.stdout.write(`${JSON.stringify(configJson(config))}\n`);
    return;
  }
  const selection = await startBackend(flags.backend, io, flags.threads);
  const { backend } = selection;
  const threads = selection.fusedKernels?.available ? selection.fusedKernels.threads : threadsOf(backend);
  // The kernels' build (relaxed SIMD's fused multiply-add or plain SIMD), where they run.
  const simd = selection.fusedKernels?.available ? selection.fusedKernels.simd : null;
  for (const [i, config] of configs.entries()) {
    io.stderr.write(
      `bench${configs.length > 1 ? ` ${i + 1}/${configs.length}` : ''}: ${config.model}, ${config.layers} x ${config.hidden}, ` +
        `${config.token}s, lr ${config.lr}, ${config.epochs} epochs, on ${backend}\n`,
    );
    const result = await runBenchmark(config, backend, threads, simd, io, flags.printEvery);
    io.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

/** A configuration as `--dry-run` prints it: the flags that repeat it, in the reference's spelling. */
function configJson(config: BenchConfig) {
  return {
    model: config.model,
    layers: config.layers,
    hidden: config.hidden,
    token: config.token,
    batch_size: config.batchSize,
    num_steps: config.numSteps,
    lr: config.lr,
    epochs: config.epochs,
    seed: config.seed,
    max_tokens: config.maxTokens,
    corpus: config.corpus,
  };
}

async function runBenchmark(
  config: BenchConfig,
  backend: NodeBackendName,
  threads: number,
  simd: string | null,
  io: Io,
  printEvery: number | undefined,
) {
  const corpus = await readCorpus({
    source: config.corpus,
    token: config.token,
    clean: 'letters',
    maxTokens: config.maxTokens > 0 ? config.maxTokens : null,
  });
  const tensorsBefore = tf.memory().numTensors;
  const tensorBytes = watchPeakTensorBytes();
  let run: Run | undefined;
  try {
    // d2l's train_ch8: SGD (d2l.sgd with batch size 1 is plain SGD on the mean loss), clipping to norm 1.
    run = startRun(
      {
        ids: corpus.ids,
        token: config.token,
        batchSize: config.batchSize,
        numSteps: config.numSteps,
        sampling: 'sequential',
        seed: config.seed,
        model: {
          // The reference's -scratch models are hand-written cells; the others are torch.nn layers,
          // whose counterpart here is the tfjs-layers wrapper.
          impl: config.model.endsWith('-scratch') ? 'scratch' : 'layers',
          cell: config.model.replace(/-scratch$/, '') as CellKind,
          vocabSize: corpus.vocab.size,
          hidden: config.hidden,
          layers: config.layers,
          bidirectional: false,
        },
        optimizer: { name: 'sgd', lr: config.lr },
        clip: 1,
      },
      config.maxTokens > 0 && corpus.ids.length >= config.maxTokens,
    );
    const { model, trainer } = run;
    const history: Record<string, number> = {};
    let steadyTokens = 0;
    let steadySeconds = 0;
    const started = performance.now();
    // Each epoch is timed on the wall clock from the end of the one before, as the reference does,
    // so the time between steps (minibatch slicing, the event-loop turn per batch) counts too.
    let epochStarted = started;
    try {
      await trainer.fit({
        epochs: config.epochs,
        onEpochEnd: (r) => {
          const now = performance.now();
          const seconds = (now - epochStarted) / 1000;
          // Steady state: the first epoch pays for warm-up (kernel compilation, allocation).
          if (r.epoch > 1 || config.epochs === 1) {
            steadyTokens += r.tokens;
            steadySeconds += seconds;
          }
          if (printEvery && (r.epoch % printEvery === 0 || r.epoch === config.epochs)) {
            history[r.epoch] = round(r.perplexity, 4);
            io.stderr.write(
              `epoch ${String(r.epoch).padStart(4)}  ppl ${r.perplexity.toFixed(4).padStart(9)}  ` +
                `${(r.tokens / seconds).toFixed(1).padStart(9)} tok/s  elapsed ${((now - started) / 1000).toFixed(1).padStart(7)}s\n`,
            );
          }
          epochStarted = performance.now(); // printing is not part of the next epoch
        },
      });
    } catch (error) {
      if (error instanceof DivergenceError) {
        throw new CliError(`${error.message} (in ${config.model})`, EXIT.diverged, { cause: error });
      }
      throw error;
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const last = trainer.history.at(-1)!;
    const sample = generate(model, corpus.vocab, SAMPLE_PREFIX, config.token === 'char' ? 50 : 10, {
      token: config.token,
    }).text;
    return {
      impl: 'rnnlm',
      version: CLI_VERSION,
      backend,
      model: config.model,
      layers: config.layers,
      hidden: config.hidden,
      token: config.token,
      vocab_size: corpus.vocab.size,
      corpus_tokens: corpus.ids.length,
      epochs: config.epochs,
      tokens_per_s: steadySeconds > 0 ? round(steadyTokens / steadySeconds, 1) : null,
      final_ppl: round(last.perplexity, 4),
      wall_s: round(wallSeconds, 2),
      threads,
      simd,
      seed: config.seed,
      lr: config.lr,
      // The process's peak so far: under --suite it includes the configurations before this one.
      peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
      // tfjs's tensors only, to a thousandth (a small model's are a few KiB): where training runs in
      // the kernels, its activations live in their memory, which peak_rss_mb counts.
      peak_tensor_mb: round(tensorBytes.peak() / 2 ** 20, 3),
      sample,
      ...(printEvery ? { ppl_history: history } : {}),
    };
  } finally {
    run?.dispose();
    tensorBytes.stop();
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked > 0) io.stderr.write(`warning: ${config.model} left ${leaked} tensors undisposed\n`);
  }
}

/**
 * How many threads do the math where the fused kernels do not run, as honestly as each backend lets
 * us know (where they run, their thread count is the answer: they do nearly all the work).
 */
function threadsOf(backend: NodeBackendName): number {
  switch (backend) {
    case 'wasm':
      return getThreadsCount(); // tfjs turns wasm threads off in Node: 1
    case 'cpu':
      return 1; // plain JavaScript on the main thread
    default:
      // Native TensorFlow sizes its thread pools to the machine's cores (the GPU does the math on
      // tensorflow-gpu, these threads feed it).
      return availableParallelism();
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
