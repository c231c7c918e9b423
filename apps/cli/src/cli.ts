/**
 * The `rnnlm` command line: commands, flags, defaults and help. The commands' work lives in
 * `commands/*.ts` and is imported only when a command runs, so `--help` and `--version` answer at once
 * without loading TensorFlow.js.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT, EXIT_CODES_HELP, messageOf } from './errors.js';
import { parseDuration } from './long-run.js';
import { integer, number, tokenCap } from './parse.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** The CLI's version, as `rnnlm --version` prints it (benchmarks record it). */
export const CLI_VERSION = version;

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

/** `rnnlm train` with no flags: a char-level LSTM on Moby-Dick, which ships with npm (no download). */
export const TRAIN_DEFAULTS = {
  corpus: 'moby-dick',
  token: 'char',
  clean: 'letters',
  maxTokens: 200000,
  minFreq: 0,
  cell: 'lstm',
  impl: 'scratch',
  hidden: 256,
  layers: 1,
  batchSize: 32,
  numSteps: 35,
  sampling: 'sequential',
  epochs: 10,
  lr: 0.01,
  optimizer: 'adam',
  weightDecay: 0,
  clip: 1,
  validFraction: 0.1,
  seed: 0,
  backend: 'auto',
  out: 'rnnlm-model',
  sampleEvery: 5,
} as const;

/** Options of the train command as commander parses them. */
export interface TrainFlags {
  corpus: string;
  token: 'char' | 'word';
  clean: 'letters' | 'unicode';
  maxTokens: number;
  minFreq: number;
  cell: 'rnn' | 'gru' | 'lstm';
  impl: 'scratch' | 'layers';
  hidden: number;
  layers: number;
  bidirectional: boolean;
  batchSize: number;
  numSteps: number;
  sampling: 'sequential' | 'random';
  epochs: number;
  lr: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  weightDecay: number;
  clip: number;
  validFraction: number;
  seed: number;
  backend: (typeof BACKENDS)[number];
  /** Threads for the fused recurrent kernels (wasm and cpu backends); default: the machine's cores. */
  threads?: number;
  out: string;
  force: boolean;
  resume?: string;
  sampleEvery: number;
  prefix?: string;
  json: boolean;
  /** Long runs (see long-run.ts): 0 turns each off. */
  checkpointEvery: number;
  timeBudget: number;
  validTokens: number;
  validEvery: number;
}

export interface GenerateFlags {
  model: string;
  prefix?: string;
  length: number;
  temperature: number;
  topK: number;
  topP: number;
  seed?: number;
  backend: (typeof BACKENDS)[number];
  /** Threads for the fused recurrent kernels (wasm and cpu backends); default: the machine's cores. */
  threads?: number;
}

export interface EvalFlags {
  model: string;
  corpus?: string;
  maxTokens?: number;
  batchSize: number;
  numSteps?: number;
  backend: (typeof BACKENDS)[number];
  /** Threads for the fused recurrent kernels (wasm and cpu backends); default: the machine's cores. */
  threads?: number;
  json: boolean;
}

export interface CorpusInfoFlags {
  corpus: string;
  token: 'char' | 'word';
  clean: 'letters' | 'unicode';
  maxTokens: number;
  minFreq: number;
  top: number;
  json: boolean;
}

export interface CorpusDownloadFlags {
  force: boolean;
}

/** The models of the PyTorch reference benchmark, by its names: `-scratch` ones are our impl 'scratch'. */
export const BENCH_MODELS = ['rnn-scratch', 'gru-scratch', 'lstm-scratch', 'rnn', 'gru', 'lstm'] as const;
export type BenchModel = (typeof BENCH_MODELS)[number];

/** Suites of configurations `rnnlm bench --suite` runs; `reference` is the PyTorch reference's table. */
export const BENCH_SUITES = ['reference'] as const;

/** `rnnlm bench` with no flags: the PyTorch reference's defaults (the notebooks' Time Machine run). */
export const BENCH_DEFAULTS = {
  model: 'lstm-scratch',
  layers: 1,
  hidden: 256,
  batchSize: 32,
  numSteps: 35,
  lr: 1,
  epochs: 500,
  seed: 0,
  token: 'char',
  maxTokens: 10000,
  corpus: 'timemachine',
} as const;

export interface BenchFlags {
  model: BenchModel;
  layers: number;
  hidden: number;
  batchSize: number;
  numSteps: number;
  lr: number;
  epochs: number;
  seed: number;
  token: 'char' | 'word';
  /** -1: the whole corpus. */
  maxTokens: number;
  corpus: string;
  backend: (typeof BACKENDS)[number];
  /** Threads for the fused recurrent kernels (wasm and cpu backends); default: the machine's cores. */
  threads?: number;
  printEvery?: number;
  suite?: (typeof BENCH_SUITES)[number];
  dryRun: boolean;
}

/** What every command gets besides its flags. */
export interface Context {
  io: Io;
  /** Which flags the user typed (as opposed to defaults), by option name. */
  given: (name: string) => boolean;
}

const corpusOption = (fallback?: string) =>
  new Option(
    '--corpus <source>',
    'timemachine (downloaded once, then cached), moby-dick (ships with npm, works offline), the path of a UTF-8 text file, or a folder of them (read in byte-wise order of their paths)',
  ).default(fallback);

function backendOption() {
  return new Option('--backend <name>', 'tfjs backend; auto takes the first that starts in the order listed')
    .choices(BACKENDS)
    .default(TRAIN_DEFAULTS.backend);
}

function threadsOption() {
  return new Option(
    '--threads <n>',
    "threads for the fused recurrent kernels on the wasm and cpu backends (default: the machine's cores, at most 8)",
  ).argParser(integer(1, 64));
}

export function buildProgram(
  io: Io,
  run: (command: string, flags: object, context: Context) => Promise<void>,
): Command {
  const program = new Command('rnnlm')
    .description(
      'Train recurrent language models (RNN, GRU, LSTM) on a text, measure their perplexity and generate text,\n' +
        'in the style of "Dive into Deep Learning" chapters 8-9, on TensorFlow.js.',
    )
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .option('--verbose', 'print the stack trace of an error')
    .addHelpText('afterAll', EXIT_CODES_HELP)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Commander's messages can span lines ("Did you mean ...?"): keep them to one line.
      outputError: (text, write) => write(`${text.replace(/\s*\n\s*/g, ' ').trim()} (see --help)\n`),
    });

  const action =
    (name: string) =>
    async (flags: object, command: Command): Promise<void> => {
      const given = (option: string) => command.getOptionValueSource(option) === 'cli';
      await run(name, flags, { io, given });
    };

  program
    .command('train')
    .description(
      'Train a model on a corpus, save it (checkpoint, vocabulary, perplexity.svg) to --out, and print generated text.\n' +
        'With no flags: a character-level LSTM (256 units) on the first 200,000 characters of Moby-Dick (offline, a minute or two).',
    )
    .addOption(corpusOption(TRAIN_DEFAULTS.corpus))
    .addOption(
      new Option('--token <mode>', 'tokens: characters or words')
        .choices(['char', 'word'])
        .default(TRAIN_DEFAULTS.token),
    )
    .addOption(
      new Option(
        '--clean <mode>',
        'letters: runs of non-letters become one space, lower case; unicode: keep every character',
      )
        .choices(['letters', 'unicode'])
        .default(TRAIN_DEFAULTS.clean),
    )
    .addOption(
      new Option('--max-tokens <n>', 'use the first n tokens of the corpus (0: all)')
        .argParser(integer(0))
        .default(TRAIN_DEFAULTS.maxTokens),
    )
    .addOption(
      new Option('--min-freq <n>', 'tokens seen fewer times become <unk>')
        .argParser(integer(0))
        .default(TRAIN_DEFAULTS.minFreq),
    )
    .addOption(
      new Option('--cell <kind>', 'recurrent cell')
        .choices(['rnn', 'gru', 'lstm'])
        .default(TRAIN_DEFAULTS.cell),
    )
    .addOption(
      new Option(
        '--impl <impl>',
        'scratch: hand-written cells on tfjs-core ops; layers: tfjs-layers recurrent layers',
      )
        .choices(['scratch', 'layers'])
        .default(TRAIN_DEFAULTS.impl),
    )
    .addOption(
      new Option('--hidden <n>', 'hidden units per layer')
        .argParser(integer(1))
        .default(TRAIN_DEFAULTS.hidden),
    )
    .addOption(
      new Option('--layers <n>', 'stacked recurrent layers')
        .argParser(integer(1))
        .default(TRAIN_DEFAULTS.layers),
    )
    .option(
      '--bidirectional',
      'bidirectional layers (they see the future: perplexity is meaningless and they cannot generate)',
      false,
    )
    .addOption(
      new Option('--batch-size <n>', 'sequences per minibatch')
        .argParser(integer(1))
        .default(TRAIN_DEFAULTS.batchSize),
    )
    .addOption(
      new Option('--num-steps <n>', 'time steps per sequence')
        .argParser(integer(1))
        .default(TRAIN_DEFAULTS.numSteps),
    )
    .addOption(
      new Option(
        '--sampling <mode>',
        'minibatches: sequential partitions (state carried over) or random subsequences',
      )
        .choices(['sequential', 'random'])
        .default(TRAIN_DEFAULTS.sampling),
    )
    .addOption(
      new Option('--epochs <n>', 'passes over the corpus (with --resume: the total to reach)')
        .argParser(integer(1))
        .default(TRAIN_DEFAULTS.epochs),
    )
    .addOption(
      new Option('--lr <rate>', 'learning rate (the notebooks use 1 with sgd)')
        .argParser(number({ min: 0, exclusiveMin: true }))
        .default(TRAIN_DEFAULTS.lr),
    )
    .addOption(
      new Option('--optimizer <name>', 'optimizer')
        .choices(['sgd', 'adam', 'adamw'])
        .default(TRAIN_DEFAULTS.optimizer),
    )
    .addOption(
      new Option('--weight-decay <rate>', 'weight decay (decoupled for adamw)')
        .argParser(number({ min: 0 }))
        .default(TRAIN_DEFAULTS.weightDecay),
    )
    .addOption(
      new Option('--clip <theta>', 'clip gradients to this global L2 norm (0: off)')
        .argParser(number({ min: 0 }))
        .default(TRAIN_DEFAULTS.clip),
    )
    .addOption(
      new Option(
        '--valid-fraction <f>',
        'fraction of the corpus (its end) held out to measure validation perplexity',
      )
        .argParser(number({ min: 0, max: 0.5 }))
        .default(TRAIN_DEFAULTS.validFraction),
    )
    .addOption(
      new Option(
        '--valid-tokens <n>',
        'measure validation perplexity on at most the first n held-out tokens (0: all)',
      )
        .argParser(integer(0))
        .default(0),
    )
    .addOption(
      new Option(
        '--valid-every <n>',
        'also measure validation perplexity every n batches (0: only at epoch ends)',
      )
        .argParser(integer(0))
        .default(0),
    )
    .addOption(
      new Option(
        '--checkpoint-every <minutes>',
        'also save a resumable checkpoint every so many minutes, mid-epoch (0: at epoch ends)',
      )
        .argParser(number({ min: 0 }))
        .default(0),
    )
    .addOption(
      new Option(
        '--time-budget <duration>',
        'stop cleanly with a resumable checkpoint after this long (90s, 10m, 2h)',
      )
        .argParser(parseDuration)
        .default(0),
    )
    .addOption(
      new Option('--seed <n>', 'random seed: the same seed repeats a run exactly')
        .argParser(integer(0))
        .default(TRAIN_DEFAULTS.seed),
    )
    .addOption(backendOption())
    .addOption(threadsOption())
    .addOption(new Option('--out <dir>', 'directory to save the model to').default(TRAIN_DEFAULTS.out))
    .option('--force', 'overwrite a model already saved in --out', false)
    .addOption(
      new Option('--resume <dir>', 'continue training the model saved in <dir> (settings come from it)'),
    )
    .addOption(
      new Option('--sample-every <n>', 'print a generated sample every n epochs (0: only at the end)')
        .argParser(integer(0))
        .default(TRAIN_DEFAULTS.sampleEvery),
    )
    .addOption(
      new Option('--prefix <text>', "text the samples start from (default: the corpus's opening words)"),
    )
    .option(
      '--json',
      'print one JSON object per epoch and a final one, instead of the progress bar and text',
      false,
    )
    .action(action('train'));

  program
    .command('generate')
    .description('Generate text from a saved model, continuing --prefix.')
    .requiredOption('--model <dir>', 'directory of a model saved by rnnlm train')
    .addOption(
      new Option('--prefix <text>', 'text to continue (default: the prefix the model was trained with)'),
    )
    .addOption(new Option('--length <n>', 'tokens to generate').argParser(integer(1)).default(100))
    .addOption(
      new Option(
        '--temperature <t>',
        'sampling temperature; 0 picks the most likely token each step (as the notebooks do)',
      )
        .argParser(number({ min: 0 }))
        .default(0),
    )
    .addOption(
      new Option('--top-k <k>', 'sample only among the k most likely tokens (0: all)')
        .argParser(integer(0))
        .default(0),
    )
    .addOption(
      new Option('--top-p <p>', 'sample only among the most likely tokens whose probabilities add up to p')
        .argParser(number({ min: 0, max: 1, exclusiveMin: true }))
        .default(1),
    )
    .addOption(
      new Option('--seed <n>', 'random seed for sampling (default: a new one each run)').argParser(
        integer(0),
      ),
    )
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(action('generate'));

  program
    .command('eval')
    .description(
      'Perplexity of a saved model on a corpus (by default the one it was trained on), with its vocabulary.',
    )
    .requiredOption('--model <dir>', 'directory of a model saved by rnnlm train')
    .addOption(corpusOption())
    .addOption(
      new Option('--max-tokens <n>', 'use the first n tokens (0: all; default: as in training)').argParser(
        integer(0),
      ),
    )
    .addOption(new Option('--batch-size <n>', 'sequences per minibatch').argParser(integer(1)).default(32))
    .addOption(
      new Option('--num-steps <n>', 'time steps per sequence (default: as in training)').argParser(
        integer(1),
      ),
    )
    .addOption(backendOption())
    .addOption(threadsOption())
    .option('--json', 'print the result as one JSON object', false)
    .action(action('eval'));

  program
    .command('bench')
    .description(
      'Benchmark training speed and perplexity the way the PyTorch reference (torch_reference.py) does: the Time Machine ' +
        'cleaned to letters, SGD, gradient clipping to norm 1, sequential minibatches with the hidden state carried.\n' +
        "Prints one JSON line per configuration on stdout with the reference's fields (tokens_per_s leaves out the " +
        'first epoch, as it does) and backend, version, peak_rss_mb and peak_tensor_mb; progress goes to stderr.',
    )
    .addOption(
      new Option(
        '--model <name>',
        "the reference's model names: -scratch ones are rnnlm's hand-written cells (impl scratch), the others tfjs-layers (impl layers, like torch.nn)",
      )
        .choices(BENCH_MODELS)
        .default(BENCH_DEFAULTS.model),
    )
    .addOption(
      new Option(
        '--layers <n>',
        'stacked recurrent layers (rnnlm stacks -scratch models too; the reference stacks only torch.nn ones)',
      )
        .argParser(integer(1))
        .default(BENCH_DEFAULTS.layers),
    )
    .addOption(
      new Option('--hidden <n>', 'hidden units per layer')
        .argParser(integer(1))
        .default(BENCH_DEFAULTS.hidden),
    )
    .addOption(
      new Option('--batch-size <n>', 'sequences per minibatch')
        .argParser(integer(1))
        .default(BENCH_DEFAULTS.batchSize),
    )
    .addOption(
      new Option('--num-steps <n>', 'time steps per sequence')
        .argParser(integer(1))
        .default(BENCH_DEFAULTS.numSteps),
    )
    .addOption(
      new Option('--lr <rate>', 'SGD learning rate')
        .argParser(number({ min: 0, exclusiveMin: true }))
        .default(BENCH_DEFAULTS.lr),
    )
    .addOption(
      new Option('--epochs <n>', 'passes over the corpus (with --suite: for every configuration)')
        .argParser(integer(1))
        .default(BENCH_DEFAULTS.epochs),
    )
    .addOption(
      new Option('--seed <n>', 'random seed (weights and minibatch offsets)')
        .argParser(integer(0))
        .default(BENCH_DEFAULTS.seed),
    )
    .addOption(
      new Option('--token <mode>', 'tokens: characters or words')
        .choices(['char', 'word'])
        .default(BENCH_DEFAULTS.token),
    )
    .addOption(
      new Option('--max-tokens <n>', 'use the first n tokens of the corpus (-1: all)')
        .argParser(tokenCap)
        .default(BENCH_DEFAULTS.maxTokens),
    )
    .addOption(corpusOption(BENCH_DEFAULTS.corpus))
    .addOption(backendOption())
    .addOption(threadsOption())
    .addOption(
      new Option(
        '--print-every <n>',
        'print a progress line to stderr every n epochs and add ppl_history to the JSON (default: neither)',
      ).argParser(integer(1)),
    )
    .addOption(
      new Option(
        '--suite <name>',
        "run a whole table: reference = the reference's results (rnn/gru/lstm-scratch, rnn, gru, lstm, lstm 2 layers " +
          'at lr 2, word-level lstm over the whole text for 5 epochs); the other flags you give apply to every configuration',
      )
        .choices(BENCH_SUITES)
        .conflicts(['model', 'layers', 'token']),
    )
    .option(
      '--dry-run',
      'print the configurations that would run, one JSON line each, and train nothing',
      false,
    )
    .action(action('bench'));

  const corpus = program.command('corpus').description('Inspect corpora and fetch the Time Machine.');
  corpus
    .command('info')
    .description('Vocabulary size, token count and the most frequent tokens of a corpus.')
    .addOption(corpusOption(TRAIN_DEFAULTS.corpus))
    .addOption(
      new Option('--token <mode>', 'tokens: characters or words')
        .choices(['char', 'word'])
        .default(TRAIN_DEFAULTS.token),
    )
    .addOption(
      new Option('--clean <mode>', 'cleaning mode')
        .choices(['letters', 'unicode'])
        .default(TRAIN_DEFAULTS.clean),
    )
    .addOption(
      new Option('--max-tokens <n>', 'use the first n tokens (0: all)').argParser(integer(0)).default(0),
    )
    .addOption(
      new Option('--min-freq <n>', 'tokens seen fewer times become <unk>').argParser(integer(0)).default(0),
    )
    .addOption(
      new Option('--top <n>', 'how many of the most frequent tokens to list')
        .argParser(integer(0))
        .default(10),
    )
    .option('--json', 'print the result as one JSON object', false)
    .action(action('corpus info'));
  corpus
    .command('download')
    .description(
      'Download the Time Machine from the d2l data site, check its sha1 and cache it (RNNLM_CACHE_DIR overrides where).',
    )
    .option('--force', 'download again even when cached', false)
    .action(action('corpus download'));

  return program;
}

/** Runs the CLI with `argv` (without node and the script) and resolves with the exit code. */
export async function main(argv: string[], io: Io = process): Promise<number> {
  const program = buildProgram(io, async (command, flags, context) => {
    const { runCommand } = await import('./commands/index.js');
    await runCommand(command, flags, context);
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    return reportError(error, io, Boolean(program.opts().verbose) || argv.includes('--verbose'));
  }
}

function reportError(error: unknown, io: Io, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version end here too; commander has already printed what it had to say.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  if (error instanceof CliError) {
    io.stderr.write(`error: ${error.message}\n`);
    if (verbose) io.stderr.write(`${stackOf(error)}\n`);
    return error.exitCode;
  }
  io.stderr.write(
    `error: ${messageOf(error)}${verbose ? '' : ' (an internal error: rerun with --verbose for the stack trace)'}\n`,
  );
  if (verbose) io.stderr.write(`${error instanceof Error ? stackOf(error) : String(error)}\n`);
  return EXIT.internal;
}

function stackOf(error: Error): string {
  let text = error.stack ?? String(error);
  let cause = error.cause;
  while (cause instanceof Error) {
    text += `\ncaused by: ${cause.stack ?? cause.message}`;
    cause = cause.cause;
  }
  return text;
}
