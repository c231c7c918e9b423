/**
 * The page's DOM: reading the form, and showing status, errors, the chart, samples, generated text
 * and the saved models. It holds no model state; the controller tells it what to show.
 */
import { type BackendSelection, describeMeasurements } from '@rnnlm/backend/browser';
import type { CellKind, DropoutMode, InitScheme, ModelImpl } from '@rnnlm/cells';
import type { Sampling } from '@rnnlm/data';
import type { CleanMode, TokenMode } from '@rnnlm/text';
import type { EpochResult, OptimizerName, ScheduleConfig, ScheduleName } from '@rnnlm/train';
import {
  CategoryScale,
  Chart,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import type { CorpusChoice } from './corpus.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip);

/** The "Text" (but for the text itself) and "Model and training" sections, read and checked. */
export interface TrainForm {
  token: TokenMode;
  clean: CleanMode;
  maxTokens: number;
  impl: ModelImpl;
  cell: CellKind;
  hidden: number;
  layers: number;
  bidirectional: boolean;
  /** Dropout rate in training, 0 <= p < 1 (0: off), and how its masks are drawn. */
  dropout: number;
  dropoutMode: DropoutMode;
  /** How the new model's weights are drawn. */
  init: InitScheme;
  optimizer: OptimizerName;
  lr: number;
  /** The page offers the schedules that need no validation text (it holds none out). */
  schedule: ScheduleConfig;
  epochs: number;
  batchSize: number;
  numSteps: number;
  sampling: Sampling;
}

/** The "Generate" section. */
export interface GenerateForm {
  /** As typed (the controller cleans it the way the model's corpus was cleaned). */
  prefix: string;
  length: number;
  temperature: number;
  topK?: number;
  topP?: number;
}

/** Which buttons make sense now. */
export interface ButtonState {
  training: boolean;
  haveModel: boolean;
  canContinue: boolean;
  canGenerate: boolean;
}

export class View {
  readonly #chart: Chart<'line', number[], number>;

  constructor() {
    this.#chart = new Chart<'line', number[], number>(this.element<HTMLCanvasElement>('chart'), {
      type: 'line',
      data: {
        labels: [],
        datasets: [{ label: 'perplexity', data: [], borderColor: '#2f5bd3', tension: 0.2, pointRadius: 2 }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: { title: { display: true, text: 'epoch' } },
          y: { title: { display: true, text: 'perplexity' } },
        },
      },
    });
  }

  element<T extends HTMLElement>(id: string): T {
    return document.getElementById(id) as T;
  }

  input(id: string): HTMLInputElement {
    return this.element<HTMLInputElement>(id);
  }

  select(id: string): HTMLSelectElement {
    return this.element<HTMLSelectElement>(id);
  }

  /** A whole number of at least 1 from a number field, or an error naming the field. */
  positiveInt(id: string, label: string): number {
    const value = Number(this.input(id).value);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${label} must be a whole number of at least 1`);
    return value;
  }

  corpusChoice(): CorpusChoice {
    const kind = this.select('corpus').value;
    if (kind === 'sample' || kind === 'timemachine') return { kind };
    if (kind === 'file') return { kind, files: Array.from(this.input('file').files ?? []) };
    return { kind: 'paste', text: this.input('paste').value };
  }

  /** The training settings (`lr` is checked with the run's other settings). */
  trainForm(): TrainForm {
    return {
      token: this.select('token').value as TokenMode,
      clean: this.select('clean').value as CleanMode,
      maxTokens: this.positiveInt('max-tokens', 'Max tokens'),
      batchSize: this.positiveInt('batch-size', 'Batch size'),
      numSteps: this.positiveInt('num-steps', 'Steps'),
      impl: this.select('impl').value as ModelImpl,
      cell: this.select('cell').value as CellKind,
      hidden: this.positiveInt('hidden', 'Hidden units'),
      layers: this.positiveInt('layers', 'Layers'),
      bidirectional: this.input('bidirectional').checked,
      dropout: this.dropout(),
      dropoutMode: this.select('dropout-mode').value as DropoutMode,
      init: this.select('init').value as InitScheme,
      sampling: this.select('sampling').value as Sampling,
      optimizer: this.select('optimizer').value as OptimizerName,
      lr: Number(this.input('lr').value),
      schedule: this.schedule(),
      epochs: this.positiveInt('epochs', 'Epochs'),
    };
  }

  /**
   * The learning-rate schedule: step halves the rate every epoch; cosine ends at a tenth of it, so that
   * Continue after the run trains on at that rate rather than at none.
   */
  schedule(): ScheduleConfig {
    const name = this.select('lr-schedule').value as ScheduleName;
    const lr = Number(this.input('lr').value);
    const warm = this.input('warmup-steps').value.trim();
    const warmupSteps = warm === '' ? 0 : Number(warm);
    if (!Number.isInteger(warmupSteps) || warmupSteps < 0)
      throw new Error(`Warm-up batches must be a whole number (0 for none), got ${JSON.stringify(warm)}`);
    return {
      name,
      warmupSteps,
      ...(name === 'step' ? { gamma: 0.5, stepEvery: 1 } : {}),
      ...(name === 'cosine' ? { minLr: lr / 10 } : {}),
    };
  }

  /** The dropout rate: empty is 0; anything else must be a number from 0 up to, not including, 1. */
  dropout(): number {
    const text = this.input('dropout').value.trim();
    const p = text === '' ? 0 : Number(text);
    if (!(p >= 0 && p < 1))
      throw new Error(
        `Dropout must be a number from 0 (off) up to, not including, 1, got ${JSON.stringify(text)}`,
      );
    return p;
  }

  epochs(): number {
    return this.positiveInt('epochs', 'Epochs');
  }

  sampleEvery(): number {
    return this.positiveInt('sample-every', 'Sample every');
  }

  prefix(): string {
    return this.input('prefix').value;
  }

  generateForm(): GenerateForm {
    const topK = this.input('top-k').value;
    const topP = this.input('top-p').value;
    return {
      prefix: this.prefix(),
      length: this.positiveInt('length', 'Length'),
      temperature: Number(this.input('temperature').value) || 0,
      ...(topK ? { topK: Number(topK) } : {}),
      ...(topP ? { topP: Number(topP) } : {}),
    };
  }

  showBackend(selection: BackendSelection<string>): void {
    this.element('backend-name').textContent = selection.backend;
    // A measured choice says every speed (fastest first) before why the others were skipped.
    const measured = selection.measurements
      ? [describeMeasurements(selection.measurements, selection.remembered === true)]
      : [];
    const said = [...measured, ...selection.reasons];
    this.element('backend-reason').textContent = said.length ? `(${said.join('; ')})` : '';
    // On wasm and cpu the recurrent layers run in the fused kernels, on as many threads as the page may use.
    this.element('backend-kernels').textContent = selection.fusedKernels
      ? `recurrent layers: ${selection.fusedKernels.message}`
      : '';
  }

  showError(message: string | null): void {
    const el = this.element('error');
    el.hidden = message === null;
    el.textContent = message ?? '';
  }

  status(text: string): void {
    this.element('status').textContent = text;
  }

  setButtons(state: ButtonState): void {
    const { training, haveModel, canContinue, canGenerate } = state;
    this.element<HTMLButtonElement>('train').disabled = training;
    this.element<HTMLButtonElement>('stop').disabled = !training;
    this.element<HTMLButtonElement>('continue').disabled = training || !canContinue;
    this.element<HTMLButtonElement>('generate').disabled = training || !canGenerate;
    this.element<HTMLButtonElement>('export').disabled = training || !haveModel;
    this.element<HTMLButtonElement>('export-tfjs').disabled = training || !haveModel;
  }

  setGenerating(active: boolean): void {
    this.element<HTMLButtonElement>('generate').disabled = active;
  }

  showHistory(history: readonly EpochResult[] = []): void {
    this.#chart.data.labels = history.map((h) => h.epoch);
    this.#chart.data.datasets[0]!.data = history.map((h) => h.perplexity);
    this.#chart.update();
  }

  clearSamples(): void {
    this.element('samples').replaceChildren();
  }

  addSample(text: string): void {
    const item = document.createElement('li');
    item.textContent = text;
    this.element('samples').append(item);
  }

  /** Starts the output with `text`; `appendOutput` streams the rest in. */
  setOutput(text: string): void {
    this.element('output').textContent = text;
  }

  appendOutput(text: string): void {
    this.element('output').textContent += text;
  }

  showSaved(names: readonly string[], selected?: string): void {
    const options = names.map((name) => {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      option.selected = name === selected;
      return option;
    });
    this.select('saved').replaceChildren(...options);
  }

  selectedSaved(): string {
    return this.select('saved').value;
  }

  /** Shows the file or paste field for the corpus chosen. */
  showCorpusFields(): void {
    const kind = this.select('corpus').value;
    this.element('file-row').hidden = kind !== 'file';
    this.element('paste-row').hidden = kind !== 'paste';
  }

  /**
   * Runs `run` when the element fires `event`, showing its error on the page instead of throwing it
   * into the console.
   */
  on(id: string, run: () => Promise<void> | void, event: 'click' | 'change' = 'click'): void {
    this.element(id).addEventListener(event, () => {
      Promise.resolve()
        .then(run)
        .catch((error: unknown) => {
          this.showError((error as Error).message);
          this.status('');
        });
    });
  }
}
