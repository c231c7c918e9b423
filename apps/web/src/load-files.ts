/**
 * The corpus from the chosen text files: read a chunk at a time by @rnnlm/text's corpusFromBlobs,
 * which yields to the page between chunks, with a progress bar, so a large file never freezes the page.
 */
import { type Corpus, type CorpusOptions, corpusFromBlobs } from '@rnnlm/text';

export async function corpusFromFiles(
  files: readonly File[],
  options: CorpusOptions,
  bar: HTMLProgressElement,
  status: (text: string) => void,
): Promise<Corpus> {
  for (const file of files) {
    if (!file.name.endsWith('.txt') && file.type !== 'text/plain')
      throw new Error(`${file.name} is not a .txt file: give plain text files`);
  }
  const megabytes = (bytes: number) => (bytes / 1e6).toFixed(1);
  bar.hidden = false;
  bar.value = 0;
  try {
    return await corpusFromBlobs(files, options, {
      onProgress: (done, total) => {
        bar.value = total ? done / total : 1;
        status(
          `reading ${files.length === 1 ? files[0]!.name : `${files.length} files`}: ${megabytes(done)} of ${megabytes(total)} MB…`,
        );
      },
    });
  } finally {
    bar.hidden = true;
  }
}
