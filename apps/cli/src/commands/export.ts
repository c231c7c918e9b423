import { exportTfjsLayers } from '@rnnlm/train';
import { saveTfjsLayersExport } from '@rnnlm/train/node';
import type { BACKENDS, Context } from '../cli.js';
import { during, EXIT } from '../errors.js';
import { startBackend } from '../runtime.js';
import { loadModel } from './shared.js';

/** The formats `rnnlm export --format` writes. */
export const EXPORT_FORMATS = ['tfjs-layers'] as const;

/** Options of the export command as commander parses them. */
export interface ExportFlags {
  format: (typeof EXPORT_FORMATS)[number];
  model: string;
  out: string;
  force: boolean;
  backend: (typeof BACKENDS)[number];
}

/**
 * Writes a saved model as a standard tfjs LayersModel (see `exportTfjsLayers` in @rnnlm/train for what
 * the model is), with its vocabulary beside it.
 */
export async function exportCommand(flags: ExportFlags, { io }: Context): Promise<void> {
  await startBackend(flags.backend, io);
  const loaded = await loadModel(flags.model);
  const { model, vocab, meta } = loaded;
  loaded.dispose();
  try {
    const exported = await exportTfjsLayers({
      model,
      tokens: vocab.toJSON().tokens,
      token: meta.corpus.token,
      clean: meta.corpus.clean,
    });
    const written = await during(
      EXIT.checkpoint,
      () => saveTfjsLayersExport(flags.out, exported, { force: flags.force }),
      `cannot export to ${flags.out}`,
    );
    io.stdout.write(
      `exported ${flags.model} as a tfjs LayersModel to ${flags.out}: ${written.join(', ')}\n` +
        (exported.step
          ? ''
          : 'no step/ form: a bidirectional model reads the whole sequence and cannot generate\n'),
    );
  } finally {
    model.dispose();
  }
}
