/**
 * The `rnnlm` program: its commands, their flags and help. A command's work is handed to `run` by
 * name; the program never imports the commands, so `--help` and `--version` answer without loading
 * TensorFlow.js. To add a command: define its flags type in flags.ts, declare it here, and add its case
 * to commands/index.ts.
 */
import { CELL_KINDS, MODEL_IMPLS } from '@rnnlm/cells/names';
import { SAMPLINGS } from '@rnnlm/data';
import { OPTIMIZER_NAMES, SCHEDULE_NAMES } from '@rnnlm/train/names';
import { Command, Option } from 'commander';
import { EXIT_CODES_HELP } from './errors.js';
import {
  BENCH_DEFAULTS,
  BENCH_MODELS,
  BENCH_SUITES,
  type Context,
  EXPORT_FORMATS,
  type Io,
  TRAIN_DEFAULTS,
} from './flags.js';
import { parseDuration } from './long-run.js';
import {
  backendOptions,
  batchSizeOption,
  cleanOption,
  corpusOption,
  dropoutOptions,
  epochsOption,
  hiddenOption,
  initOption,
  jsonOption,
  layersOption,
  lrOption,
  maxTokensOption,
  minFreqOption,
  modelDirOption,
  numStepsOption,
  seedOption,
  tokenOption,
} from './options.js';
import { integer, number, tokenCap } from './parse.js';
import { CLI_VERSION } from './version.js';

/** Runs the command named (`train`, `corpus info`, ...) with its parsed flags. */
export type RunCommand = (command: string, flags: object, context: Context) => Promise<void>;

export function buildProgram(io: Io, run: RunCommand): Command {
  const program = new Command('rnnlm')
    .description(
      'Train recurrent language models (RNN, GRU, LSTM) on a text, measure their perplexity and generate text,\n' +
        'in the style of "Dive into Deep Learning" chapters 8-9, on TensorFlow.js.',
    )
    .version(CLI_VERSION, '-V, --version', 'print the version')
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

  /** A command whose action hands its flags to `run`, with the options it is given in order. */
  const command = (parent: Command, name: string, description: string, options: Option[]) => {
    const sub = parent.command(name.split(' ').at(-1)!).description(description);
    for (const option of options) sub.addOption(option);
    return sub.action(async (flags: object, self: Command) => {
      const given = (option: string) => self.getOptionValueSource(option) === 'cli';
      await run(name, flags, { io, given });
    });
  };
  const flag = (flags: string, description: string) => new Option(flags, description).default(false);

  command(
    program,
    'train',
    'Train a model on a corpus, save it (checkpoint, vocabulary, perplexity.svg) to --out, and print generated text.\n' +
      'With no flags: a character-level LSTM (256 units) on the first 200,000 characters of Moby-Dick (offline, a minute or two).',
    [
      corpusOption(TRAIN_DEFAULTS.corpus),
      tokenOption(TRAIN_DEFAULTS.token),
      cleanOption('letters: runs of non-letters become one space, lower case; unicode: keep every character'),
      maxTokensOption('use the first n tokens of the corpus (0: all)', TRAIN_DEFAULTS.maxTokens),
      minFreqOption(TRAIN_DEFAULTS.minFreq),
      new Option('--cell <kind>', 'recurrent cell').choices(CELL_KINDS).default(TRAIN_DEFAULTS.cell),
      new Option(
        '--impl <impl>',
        'scratch: hand-written cells on tfjs-core ops; layers: tfjs-layers recurrent layers',
      )
        .choices(MODEL_IMPLS)
        .default(TRAIN_DEFAULTS.impl),
      hiddenOption(TRAIN_DEFAULTS.hidden),
      layersOption('stacked recurrent layers', TRAIN_DEFAULTS.layers),
      flag(
        '--bidirectional',
        'bidirectional layers (they see the future: perplexity is meaningless and they cannot generate)',
      ),
      new Option(
        '--embedding <n>',
        'learn an embedding of n numbers per token for the first layer (default: one-hot input; word-level models want one)',
      ).argParser(integer(1)),
      flag(
        '--tie-weights',
        "the output head's weight is the embedding transposed (Press and Wolf 2017): needs --embedding equal to --hidden (twice it when --bidirectional)",
      ),
      ...dropoutOptions(),
      initOption(),
      batchSizeOption(TRAIN_DEFAULTS.batchSize),
      numStepsOption('time steps per sequence', TRAIN_DEFAULTS.numSteps),
      new Option(
        '--sampling <mode>',
        'minibatches: sequential partitions (state carried over) or random subsequences',
      )
        .choices(SAMPLINGS)
        .default(TRAIN_DEFAULTS.sampling),
      epochsOption('passes over the corpus (with --resume: the total to reach)', TRAIN_DEFAULTS.epochs),
      lrOption('learning rate (the notebooks use 1 with sgd)', TRAIN_DEFAULTS.lr),
      new Option('--optimizer <name>', 'optimizer')
        .choices(OPTIMIZER_NAMES)
        .default(TRAIN_DEFAULTS.optimizer),
      new Option('--weight-decay <rate>', 'weight decay (decoupled for adamw)')
        .argParser(number({ min: 0 }))
        .default(TRAIN_DEFAULTS.weightDecay),
      new Option('--clip <theta>', 'clip gradients to this global L2 norm (0: off)')
        .argParser(number({ min: 0 }))
        .default(TRAIN_DEFAULTS.clip),
      new Option(
        '--lr-schedule <name>',
        'learning rate over the run: constant; step (times --lr-gamma every --lr-step-every epochs); cosine (down to --lr-min over the run); plateau (times --lr-gamma after --lr-patience validations without a better valid perplexity)',
      )
        .choices(SCHEDULE_NAMES)
        .default(TRAIN_DEFAULTS.lrSchedule),
      new Option('--lr-step-every <epochs>', 'step schedule: epochs between decays')
        .argParser(integer(1))
        .default(TRAIN_DEFAULTS.lrStepEvery),
      new Option('--lr-gamma <factor>', 'step and plateau schedules: what each decay multiplies the rate by')
        .argParser(number({ min: 0, exclusiveMin: true, max: 1 }))
        .default(TRAIN_DEFAULTS.lrGamma),
      new Option(
        '--lr-patience <n>',
        'plateau schedule: validations without a better valid perplexity before a decay (one at each epoch end, and one every --valid-every batches when set)',
      )
        .argParser(integer(1))
        .default(TRAIN_DEFAULTS.lrPatience),
      new Option('--lr-min <rate>', 'no schedule takes the rate below this')
        .argParser(number({ min: 0 }))
        .default(TRAIN_DEFAULTS.lrMin),
      new Option('--warmup-steps <n>', 'raise the rate linearly over the first n batches (any schedule)')
        .argParser(integer(0))
        .default(TRAIN_DEFAULTS.warmupSteps),
      new Option(
        '--patience <n>',
        'stop early after this many validations without a better valid perplexity (0: never): one at each epoch end, and one every --valid-every batches when set; the best model is kept in <out>/best either way',
      )
        .argParser(integer(0))
        .default(0),
      new Option(
        '--valid-fraction <f>',
        'fraction of the corpus (its end) held out to measure validation perplexity',
      )
        .argParser(number({ min: 0, max: 0.5 }))
        .default(TRAIN_DEFAULTS.validFraction),
      new Option(
        '--valid-tokens <n>',
        'measure validation perplexity on at most the first n held-out tokens (0: all)',
      )
        .argParser(integer(0))
        .default(0),
      new Option(
        '--valid-every <n>',
        'also measure validation perplexity every n batches (0: only at epoch ends); each counts for --patience, --lr-patience and <out>/best as an epoch end does',
      )
        .argParser(integer(0))
        .default(0),
      new Option(
        '--checkpoint-every <minutes>',
        'also save a resumable checkpoint every so many minutes, mid-epoch (0: at epoch ends)',
      )
        .argParser(number({ min: 0 }))
        .default(0),
      new Option(
        '--time-budget <duration>',
        'stop cleanly with a resumable checkpoint after this long (90s, 10m, 2h)',
      )
        .argParser(parseDuration)
        .default(0),
      flag(
        '--anneal-to-budget',
        "with --time-budget and --lr-schedule cosine: fall to --lr-min by the budget's end when it comes before the epochs' (the best model in that time; the clock then shapes the rates, so the run does not repeat bit for bit)",
      ),
      seedOption('random seed: the same seed repeats a run exactly', TRAIN_DEFAULTS.seed),
      ...backendOptions(),
      new Option(
        '--no-measure',
        'with --backend auto, take the first backend that starts instead of timing a few training steps of the model on each (the fastest is remembered per device and model shape)',
      ),
      new Option('--out <dir>', 'directory to save the model to').default(TRAIN_DEFAULTS.out),
      flag('--force', 'overwrite a model already saved in --out'),
      new Option('--resume <dir>', 'continue training the model saved in <dir> (settings come from it)'),
      new Option('--sample-every <n>', 'print a generated sample every n epochs (0: only at the end)')
        .argParser(integer(0))
        .default(TRAIN_DEFAULTS.sampleEvery),
      new Option('--prefix <text>', "text the samples start from (default: the corpus's opening words)"),
      jsonOption('print one JSON object per epoch and a final one, instead of the progress bar and text'),
    ],
  );

  command(program, 'generate', 'Generate text from a saved model, continuing --prefix.', [
    modelDirOption(),
    new Option('--prefix <text>', 'text to continue (default: the prefix the model was trained with)'),
    new Option('--length <n>', 'tokens to generate').argParser(integer(1)).default(100),
    new Option(
      '--temperature <t>',
      'sampling temperature; 0 picks the most likely token each step (as the notebooks do)',
    )
      .argParser(number({ min: 0 }))
      .default(0),
    new Option('--top-k <k>', 'sample only among the k most likely tokens (0: all)')
      .argParser(integer(0))
      .default(0),
    new Option('--top-p <p>', 'sample only among the most likely tokens whose probabilities add up to p')
      .argParser(number({ min: 0, max: 1, exclusiveMin: true }))
      .default(1),
    seedOption('random seed for sampling (default: a new one each run); sample i uses seed + i'),
    new Option('--num-samples <n>', 'texts to generate, each with its own seed')
      .argParser(integer(1))
      .default(1),
    jsonOption('print one JSON object per sample (its text, seed and tokens) instead of streaming text'),
    ...backendOptions(),
  ]);

  command(
    program,
    'eval',
    'Perplexity of a saved model on a corpus (by default the one it was trained on), with its vocabulary;\n' +
      'or, with --text or --file, the log-likelihood, perplexity and per-token surprisal of one text.',
    [
      modelDirOption(),
      corpusOption(),
      new Option(
        '--text <text>',
        "score this text, read as the model's corpus was (with --json: each token's surprisal in bits)",
      ).conflicts(['corpus', 'file']),
      new Option('--file <path>', 'score the text of this UTF-8 file, as --text').conflicts([
        'corpus',
        'text',
      ]),
      maxTokensOption('use the first n tokens (0: all; default: as in training)'),
      batchSizeOption(32),
      numStepsOption('time steps per sequence (default: as in training)'),
      ...backendOptions(),
      jsonOption('print the result as one JSON object'),
    ],
  );

  command(
    program,
    'export',
    'Write a saved model as a standard tfjs LayersModel (tf.loadLayersModel opens it; Keras users convert it\n' +
      'with tensorflowjs_converter): model.json and weights.bin, step/ (stateful, batch 1, for generation)\n' +
      'and vocabulary.json (the token of each id). The model outputs next-token probabilities at every step.',
    [
      new Option('--format <format>', 'what to write').choices(EXPORT_FORMATS).makeOptionMandatory(),
      modelDirOption(),
      new Option('--out <dir>', 'directory to write (new or empty)').makeOptionMandatory(),
      flag('--force', 'write into a directory that is not empty (never over a checkpoint)'),
      ...backendOptions(),
    ],
  );

  command(
    program,
    'bench',
    'Benchmark training speed and perplexity the way the PyTorch reference (torch_reference.py) does: the Time Machine ' +
      'cleaned to letters, SGD, gradient clipping to norm 1, sequential minibatches with the hidden state carried.\n' +
      "Prints one JSON line per configuration on stdout with the reference's fields (tokens_per_s leaves out the " +
      'first epoch, as it does) and backend, version, peak_rss_mb and peak_tensor_mb; progress goes to stderr.',
    [
      new Option(
        '--model <name>',
        "the reference's model names: -scratch ones are rnnlm's hand-written cells (impl scratch), the others tfjs-layers (impl layers, like torch.nn)",
      )
        .choices(BENCH_MODELS)
        .default(BENCH_DEFAULTS.model),
      layersOption(
        'stacked recurrent layers (rnnlm stacks -scratch models too; the reference stacks only torch.nn ones)',
        BENCH_DEFAULTS.layers,
      ),
      hiddenOption(BENCH_DEFAULTS.hidden),
      batchSizeOption(BENCH_DEFAULTS.batchSize),
      numStepsOption('time steps per sequence', BENCH_DEFAULTS.numSteps),
      lrOption('SGD learning rate', BENCH_DEFAULTS.lr),
      epochsOption('passes over the corpus (with --suite: for every configuration)', BENCH_DEFAULTS.epochs),
      seedOption('random seed (weights and minibatch offsets)', BENCH_DEFAULTS.seed),
      tokenOption(BENCH_DEFAULTS.token),
      new Option('--max-tokens <n>', 'use the first n tokens of the corpus (-1: all)')
        .argParser(tokenCap)
        .default(BENCH_DEFAULTS.maxTokens),
      corpusOption(BENCH_DEFAULTS.corpus),
      ...backendOptions(),
      new Option(
        '--print-every <n>',
        'print a progress line to stderr every n epochs and add ppl_history to the JSON (default: neither)',
      ).argParser(integer(1)),
      new Option(
        '--suite <name>',
        "run a whole table: reference = the reference's results (rnn/gru/lstm-scratch, rnn, gru, lstm, lstm 2 layers " +
          'at lr 2, word-level lstm over the whole text for 5 epochs); the other flags you give apply to every configuration',
      )
        .choices(BENCH_SUITES)
        .conflicts(['model', 'layers', 'token']),
      flag('--dry-run', 'print the configurations that would run, one JSON line each, and train nothing'),
    ],
  );

  const corpus = program.command('corpus').description('Inspect corpora and fetch the Time Machine.');
  command(corpus, 'corpus info', 'Vocabulary size, token count and the most frequent tokens of a corpus.', [
    corpusOption(TRAIN_DEFAULTS.corpus),
    tokenOption(TRAIN_DEFAULTS.token),
    cleanOption('cleaning mode'),
    maxTokensOption('use the first n tokens (0: all)', 0),
    minFreqOption(0),
    new Option('--top <n>', 'how many of the most frequent tokens to list').argParser(integer(0)).default(10),
    jsonOption('print the result as one JSON object'),
  ]);
  command(
    corpus,
    'corpus download',
    'Download the Time Machine from the d2l data site (RNNLM_TIME_MACHINE_URL: a mirror), check its sha1 and cache it (RNNLM_CACHE_DIR overrides where).',
    [flag('--force', 'download again even when cached (the cached copy is replaced only by a checked one)')],
  );

  return program;
}
