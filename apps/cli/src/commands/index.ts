/** The commands' work, loaded only when a command runs (so --help answers without TensorFlow.js). */
import type {
  BenchFlags,
  Context,
  CorpusDownloadFlags,
  CorpusInfoFlags,
  EvalFlags,
  ExportFlags,
  GenerateFlags,
  TrainFlags,
} from '../flags.js';
import { bench } from './bench.js';
import { corpusDownload, corpusInfo } from './corpus.js';
import { evaluate } from './eval.js';
import { exportCommand } from './export.js';
import { generateCommand } from './generate.js';
import { train } from './train.js';

export async function runCommand(command: string, flags: object, context: Context): Promise<void> {
  switch (command) {
    case 'train':
      return train(flags as TrainFlags, context);
    case 'generate':
      return generateCommand(flags as GenerateFlags, context);
    case 'eval':
      return evaluate(flags as EvalFlags, context);
    case 'export':
      return exportCommand(flags as ExportFlags, context);
    case 'bench':
      return bench(flags as BenchFlags, context);
    case 'corpus info':
      return corpusInfo(flags as CorpusInfoFlags, context);
    case 'corpus download':
      return corpusDownload(flags as CorpusDownloadFlags, context);
    default:
      throw new Error(`no such command: ${command}`);
  }
}
