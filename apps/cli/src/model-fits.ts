/** Model sizes checked before anything is built: too big is a usage error that says how big. */
import type { ModelConfig } from '@rnnlm/cells';
import { formatGiB, MAX_PARAMETERS, modelSize } from '@rnnlm/train';
import { CliError, EXIT } from './errors.js';
import { formatCount } from './progress.js';

/** Throws when rnnlm would not build a model of this config (`vocabulary`: how the vocabulary was counted). */
export function checkModelFits(config: ModelConfig, vocabulary: string): void {
  const size = modelSize(config);
  if (!size.tooBig) return;
  throw new CliError(
    `--hidden ${config.hidden} --layers ${config.layers}${config.bidirectional ? ' --bidirectional' : ''}` +
      `${config.embedding === undefined ? '' : ` --embedding ${config.embedding}`} with ${vocabulary} ` +
      `makes a ${config.cell} of ${formatCount(size.parameters)} parameters, which would need ${formatGiB(size.trainingBytes)} GiB to train ` +
      `(${formatGiB(size.weightBytes)} GiB of weights, as much again for their gradients, twice that for the optimizer); ` +
      `rnnlm builds models of at most ${formatCount(MAX_PARAMETERS)} parameters: lower --hidden or --layers` +
      `${config.embedding === undefined ? ' (or, for a large vocabulary, give the tokens a smaller --embedding)' : ' or --embedding'}`,
    EXIT.usage,
  );
}
