import { selectBackend } from '@rnnlm/backend/browser';
import type { LanguageModel } from '@rnnlm/cells';
import { minCorpusTokens, type Sampling, SeqDataLoader } from '@rnnlm/data';
import { buildCorpus, type CleanMode, cleanPrefix, type TokenMode, Vocab } from '@rnnlm/text';
import {
  type CorpusSettings,
  createModel,
  type EpochResult,
  fromModelJson,
  generateTokens,
  type OptimizerName,
  restoreCheckpoint,
  Trainer,
  toArtifacts,
  toModelJson,
  weightsFilesOf,
} from '@rnnlm/train';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
import {
  CategoryScale,
  Chart,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { corpusFromFiles } from './load-files.js';
import { SAMPLE_CORPUS, SAMPLE_CORPUS_NAME } from './sample-corpus.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip);

// d2l's data URL, over https: a page served over https may not fetch http (mixed content).
const TIME_MACHINE_URL = 'https://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt';
const TIME_MACHINE_SHA1 = '090b5e7e70c295757f55df93cb0a180b9691891a';
const STORE_PREFIX = 'indexeddb://rnnlm/';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);
const button = (id: string) => $<HTMLButtonElement>(id);

/** A model the page holds: trained here, opened from storage, or imported. */
interface Session {
  name: string;
  model: LanguageModel;
  vocab: Vocab;
  corpus: CorpusSettings;
  trainer?: Trainer;
}

let session: Session | null = null;
let training: AbortController | null = null;
const chart = new Chart<'line', number[], number>($<HTMLCanvasElement>('chart'), {
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

function showError(message: string | null): void {
  const el = $('error');
  el.hidden = message === null;
  el.textContent = message ?? '';
}

function status(text: string): void {
  $('status').textContent = text;
}

function positiveInt(id: string, label: string): number {
  const value = Number(input(id).value);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${label} must be a whole number of at least 1`);
  return value;
}

async function startBackend(): Promise<void> {
  const forced = new URLSearchParams(location.search).get('backend');
  const selection = await selectBackend({
    ...(forced ? { backend: forced as 'webgl' | 'wasm' | 'cpu' } : {}),
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    },
  });
  $('backend-name').textContent = selection.backend;
  $('backend-reason').textContent = selection.reasons.length ? `(${selection.reasons.join('; ')})` : '';
  // On wasm and cpu the recurrent layers run in the fused kernels, on as many threads as the page may use.
  $('backend-kernels').textContent = selection.kernels
    ? `recurrent layers: ${selection.kernels.message}`
    : '';
}

async function sha1Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function corpusText(): Promise<{ text: string; source: string; files?: File[] }> {
  const source = select('corpus').value;
  if (source === 'sample') return { text: SAMPLE_CORPUS, source: SAMPLE_CORPUS_NAME };
  if (source === 'timemachine') {
    status('downloading the Time Machine…');
    let bytes: ArrayBuffer;
    try {
      const response = await fetch(TIME_MACHINE_URL);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      bytes = await response.arrayBuffer();
    } catch (error) {
      throw new Error(
        `could not download the Time Machine (${(error as Error).message}); use the bundled sample or a file instead`,
      );
    }
    if ((await sha1Hex(bytes)) !== TIME_MACHINE_SHA1)
      throw new Error('the Time Machine download is corrupt (its SHA-1 does not match); try again later');
    return { text: new TextDecoder().decode(bytes), source: 'timemachine' };
  }
  if (source === 'file') {
    const files = Array.from(input('file').files ?? []);
    if (files.length === 0) throw new Error('choose a .txt file first');
    return { text: '', files, source: files.map((f) => f.name).join(', ') };
  }
  return { text: input('paste').value, source: 'pasted text' };
}

function setTraining(active: boolean): void {
  button('train').disabled = active;
  button('stop').disabled = !active;
  button('continue').disabled = active || !session?.trainer;
  button('generate').disabled = active || !session || session.model.config.bidirectional;
  button('export').disabled = active || !session;
}

function resetChart(history: EpochResult[] = []): void {
  chart.data.labels = history.map((h) => h.epoch);
  chart.data.datasets[0]!.data = history.map((h) => h.perplexity);
  chart.update();
}

function prepare(prefix: string, s: Session): string {
  return cleanPrefix(prefix, s.corpus.clean);
}

async function train(): Promise<void> {
  showError(null);
  const { text, source, files } = await corpusText();
  const token = select('token').value as TokenMode;
  const clean = select('clean').value as CleanMode;
  const maxTokens = positiveInt('max-tokens', 'Max tokens');
  const batchSize = positiveInt('batch-size', 'Batch size');
  const numSteps = positiveInt('num-steps', 'Steps');
  const corpus = files
    ? await corpusFromFiles(files, { token, clean, maxTokens }, $('load-progress'), status)
    : buildCorpus(text, { token, clean, maxTokens });
  const needed = minCorpusTokens(batchSize, numSteps);
  if (corpus.ids.length < needed) {
    throw new Error(
      `the text has ${corpus.ids.length} ${token} tokens, too few for batches of ${batchSize} x ${numSteps} steps (${needed} needed): ` +
        'use a longer text, a smaller batch size or fewer steps',
    );
  }
  const lr = Number(input('lr').value);
  if (!(lr > 0)) throw new Error('the learning rate must be a positive number');
  disposeSession();
  const model = createModel({
    impl: select('impl').value as 'scratch' | 'layers',
    cell: select('cell').value as 'rnn' | 'gru' | 'lstm',
    vocabSize: corpus.vocab.size,
    hidden: positiveInt('hidden', 'Hidden units'),
    layers: positiveInt('layers', 'Layers'),
    bidirectional: input('bidirectional').checked,
  });
  const loader = new SeqDataLoader(corpus.ids, {
    batchSize,
    numSteps,
    sampling: select('sampling').value as Sampling,
  });
  const trainer = new Trainer(model, loader, {
    optimizer: { name: select('optimizer').value as OptimizerName, lr },
    clip: 1,
  });
  const { cell, hidden } = model.config;
  session = {
    name: `${cell}-${hidden}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    model,
    vocab: corpus.vocab,
    corpus: { source, token, clean, maxTokens },
    trainer,
  };
  $('samples').replaceChildren();
  resetChart();
  await fit(positiveInt('epochs', 'Epochs'));
}

async function fit(moreEpochs: number): Promise<void> {
  const s = session;
  if (!s?.trainer) return;
  training = new AbortController();
  setTraining(true);
  const sampleEvery = positiveInt('sample-every', 'Sample every');
  let lastPaint = 0;
  try {
    await s.trainer.fit({
      epochs: s.trainer.epoch + moreEpochs,
      signal: training.signal,
      onBatchEnd: (e) => {
        const now = performance.now();
        if (now - lastPaint < 200) return;
        lastPaint = now;
        status(
          `epoch ${e.epoch}, batch ${e.batch}/${e.batchesPerEpoch}: perplexity ${e.perplexity.toFixed(2)}, ${Math.round(e.tokensPerSecond)} tokens/s`,
        );
      },
      onEpochEnd: (r) => {
        resetChart(s.trainer!.history);
        status(
          `epoch ${r.epoch}: perplexity ${r.perplexity.toFixed(3)}, ${Math.round(r.tokensPerSecond)} tokens/s`,
        );
        if (r.epoch % sampleEvery === 0 && !s.model.config.bidirectional) {
          const prefix = prepare(input('prefix').value, s) || (s.vocab.toTokens([1])[0] ?? '');
          const words = [...generateTokens(s.model, s.vocab, prefix, 60, { token: s.corpus.token })];
          const item = document.createElement('li');
          item.textContent = `epoch ${r.epoch}: ${prefix}${s.corpus.token === 'char' ? '' : ' '}${words.join(s.corpus.token === 'char' ? '' : ' ')}`;
          $('samples').append(item);
        }
      },
    });
    const outcome = training.signal.aborted ? 'stopped' : 'done';
    status(`${outcome} after epoch ${s.trainer.epoch}; saving…`);
    await saveToBrowser(s);
    status(`${outcome} after epoch ${s.trainer.epoch}; saved in this browser as ${s.name}`);
  } finally {
    training = null;
    setTraining(false);
  }
}

async function saveToBrowser(s: Session): Promise<void> {
  const artifacts = await toArtifacts({
    model: s.model,
    vocab: s.vocab,
    corpus: s.corpus,
    ...(s.trainer ? { trainer: s.trainer } : {}),
  });
  await saveHandler(STORE_PREFIX + s.name).save!(artifacts);
  await refreshSaved(s.name);
}

async function refreshSaved(selected?: string): Promise<void> {
  const models = Object.keys(await tf.io.listModels()).filter((url) => url.startsWith(STORE_PREFIX));
  const options = models.map((url) => {
    const option = document.createElement('option');
    option.value = url;
    option.textContent = url.slice(STORE_PREFIX.length);
    option.selected = option.textContent === selected;
    return option;
  });
  select('saved').replaceChildren(...options);
}

function saveHandler(url: string): tf.io.IOHandler {
  const handler = tf.io.getSaveHandlers(url)[0];
  if (!handler?.save)
    throw new Error('this browser cannot keep models (no IndexedDB); export them as files instead');
  return handler;
}

function disposeSession(): void {
  session?.trainer?.dispose();
  session?.model.dispose();
  session = null;
}

function openArtifacts(name: string, artifacts: tf.io.ModelArtifacts): void {
  const restored = restoreCheckpoint(artifacts);
  restored.dispose(); // the optimizer state is only needed to continue training, which needs the text
  disposeSession();
  session = {
    name,
    model: restored.model,
    vocab: Vocab.fromJSON(restored.meta.vocab),
    corpus: restored.meta.corpus,
  };
  resetChart(restored.meta.training?.history ?? []);
  const { cell, hidden, layers, impl } = restored.model.config;
  status(
    `opened ${name}: ${impl} ${cell}, ${layers} x ${hidden}, vocabulary ${session.vocab.size}, ${session.corpus.token}s`,
  );
  setTraining(false);
}

async function generateText(): Promise<void> {
  const s = session;
  if (!s) return;
  showError(null);
  const output = $('output');
  const prefix = prepare(input('prefix').value, s);
  const temperature = Number(input('temperature').value) || 0;
  const topK = input('top-k').value ? Number(input('top-k').value) : undefined;
  const topP = input('top-p').value ? Number(input('top-p').value) : undefined;
  const join = s.corpus.token === 'char' ? '' : ' ';
  output.textContent = prefix;
  button('generate').disabled = true;
  try {
    const stream = generateTokens(s.model, s.vocab, prefix, positiveInt('length', 'Length'), {
      token: s.corpus.token,
      temperature,
      ...(topK ? { topK } : {}),
      ...(topP ? { topP } : {}),
      seed: Date.now() % 2 ** 31,
    });
    let count = 0;
    let next = stream.next();
    for (; !next.done; next = stream.next()) {
      output.textContent += join + next.value;
      if (++count % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 0)); // paint as it streams
    }
    const { unknownTokens } = next.value;
    if (unknownTokens.length > 0) {
      showError(
        `not in the vocabulary, read as <unk>: ${unknownTokens.map((t) => JSON.stringify(t)).join(', ')}`,
      );
    }
  } finally {
    button('generate').disabled = false;
  }
}

function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function exportFiles(): Promise<void> {
  if (!session) return;
  const s = session;
  const artifacts = await toArtifacts({
    model: s.model,
    vocab: s.vocab,
    corpus: s.corpus,
    ...(s.trainer ? { trainer: s.trainer } : {}),
  });
  download('model.json', JSON.stringify(toModelJson(artifacts, 'weights.bin'), null, 1), 'application/json');
  download('weights.bin', artifacts.weightData as ArrayBuffer, 'application/octet-stream');
}

async function importFiles(files: FileList): Promise<void> {
  const list = Array.from(files);
  const jsonFile = list.find((f) => f.name.endsWith('.json'));
  if (!jsonFile) throw new Error("choose the checkpoint's model.json together with its weights file");
  let json: unknown;
  try {
    json = JSON.parse(await jsonFile.text());
  } catch {
    throw new Error(`${jsonFile.name} is not valid JSON: it is not an rnnlm checkpoint`);
  }
  const buffers: ArrayBuffer[] = [];
  for (const name of weightsFilesOf(json, jsonFile.name)) {
    const file = list.find((f) => f.name === name);
    if (!file) throw new Error(`${jsonFile.name} needs its weights file ${name}: choose both files together`);
    buffers.push(await file.arrayBuffer());
  }
  const artifacts = fromModelJson(json, buffers, jsonFile.name);
  const name = `imported-${jsonFile.name.replace(/\.json$/, '')}-${Date.now()}`;
  openArtifacts(name, artifacts);
  await saveHandler(STORE_PREFIX + name).save!(artifacts);
  await refreshSaved(name);
}

/** Runs an action from a button, showing its error instead of throwing it into the console. */
function action(id: string, run: () => Promise<void>, event: 'click' | 'change' = 'click'): void {
  $(id).addEventListener(event, () => {
    run().catch((error: unknown) => {
      showError((error as Error).message);
      status('');
    });
  });
}

// Switching backends reloads the page with ?backend=...: models are kept in IndexedDB, and a fresh
// start is the one switch tfjs makes without moving live tensors between backends.
select('backend-choice').value = new URLSearchParams(location.search).get('backend') ?? 'auto';
select('backend-choice').addEventListener('change', () => {
  if (training) training.abort();
  const url = new URL(location.href);
  const choice = select('backend-choice').value;
  if (choice === 'auto') url.searchParams.delete('backend');
  else url.searchParams.set('backend', choice);
  location.assign(url);
});
select('corpus').addEventListener('change', () => {
  $('file-row').hidden = select('corpus').value !== 'file';
  $('paste-row').hidden = select('corpus').value !== 'paste';
});
action('train', train);
action('continue', () => fit(positiveInt('epochs', 'Epochs')));
$('stop').addEventListener('click', () => training?.abort());
action('generate', generateText);
action('export', exportFiles);
action('import', () => importFiles(input('import').files!), 'change');
action('open', async () => {
  const url = select('saved').value;
  if (!url) throw new Error('no saved model to open yet: train one first');
  const handler = tf.io.getLoadHandlers(url)[0];
  if (!handler?.load) throw new Error(`cannot read ${url}: this browser has no IndexedDB`);
  openArtifacts(url.slice(STORE_PREFIX.length), await handler.load());
});
action('delete', async () => {
  const url = select('saved').value;
  if (!url) return;
  await tf.io.removeModel(url);
  await refreshSaved();
});

startBackend()
  .then(() => refreshSaved())
  .catch((error: unknown) => showError(`could not start TensorFlow.js: ${(error as Error).message}`));
