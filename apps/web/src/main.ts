/**
 * The page's entry: starts the backend, makes the view and the controller, and wires the buttons to
 * the controller. Jobs live in their own modules: corpus.ts (the text), storage.ts (IndexedDB),
 * files.ts (import and export), controller.ts (state and training), view.ts (the DOM).
 */
import { type BrowserBackendName, selectBackend } from '@rnnlm/backend/browser';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { Controller } from './controller.js';
import { selectMeasuredBackend } from './measure-backend.js';
import { View } from './view.js';

const view = new View();
const forcedBackend = new URLSearchParams(location.search).get('backend');
const wasmPaths = {
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
};
// `auto` (no ?backend=) starts the first backend that starts at load, then before each new model
// times its training steps on every backend and switches to the fastest (remembered per shape).
const controller = new Controller(
  view,
  forcedBackend
    ? undefined
    : async (shape) => view.showBackend(await selectMeasuredBackend(shape, wasmPaths)),
);

// Switching backends reloads the page with ?backend=...: models are kept in IndexedDB, and a fresh
// start is the one switch tfjs makes without moving live tensors between backends.
view.select('backend-choice').value = forcedBackend ?? 'auto';
view.on(
  'backend-choice',
  () => {
    controller.stop();
    const url = new URL(location.href);
    const choice = view.select('backend-choice').value;
    if (choice === 'auto') url.searchParams.delete('backend');
    else url.searchParams.set('backend', choice);
    location.assign(url);
  },
  'change',
);
view.on('corpus', () => view.showCorpusFields(), 'change');
view.on('train', () => controller.train());
view.on('continue', () => controller.fit(view.epochs()));
view.on('stop', () => controller.stop());
view.on('generate', () => controller.generate());
view.on('export', () => controller.exportFiles());
view.on('export-tfjs', () => controller.exportTfjs());
view.on('import', () => controller.importFiles(view.input('import').files!), 'change');
view.on('open', () => controller.openSaved());
view.on('delete', () => controller.deleteSaved());

selectBackend({
  ...(forcedBackend ? { backend: forcedBackend as BrowserBackendName } : {}),
  wasmPaths,
})
  .then((selection) => {
    view.showBackend(selection);
    return controller.refreshSaved();
  })
  .catch((error: unknown) => view.showError(`could not start TensorFlow.js: ${(error as Error).message}`));
