/**
 * What the commands receive: their flags as commander parses them, the defaults, and the context every
 * command gets. Types and constants only (no commander), so the commands import them without the
 * program, and the program without the commands. The choices come from the packages' own lists.
 */
import { NODE_BACKENDS } from '@rnnlm/backend/names';
import {
  CELL_KINDS,
  type CellKind,
  type DropoutMode,
  type InitScheme,
  type ModelImpl,
} from '@rnnlm/cells/names';
import type { Sampling } from '@rnnlm/data';
import type { CleanMode, TokenMode } from '@rnnlm/text';
import type { OptimizerName, ScheduleName } from '@rnnlm/train/names';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** What every command gets besides its flags. */
export interface Context {
  io: Io;
  /** Which flags the user typed (as opposed to defaults), by option name. */
  given: (name: string) => boolean;
}

/** `--backend`: `auto` takes the first of the Node backends that starts. */
export const BACKENDS = ['auto', ...NODE_BACKENDS] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/** The flags every command that runs a model has. */
export interface BackendFlags {
  backend: BackendChoice;
  /** Threads for the fused recurrent kernels (wasm and cpu backends); default: the machine's cores. */
  threads?: number;
}

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
  lrSchedule: 'constant',
  lrStepEvery: 1,
  lrGamma: 0.5,
  warmupSteps: 0,
  lrMin: 0,
  lrPatience: 2,
  dropout: 0,
  dropoutMode: 'standard',
  init: 'normal',
  validFraction: 0.1,
  seed: 0,
  backend: 'auto',
  out: 'rnnlm-model',
  sampleEvery: 5,
} as const;

/** Options of the train command as commander parses them. */
export interface TrainFlags extends BackendFlags {
  /** `--backend auto` measures training steps on each backend (`--no-measure`: the static order). */
  measure: boolean;
  corpus: string;
  token: TokenMode;
  clean: CleanMode;
  maxTokens: number;
  minFreq: number;
  cell: CellKind;
  impl: ModelImpl;
  hidden: number;
  layers: number;
  bidirectional: boolean;
  /** The token embedding's size (absent: one-hot input). */
  embedding?: number;
  /** The head's weight is the embedding transposed (needs --embedding equal to the top layer's width). */
  tieWeights: boolean;
  /** Dropout on the non-recurrent connections in training (0: off), and how its masks are drawn. */
  dropout: number;
  dropoutMode: DropoutMode;
  /** How a new model's weights are drawn. */
  init: InitScheme;
  batchSize: number;
  numSteps: number;
  sampling: Sampling;
  epochs: number;
  lr: number;
  optimizer: OptimizerName;
  weightDecay: number;
  clip: number;
  /** The learning-rate schedule and its settings (each used by the schedules its help names). */
  lrSchedule: ScheduleName;
  lrStepEvery: number;
  lrGamma: number;
  warmupSteps: number;
  lrMin: number;
  lrPatience: number;
  /** Early stopping: epochs without a better validation perplexity (0: off). */
  patience: number;
  validFraction: number;
  seed: number;
  out: string;
  force: boolean;
  resume?: string;
  sampleEvery: number;
  prefix?: string;
  json: boolean;
  /** Long runs (see long-run.ts): 0 turns each off. */
  checkpointEvery: number;
  timeBudget: number;
  /** The cosine falls over whichever ends first, the epochs or the time budget. */
  annealToBudget: boolean;
  validTokens: number;
  validEvery: number;
}

export interface GenerateFlags extends BackendFlags {
  model: string;
  prefix?: string;
  length: number;
  temperature: number;
  topK: number;
  topP: number;
  seed?: number;
  numSamples: number;
  json: boolean;
}

export interface EvalFlags extends BackendFlags {
  model: string;
  corpus?: string;
  /** Score this one text (or the text of `file`) instead of a corpus. */
  text?: string;
  file?: string;
  maxTokens?: number;
  batchSize: number;
  numSteps?: number;
  json: boolean;
}

export interface CorpusInfoFlags {
  corpus: string;
  token: TokenMode;
  clean: CleanMode;
  maxTokens: number;
  minFreq: number;
  top: number;
  json: boolean;
}

/** The formats `rnnlm export --format` writes. */
export const EXPORT_FORMATS = ['tfjs-layers'] as const;

export interface ExportFlags extends BackendFlags {
  format: (typeof EXPORT_FORMATS)[number];
  model: string;
  out: string;
  force: boolean;
}

export interface CorpusDownloadFlags {
  force: boolean;
}

/** The models of the PyTorch reference benchmark, by its names: `-scratch` ones are our impl 'scratch'. */
export type BenchModel = `${CellKind}-scratch` | CellKind;
export const BENCH_MODELS: readonly BenchModel[] = [
  ...CELL_KINDS.map((cell) => `${cell}-scratch` as const),
  ...CELL_KINDS,
];

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

export interface BenchFlags extends BackendFlags {
  model: BenchModel;
  layers: number;
  hidden: number;
  batchSize: number;
  numSteps: number;
  lr: number;
  epochs: number;
  seed: number;
  token: TokenMode;
  /** -1: the whole corpus. */
  maxTokens: number;
  corpus: string;
  printEvery?: number;
  suite?: (typeof BENCH_SUITES)[number];
  dryRun: boolean;
}
