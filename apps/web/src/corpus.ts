/** The text to train on: the bundled sample, the Time Machine (downloaded and checked), a file or pasted text. */
import { TIME_MACHINE_SHA1, TIME_MACHINE_URL } from '@rnnlm/text';
import { SAMPLE_CORPUS, SAMPLE_CORPUS_NAME } from './sample-corpus.js';

/** What the page's "Text" section chose. */
export type CorpusChoice =
  | { kind: 'sample' }
  | { kind: 'timemachine' }
  | { kind: 'file'; file: File | undefined }
  | { kind: 'paste'; text: string };

export interface CorpusText {
  text: string;
  /** How the text is named in checkpoints and messages. */
  source: string;
}

/** Reads the chosen text; `progress` hears about the download, the one slow case. */
export async function loadCorpusText(
  choice: CorpusChoice,
  progress: (message: string) => void = () => {},
): Promise<CorpusText> {
  switch (choice.kind) {
    case 'sample':
      return { text: SAMPLE_CORPUS, source: SAMPLE_CORPUS_NAME };
    case 'timemachine':
      progress('downloading the Time Machine…');
      return { text: await downloadTimeMachine(), source: 'timemachine' };
    case 'file':
      return { text: await readTextFile(choice.file), source: choice.file!.name };
    case 'paste':
      return { text: choice.text, source: 'pasted text' };
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

async function readTextFile(file: File | undefined): Promise<string> {
  if (!file) throw new Error('choose a .txt file first');
  if (!file.name.endsWith('.txt') && file.type !== 'text/plain')
    throw new Error(`${file.name} is not a .txt file: give a plain text file`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
  } catch {
    throw new Error(`${file.name} is not UTF-8 text: save it as UTF-8 and try again`);
  }
}
