/**
 * The commands' work, loaded only when a command runs (so --help answers without TensorFlow.js), and
 * each command's module only for that command (so `corpus info` starts without it too).
 */
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

export async function runCommand(command: string, flags: object, context: Context): Promise<void> {
  switch (command) {
    case 'train':
      return (await import('./train.js')).train(flags as TrainFlags, context);
    case 'generate':
      return (await import('./generate.js')).generateCommand(flags as GenerateFlags, context);
    case 'eval':
      return (await import('./eval.js')).evaluate(flags as EvalFlags, context);
    case 'export':
      return (await import('./export.js')).exportCommand(flags as ExportFlags, context);
    case 'bench':
      return (await import('./bench.js')).bench(flags as BenchFlags, context);
    case 'corpus info':
      return (await import('./corpus.js')).corpusInfo(flags as CorpusInfoFlags, context);
    case 'corpus download':
      return (await import('./corpus.js')).corpusDownload(flags as CorpusDownloadFlags, context);
    default:
      throw new Error(`no such command: ${command}`);
  }
}
