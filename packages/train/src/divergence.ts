// What the trainer refuses as divergence, and the error that says so (trainer.ts throws it).

/**
 * A batch loss this far (in nats) above guessing uniformly (ln V) is divergence even though it is
 * finite: perplexity a thousand times worse than a model that knows nothing. A diverging run (AdamW at
 * lr 1 reaches perplexity 1e200 in one epoch) crosses it within a few batches; a run that learns
 * starts near ln V and stays below it.
 */
export const DIVERGENCE_MARGIN = Math.log(1000);

/**
 * Thrown by `Trainer.fit` when the loss or gradient norm is NaN, infinite or far worse than guessing; the
 * message says where and what to change, and the model keeps its weights from before that batch.
 */
export class DivergenceError extends Error {
  constructor(
    readonly epoch: number,
    readonly batch: number,
    readonly value: number,
    lr: number,
    clip: number | null,
    /** What went wrong, when not a NaN or infinite loss or gradient norm. */
    what?: string,
  ) {
    super(
      `training diverged at epoch ${epoch}, batch ${batch}: ${what ?? (Number.isNaN(value) ? 'the loss or gradient became NaN' : `the loss or gradient norm became ${value}`)}. ` +
        `The model keeps the weights from before that batch. Try a lower learning rate (now ${lr})` +
        (clip === null ? ' or turn gradient clipping on' : ` or stronger gradient clipping (now ${clip})`),
    );
    this.name = 'DivergenceError';
  }
}
