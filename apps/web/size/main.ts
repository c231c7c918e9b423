// The smallest app that loads a saved model and generates: the bundle whose size
// scripts/bundle-size.mjs measures (see the README). It streams the text of a model.json given in the URL.
import '@tensorflow/tfjs-backend-cpu';
import { generateStream, loadLanguageModel } from '@rnnlm/train/generate';

const url = new URLSearchParams(location.search).get('model') ?? 'model/model.json';
const { model, vocab, corpus } = await loadLanguageModel(url);
const out = document.body.appendChild(document.createElement('pre'));
for await (const token of generateStream(model, vocab, 'the ', {
  token: corpus.token,
  maxTokens: 200,
  temperature: 0.8,
})) {
  out.textContent += corpus.token === 'char' ? token : ` ${token}`;
}
