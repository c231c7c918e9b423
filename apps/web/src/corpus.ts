/**
 * The corpus to train on: the bundled sample, the Time Machine (downloaded and checked), text files
 * (read a chunk at a time, see load-files.ts) or pasted text.
 */
import {
  buildCorpus,
  type Corpus,
  type CorpusOptions,
  TIME_MACHINE_SHA1,
  TIME_MACHINE_URL,
} from '@rnnlm/text';
import { corpusFromFiles } from './load-files.js';
import { SAMPLE_CORPUS, SAMPLE_CORPUS_NAME } from './sample-corpus.js';

/** What the page's "Text" section chose. */
export type CorpusChoice =
  | { kind: 'sample' }
  | { kind: 'timemachine' }
  | { kind: 'file'; files: File[] }
  | { kind: 'paste'; text: string };

export interface ChosenCorpus {
  corpus: Corpus;
  /** How the text is named in checkpoints and messages. */
  source: string;
}

/**
 * Reads the chosen text and builds its ids and vocabulary; `progress` hears about the slow parts (the
 * download, reading files), and `bar` shows how much of the files is read.
 */
export async function loadChosenCorpus(
  choice: CorpusChoice,
  options: CorpusOptions,
  bar: HTMLProgressElement,
  progress: (message: string) => void = () => {},
): Promise<ChosenCorpus> {
  switch (choice.kind) {
    case 'sample':
      return { corpus: buildCorpus(SAMPLE_CORPUS, options), source: SAMPLE_CORPUS_NAME };
    case 'timemachine':
      progress('downloading the Time Machine…');
      return { corpus: buildCorpus(await downloadTimeMachine(), options), source: 'timemachine' };
    case 'file': {
      if (choice.files.length === 0) throw new Error('choose a .txt file first');
      const corpus = await corpusFromFiles(choice.files, options, bar, progress);
      return { corpus, source: choice.files.map((f) => f.name).join(', ') };
    }
    case 'paste':
      return { corpus: buildCorpus(choice.text, options), source: 'pasted text' };
  }
}

async function downloadTimeMachine(): Promise<string> {
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
  return new TextDecoder().decode(bytes);
}

async function sha1Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
