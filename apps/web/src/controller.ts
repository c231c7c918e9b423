/**
 * What the page's buttons do, and the one object that owns its state: the model the page holds (trained
 * here, opened from storage or imported) and the training in progress. Runs are put together by
 * `assembleRun` from @rnnlm/train, as the CLI's are.
 */
import type { LanguageModel } from '@rnnlm/cells';
import { cleanPrefix, Vocab } from '@rnnlm/text';
import {
  assembleRun,
  type CorpusSettings,
  generateTokens,
  prepareGeneration,
  restoreCheckpoint,
  type Trainer,
  toArtifacts,
} from '@rnnlm/train';
import type * as tf from '@tensorflow/tfjs-core';
import { loadChosenCorpus } from './corpus.js';
import { downloadTfjsLayers } from './export-tfjs.js';
import { exportFiles, importFiles } from './files.js';
import type { TrainShape } from './measure-backend.js';
import * as storage from './storage.js';
import type { View } from './view.js';

/** A model the page holds. */
interface Session {
  name: string;
  model: LanguageModel;
  vocab: Vocab;
  corpus: CorpusSettings;
  /** Present when the model was trained here: it can continue. */
  trainer?: Trainer;
}

export class Controller {
  #session: Session | null = null;
  #training: AbortController | null = null;

  constructor(
    readonly view: View,
    /**
     * Runs before a new model is built, with its shape: with `auto`, main.ts measures the backends
     * there (tfjs cannot move a live model between backends, so the held one is freed first).
     */
    readonly beforeBuild?: (shape: TrainShape) => Promise<void>,
  ) {}

  /** Trains a new model on the chosen text with the form's settings, then saves it in the browser. */
  async train(): Promise<void> {
    const { view } = this;
    view.showError(null);
    const form = view.trainForm();
    const { token, clean, maxTokens } = form;
    const { corpus, source } = await loadChosenCorpus(
      view.corpusChoice(),
      { token, clean, maxTokens },
      view.element<HTMLProgressElement>('load-progress'),
      (message) => view.status(message),
    );
    if (!(form.lr > 0)) throw new Error('the learning rate must be a positive number');
    const model = {
      impl: form.impl,
      cell: form.cell,
      vocabSize: corpus.vocab.size,
      hidden: form.hidden,
      layers: form.layers,
      bidirectional: form.bidirectional,
      ...(form.dropout > 0 ? { dropout: form.dropout, dropoutMode: form.dropoutMode } : {}),
      ...(form.init !== 'normal' ? { init: form.init } : {}),
    };
    const optimizer = { name: form.optimizer, lr: form.lr };
    if (this.beforeBuild) {
      this.#hold(null); // it is saved in the browser; its tensors cannot follow a backend switch
      view.status('timing a few training steps on each backend…');
      await this.beforeBuild({
        model,
        batchSize: form.batchSize,
        numSteps: form.numSteps,
        optimizer,
        clip: 1,
      });
    }
    const run = assembleRun({
      ids: corpus.ids,
      token,
      batchSize: form.batchSize,
      numSteps: form.numSteps,
      sampling: form.sampling,
      names: corpus.ids.length >= maxTokens ? { maxTokens: 'max tokens' } : {},
      model,
      optimizer,
      clip: 1,
      schedule: form.schedule,
    });
    const { cell, hidden } = run.model.config;
    this.#hold({
      name: `${cell}-${hidden}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      model: run.model,
      vocab: corpus.vocab,
      corpus: { source, token, clean, maxTokens },
      trainer: run.trainer,
    });
    view.clearSamples();
    view.showHistory();
    await this.fit(form.epochs);
  }

  /** Trains the held model `moreEpochs` more, sampling as it goes, then saves it in the browser. */
  async fit(moreEpochs: number): Promise<void> {
    const { view } = this;
    const s = this.#session;
    if (!s?.trainer) return;
    const trainer = s.trainer;
    const training = new AbortController();
    this.#training = training;
    this.#showButtons();
    const sampleEvery = view.sampleEvery();
    let lastPaint = 0;
    try {
      await trainer.fit({
        epochs: trainer.epoch + moreEpochs,
        signal: training.signal,
        onBatchEnd: (e) => {
          const now = performance.now();
          if (now - lastPaint < 200) return;
          lastPaint = now;
          view.status(
            `epoch ${e.epoch}, batch ${e.batch}/${e.batchesPerEpoch}: perplexity ${e.perplexity.toFixed(2)}, lr ${e.lr.toPrecision(3)}, ${Math.round(e.tokensPerSecond)} tokens/s`,
          );
        },
        onEpochEnd: (r) => {
          view.showHistory(trainer.history);
          view.status(
            `epoch ${r.epoch}: perplexity ${r.perplexity.toFixed(3)}, lr ${r.lr?.toPrecision(3) ?? '-'}, ${Math.round(r.tokensPerSecond)} tokens/s`,
          );
          if (r.epoch % sampleEvery === 0 && !s.model.config.bidirectional) {
            const prefix = this.#prefix(s, view.prefix()) || (s.vocab.toTokens([1])[0] ?? '');
            const words = [...generateTokens(s.model, s.vocab, prefix, 60, { token: s.corpus.token })];
            const join = s.corpus.token === 'char' ? '' : ' ';
            view.addSample(`epoch ${r.epoch}: ${prefix}${join}${words.join(join)}`);
          }
        },
      });
      const outcome = training.signal.aborted ? 'stopped' : 'done';
      view.status(`${outcome} after epoch ${trainer.epoch}; saving…`);
      await this.#save(s);
      view.status(`${outcome} after epoch ${trainer.epoch}; saved in this browser as ${s.name}`);
    } finally {
      this.#training = null;
      this.#showButtons();
    }
  }

  /** Stops training between two batches (the model is saved as it stands). */
  stop(): void {
    this.#training?.abort();
  }

  /** Streams generated text into the output, continuing the form's prefix. */
  async generate(): Promise<void> {
    const { view } = this;
    const s = this.#session;
    if (!s) return;
    view.showError(null);
    const form = view.generateForm();
    const prefix = this.#prefix(s, form.prefix);
    const join = s.corpus.token === 'char' ? '' : ' ';
    view.setOutput(prefix);
    view.setGenerating(true);
    try {
      // The kernels' token step compiles only asynchronously on a page's main thread: before the steps.
      await prepareGeneration();
      const stream = generateTokens(s.model, s.vocab, prefix, form.length, {
        token: s.corpus.token,
        temperature: form.temperature,
        ...(form.topK ? { topK: form.topK } : {}),
        ...(form.topP ? { topP: form.topP } : {}),
        seed: Date.now() % 2 ** 31,
      });
      let count = 0;
      let next = stream.next();
      for (; !next.done; next = stream.next()) {
        view.appendOutput(join + next.value);
        if (++count % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 0)); // paint as it streams
      }
      const { unknownTokens, path, pathReason } = next.value;
      view.status(generationPathNote(count, path, pathReason));
      if (unknownTokens.length > 0) {
        view.showError(
          `not in the vocabulary, read as <unk>: ${unknownTokens.map((t) => JSON.stringify(t)).join(', ')}`,
        );
      }
    } finally {
      view.setGenerating(false);
    }
  }

  /** Downloads the held model as `model.json` and `weights.bin`. */
  async exportFiles(): Promise<void> {
    if (this.#session) exportFiles(await this.#artifacts(this.#session));
  }

  /** Downloads the held model as a standard tfjs LayersModel, its step form and its vocabulary. */
  async exportTfjs(): Promise<void> {
    const s = this.#session;
    if (s) await downloadTfjsLayers(s.model, s.vocab, s.corpus);
  }

  /** Opens a checkpoint chosen as files (one from `rnnlm train`, or exported here) and keeps it. */
  async importFiles(files: FileList | File[]): Promise<void> {
    const { name, artifacts } = await importFiles(files);
    this.#open(name, artifacts);
    await storage.saveModel(name, artifacts);
    await this.refreshSaved(name);
  }

  async openSaved(): Promise<void> {
    const name = this.view.selectedSaved();
    if (!name) throw new Error('no saved model to open yet: train one first');
    this.#open(name, await storage.loadModel(name));
  }

  async deleteSaved(): Promise<void> {
    const name = this.view.selectedSaved();
    if (!name) return;
    await storage.removeModel(name);
    await this.refreshSaved();
  }

  async refreshSaved(selected?: string): Promise<void> {
    this.view.showSaved(await storage.savedModelNames(), selected);
  }

  #open(name: string, artifacts: tf.io.ModelArtifacts): void {
    const restored = restoreCheckpoint(artifacts);
    restored.dispose(); // the optimizer state is only needed to continue training, which needs the text
    const session: Session = {
      name,
      model: restored.model,
      vocab: Vocab.fromJSON(restored.meta.vocab),
      corpus: restored.meta.corpus,
    };
    this.#hold(session);
    this.view.showHistory(restored.meta.training?.history ?? []);
    const { cell, hidden, layers, impl } = restored.model.config;
    this.view.status(
      `opened ${name}: ${impl} ${cell}, ${layers} x ${hidden}, vocabulary ${session.vocab.size}, ${session.corpus.token}s`,
    );
    this.#showButtons();
  }

  /** Replaces the held model, freeing the one before. */
  #hold(session: Session | null): void {
    this.#session?.trainer?.dispose();
    this.#session?.model.dispose();
    this.#session = session;
  }

  async #save(s: Session): Promise<void> {
    await storage.saveModel(s.name, await this.#artifacts(s));
    await this.refreshSaved(s.name);
  }

  #artifacts(s: Session): Promise<tf.io.ModelArtifacts> {
    return toArtifacts({
      model: s.model,
      vocab: s.vocab,
      corpus: s.corpus,
      ...(s.trainer ? { trainer: s.trainer } : {}),
    });
  }

  /** A prefix cleaned the way the model's corpus was. */
  #prefix(s: Session, prefix: string): string {
    return cleanPrefix(prefix, s.corpus.clean);
  }

  #showButtons(): void {
    const s = this.#session;
    this.view.setButtons({
      training: this.#training !== null,
      haveModel: s !== null,
      canContinue: Boolean(s?.trainer),
      canGenerate: s !== null && !s.model.config.bidirectional,
    });
  }
}

/** The status line after generating: how many tokens, and where the steps ran (and why not on the kernels). */
export function generationPathNote(tokens: number, path: 'kernels' | 'tfjs', reason: string | null): string {
  return path === 'kernels'
    ? `generated ${tokens} tokens on the WebAssembly token step`
    : `generated ${tokens} tokens on tfjs, one forward a token (not the WebAssembly token step: ${reason})`;
}
