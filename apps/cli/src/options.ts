/**
 * The flags several commands share, each defined once: its name, its parser or choices, and its
 * description where the commands mean the same by it. A command passes its own default, and its own
 * description where the flag means something a little different there (`--seed` seeds training in
 * `train` but sampling in `generate`).
 */
import { DROPOUT_MODES, INIT_SCHEMES } from '@rnnlm/cells/names';
import { CLEAN_MODES, TOKEN_MODES } from '@rnnlm/text';
import { Option } from 'commander';
import { BACKENDS, TRAIN_DEFAULTS } from './flags.js';
import { integer, number } from './parse.js';

/** An option taking a value through `parse`, with a default when `fallback` is given. */
function valued<T>(flags: string, description: string, parse: (value: string) => T, fallback?: T): Option {
  return new Option(flags, description).argParser(parse).default(fallback);
}

export const corpusOption = (fallback?: string) =>
  new Option(
    '--corpus <source>',
    'timemachine (downloaded once, then cached), moby-dick (ships with npm, works offline), the path of a UTF-8 text file, or a folder of them (read in byte-wise order of their paths)',
  ).default(fallback);

export const tokenOption = (fallback: string) =>
  new Option('--token <mode>', 'tokens: characters or words').choices(TOKEN_MODES).default(fallback);

export const cleanOption = (description: string) =>
  new Option('--clean <mode>', description).choices(CLEAN_MODES).default(TRAIN_DEFAULTS.clean);

export const maxTokensOption = (description: string, fallback?: number) =>
  valued('--max-tokens <n>', description, integer(0), fallback);

export const minFreqOption = (fallback: number) =>
  valued('--min-freq <n>', 'tokens seen fewer times become <unk>', integer(0), fallback);

export const hiddenOption = (fallback: number) =>
  valued('--hidden <n>', 'hidden units per layer', integer(1), fallback);

export const layersOption = (description: string, fallback: number) =>
  valued('--layers <n>', description, integer(1), fallback);

export const batchSizeOption = (fallback: number) =>
  valued('--batch-size <n>', 'sequences per minibatch', integer(1), fallback);

export const numStepsOption = (description: string, fallback?: number) =>
  valued('--num-steps <n>', description, integer(1), fallback);

export const epochsOption = (description: string, fallback: number) =>
  valued('--epochs <n>', description, integer(1), fallback);

export const lrOption = (description: string, fallback: number) =>
  valued('--lr <rate>', description, number({ min: 0, exclusiveMin: true }), fallback);

export const seedOption = (description: string, fallback?: number) =>
  valued('--seed <n>', description, integer(0), fallback);

/** `--dropout` and `--dropout-mode`: a model setting (saved in the checkpoint, refused if changed on --resume). */
export function dropoutOptions(): Option[] {
  return [
    valued(
      '--dropout <p>',
      'dropout on the non-recurrent connections in training, between layers and before the output (Zaremba et al.; 0: off, 0.2-0.5 usual)',
      number({ min: 0, max: 1, exclusiveMax: true }),
      TRAIN_DEFAULTS.dropout,
    ),
    new Option(
      '--dropout-mode <mode>',
      'standard: a fresh mask every step; variational: one mask per sequence, shared by its steps (Gal and Ghahramani)',
    )
      .choices(DROPOUT_MODES)
      .default(TRAIN_DEFAULTS.dropoutMode),
  ];
}

/** `--init`: how a new model's weights are drawn (a model setting, saved; refused if changed on --resume). */
export const initOption = () =>
  new Option(
    '--init <scheme>',
    "a new model's weights: normal, the notebooks' N(0, 0.01²) and zero biases; uniform, PyTorch's defaults (recurrent weights and biases U(±1/√hidden), head U(±1/√width), embedding N(0, 1)), which learn faster at the start of a large model",
  )
    .choices(INIT_SCHEMES)
    .default(TRAIN_DEFAULTS.init);

/** `--model <dir>`: the saved model a command reads. */
export const modelDirOption = () =>
  new Option('--model <dir>', 'directory of a model saved by rnnlm train').makeOptionMandatory();

export const jsonOption = (description: string) => new Option('--json', description).default(false);

/** `--backend` and `--threads`: every command that runs a model has both. */
export function backendOptions(): Option[] {
  return [
    new Option('--backend <name>', 'tfjs backend; auto takes the first that starts in the order listed')
      .choices(BACKENDS)
      .default(TRAIN_DEFAULTS.backend),
    valued(
      '--threads <n>',
      "threads for the fused recurrent kernels on the wasm and cpu backends (default: the machine's cores, at most 8)",
      integer(1, 64),
    ),
  ];
}
