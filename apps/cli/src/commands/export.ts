import { exportTfjsLayers } from '@rnnlm/train';
import { saveTfjsLayersExport } from '@rnnlm/train/node';
import { during, EXIT } from '../errors.js';
import type { Context, ExportFlags } from '../flags.js';
import { startBackend } from '../runtime.js';
import { loadModel } from './shared.js';

/**
 * Writes a saved model as a standard tfjs LayersModel (see `exportTfjsLayers` in @rnnlm/train for what
 * the model is), with its vocabulary beside it.
 */
export async function exportCommand(flags: ExportFlags, { io }: Context): Promise<void> {
  await startBackend(flags.backend, io, flags.threads);
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
