import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendSelection, NodeBackendName } from '@rnnlm/backend';
import { asTokenIds } from '@rnnlm/data';
import { DivergenceError, evaluatePerplexity, generateAsync, toArtifacts } from '@rnnlm/train';
import { saveCheckpoint, writeAtomically } from '@rnnlm/train/node';
import { sparkline } from '../chart.js';
import { CliError, during, EXIT } from '../errors.js';
import type { Context, TrainFlags } from '../flags.js';
import { fitWithStops, LongRunClock } from '../long-run.js';
import { measureTraining, type TrainShape } from '../measure-backends.js';
import { checkModelFits } from '../model-fits.js';
import { holdsModel, prepareOutDir } from '../out-dir.js';
import { epochProgress, formatCount, formatDuration, formatPerplexity, formatRate } from '../progress.js';
import { startBackend } from '../runtime.js';
import { shellCommand } from '../shell-quote.js';
import { catchStopSignals, SIGNAL_EXIT } from '../signals.js';
import { forTerminal } from '../terminal-safe.js';
import {
  chart,
  checkAnnealToBudget,
  checkEmbeddingFlags,
  checkValidationNeeded,
  describeInput,
  epochJson,
  modelSizeOf,
} from './train-report.js';
import { checkResume, modelConfigOf, newRun, type Run, resumeRun } from './train-run.js';

/** The temperature of the sampled text printed at the end, next to the greedy one. */
const SAMPLE_TEMPERATURE = 0.8;

export async function train(flags: TrainFlags, context: Context): Promise<void> {
  if (!flags.resume) checkEmbeddingFlags(flags);
  if (!flags.resume) checkModelFits(modelConfigOf(flags, 1), 'a vocabulary of 1');
  if (!flags.resume) checkValidationNeeded(flags);
  if (!flags.resume) checkAnnealToBudget(flags, flags.lrSchedule);
  const outDir = await prepareOutDir({
    out: flags.out,
    outGiven: context.given('out'),
    force: flags.force,
    ...(flags.resume ? { resume: flags.resume } : {}),
  });
  try {
    await trainInto(outDir.dir, flags, context);
  } finally {
    outDir.release();
  }
}

async function trainInto(out: string, flags: TrainFlags, { io, given }: Context): Promise<void> {
  const started: { backend?: BackendSelection<NodeBackendName> } = {};
  // `auto` measures the backends on the run's model shape before the model is built: a new run's is
  // known once the corpus is read, a resumed one's once its checkpoint and flags are checked.
  const startFor = async (shape: TrainShape) => {
    const measure = flags.measure ? measureTraining(shape, flags.threads) : undefined;
    started.backend = await startBackend(flags.backend, io, flags.threads, measure);
  };
  // What a checkpoint's saved settings or training state make the library refuse is a damaged checkpoint.
  const resuming = <T>(step: () => Promise<T>) =>
    during(EXIT.checkpoint, step, `cannot resume from ${flags.resume}`);
  let run: Run;
  if (flags.resume) {
    const checked = await resuming(() => checkResume(flags, given));
    await startFor(checked.shape);
    run = await resuming(() => resumeRun(flags, checked));
  } else run = await newRun(flags, startFor);
  const backend = started.backend!; // both paths start it before the model is built
  const { model, vocab, corpus, settings, trainer, valid } = run;
  // A resumed run's schedule is the checkpoint's, known only now (a new run's was checked first thing).
  if (flags.resume) checkAnnealToBudget(flags, trainer.schedule.config.name);
  const say = (line: string) => {
    if (!flags.json) io.stdout.write(`${forTerminal(io.stdout, line)}\n`);
  };
  const { cell, impl, hidden, layers, bidirectional, dropout, dropoutMode, init } = model.config;
  const dropped =
    (dropout ? `, dropout ${dropout}${dropoutMode === 'variational' ? ' (variational)' : ''}` : '') +
    (init ? `, ${init} init` : '');
  say(
    `${flags.resume ? 'resuming' : 'training'} ${impl} ${cell}${bidirectional ? ' (bidirectional)' : ''}, ${layers} x ${hidden}${describeInput(model.config)}${dropped}, ` +
      `on ${corpus.source} (${corpus.token}s, vocabulary ${vocab.size}, ${formatCount(trainer.loader.ids.length)} training tokens) ` +
      `for epochs ${trainer.epoch + 1}-${settings.epochs}; saving to ${out}`,
  );
  const size = modelSizeOf(model.config);
  say(`model: ${size.text}`);
  if (flags.json) io.stdout.write(`${JSON.stringify(size.json)}\n`);
  if (bidirectional)
    say('note: a bidirectional model sees the future: its perplexity says little, and it cannot generate');
  const noSamples = bidirectional;

  const bestDir = join(out, 'best');
  const artifactsNow = () =>
    toArtifacts({ model, vocab, corpus, trainer, extra: { train: settings, backend: backend.backend } });
  // A new run (--force into an older model's folder) owns best/ only once it has saved there: an
  // older run's best/ would otherwise sit beside the new model as if it were its best.
  let bestIsThisRuns = flags.resume !== undefined || !holdsModel(bestDir);
  const saveBest = async () => {
    const artifacts = await artifactsNow();
    await during(
      EXIT.checkpoint,
      () => saveCheckpoint(bestDir, artifacts),
      `cannot save the best model to ${bestDir}`,
    );
    bestIsThisRuns = true;
  };
  const save = async () => {
    const artifacts = await artifactsNow();
    await during(EXIT.checkpoint, () => saveCheckpoint(out, artifacts), `cannot save the model to ${out}`);
    // Removed only after the new model is saved: an interrupted start leaves the old pair whole.
    if (!bestIsThisRuns) {
      await during(
        EXIT.checkpoint,
        () => rm(bestDir, { recursive: true, force: true }),
        `saved the model to ${out}, but cannot remove the replaced model's ${bestDir}`,
      );
      bestIsThisRuns = true;
      say(`removed ${bestDir}: it was the best of the run this one replaced`);
    }
    const svg = chart(trainer.history, `${impl} ${cell} ${layers}x${hidden} on ${corpus.source}`);
    await during(
      EXIT.checkpoint,
      () => writeAtomically(join(out, 'perplexity.svg'), [new TextEncoder().encode(svg)]),
      `saved the model to ${out}, but cannot write its perplexity chart`,
    );
  };
  // Asynchronous: on webgpu in Node tensors are read only with `await`.
  const sample = async (length: number, temperature = 0) =>
    noSamples
      ? ''
      : (
          await generateAsync(model, vocab, settings.prefix, length, {
            token: corpus.token,
            temperature,
            seed: settings.seed,
          })
        ).text;

  // Kept until the last save is done: a second signal must not cut it short.
  const stop = catchStopSignals(io, 'saving the checkpoint');
  let progress = epochProgress(
    io.stderr,
    trainer.epoch + 1,
    settings.epochs,
    trainer.loader.maxBatchesPerEpoch,
  );
  const validIds =
    flags.validTokens > 0 && valid.length > flags.validTokens
      ? asTokenIds(valid).subarray(0, flags.validTokens)
      : valid;
  // Every --valid-every batches: it counts for --patience and the plateau schedule as an epoch's end
  // does, and a new best is saved to best/ there and then.
  const validate = async () => {
    if (validIds.length < 2) return false;
    const { batchSize, numSteps } = trainer.loader;
    const validPerplexity = await evaluatePerplexity(model, validIds, { batchSize, numSteps });
    const at = { epoch: trainer.epoch + 1, batch: trainer.getState().progress?.batch ?? 0 };
    const verdict = trainer.observeValidation(validPerplexity);
    if (flags.json) io.stdout.write(`${JSON.stringify({ ...at, valid_perplexity: validPerplexity })}\n`);
    else say(`epoch ${at.epoch} batch ${at.batch}: valid perplexity ${formatPerplexity(validPerplexity)}`);
    if (verdict.improved) await saveBest();
    return verdict.stop;
  };
  const stops = {
    clock: new LongRunClock({
      checkpointEveryMinutes: flags.checkpointEvery,
      timeBudgetSeconds: flags.timeBudget,
      validEvery: flags.validEvery,
    }),
    checkpoint: save,
    validate,
  };
  let result: Awaited<ReturnType<typeof fitWithStops>>;
  try {
    result = await fitWithStops(trainer, stops, {
      epochs: settings.epochs,
      signal: stop.signal,
      ...(flags.annealToBudget ? { timeBudgetSpent: () => stops.clock.budgetSpent() } : {}),
      ...(validIds.length > 1 ? { valid: validIds } : {}),
      onBatchEnd: (e) => progress.update(e.batch, e),
      onEpochEnd: async (r) => {
        progress.stop();
        if (flags.json) {
          io.stdout.write(`${JSON.stringify(epochJson(r))}\n`);
        } else {
          const validText =
            r.validPerplexity === undefined ? '' : `, valid ${formatPerplexity(r.validPerplexity)}`;
          say(
            `epoch ${r.epoch}/${settings.epochs}: perplexity ${formatPerplexity(r.perplexity)}${validText}, lr ${formatRate(r.lr)}, ${formatCount(r.tokensPerSecond)} tokens/s`,
          );
          if (
            settings.sampleEvery > 0 &&
            r.epoch % settings.sampleEvery === 0 &&
            r.epoch < settings.epochs &&
            !noSamples
          ) {
            say(`  sample: ${await sample(60)}`);
          }
        }
        // The best by validation first: an interruption between the two saves loses no best.
        // (A best measured between epochs' ends was saved when it was measured.)
        const best = trainer.best;
        if (r.validPerplexity !== undefined && best?.epoch === r.epoch && best.batch === undefined)
          await saveBest();
        await save();
        if (r.epoch < settings.epochs)
          progress = epochProgress(
            io.stderr,
            r.epoch + 1,
            settings.epochs,
            trainer.loader.maxBatchesPerEpoch,
          );
      },
    });
  } catch (error) {
    progress.stop();
    stop.dispose();
    if (error instanceof DivergenceError) {
      throw new CliError(
        `${error.message}. The last saved checkpoint in ${out} is untouched.`,
        EXIT.diverged,
        { cause: error },
      );
    }
    throw error;
  }
  progress.stop();
  if (result.stopped === 'time-budget') {
    // Annealed, the last batches ran at the lowest rates: the model most likely to be the best is the
    // one the budget ends with, so it is measured (and kept in best/ when it is). Not after a plain
    // budget: that stop is a pause, and a validation there would count in the run --resume continues.
    try {
      if (flags.annealToBudget) await validate();
      await save();
    } finally {
      stop.dispose();
    }
    say(
      `the time budget is spent after epoch ${trainer.epoch}${trainer.getState().progress ? ` and ${trainer.getState().progress!.batch} batches of the next` : ''}; ` +
        `saved a resumable checkpoint to ${out}: continue with ${shellCommand(['rnnlm', 'train', '--resume', out])}`,
    );
    if (flags.json)
      io.stdout.write(
        `${JSON.stringify({ done: false, out, stopped: 'time-budget', epochs: trainer.epoch })}\n`,
      );
    return;
  }
  if (result.aborted) {
    // The signals stay caught until the process exits with 128 + n: a later one cannot kill it before
    // the lock and any temporary file are removed.
    await save();
    const signal = stop.received ?? 'SIGINT';
    throw new CliError(
      `${signal === 'SIGINT' ? 'interrupted' : `stopped by ${signal}`} after epoch ${trainer.epoch}${trainer.getState().progress ? ` and ${trainer.getState().progress!.batch} batches of the next` : ''}; ` +
        `saved a resumable checkpoint to ${out}: continue with ${shellCommand(['rnnlm', 'train', '--resume', out])}`,
      SIGNAL_EXIT[signal],
    );
  }
  await save().finally(() => stop.dispose());
  const last = trainer.history.at(-1);
  const best = trainer.best;
  const inEpoch = trainer.getState().progress;
  if (result.stoppedEarly)
    say(
      `stopped early ${inEpoch ? `in epoch ${trainer.epoch + 1} after ${inEpoch.batch} batches` : `after epoch ${trainer.epoch}`}: ` +
        `${trainer.patience} validations without a better valid perplexity (--patience)`,
    );
  if (best)
    say(
      `best valid perplexity ${formatPerplexity(best.validPerplexity)} at epoch ${best.epoch}${best.batch === undefined ? '' : ` batch ${best.batch}`}, saved to ${bestDir}`,
    );
  const text = await sample(200);
  const sampled = await sample(200, SAMPLE_TEMPERATURE);
  if (flags.json) {
    io.stdout.write(
      `${JSON.stringify({
        done: true,
        out,
        backend: backend.backend,
        epochs: trainer.epoch,
        ...(last ? { perplexity: last.perplexity, valid_perplexity: last.validPerplexity ?? null } : {}),
        lr: last?.lr ?? null,
        stopped_early: result.stoppedEarly === true,
        best: best
          ? {
              valid_perplexity: best.validPerplexity,
              epoch: best.epoch,
              ...(best.batch === undefined ? {} : { batch: best.batch }),
              out: bestDir,
            }
          : null,
        ...size.json,
        tokens_per_s: last ? Math.round(last.tokensPerSecond) : null,
        seconds: Number(trainer.history.reduce((s, h) => s + h.seconds, 0).toFixed(2)),
        sample: noSamples ? null : text,
        sample_temperature_0_8: noSamples ? null : sampled,
      })}\n`,
    );
    return;
  }
  const seconds = trainer.history.reduce((s, h) => s + h.seconds, 0);
  say(`perplexity by epoch: ${sparkline(trainer.history.map((h) => h.perplexity))}  (${out}/perplexity.svg)`);
  if (last) {
    say(
      `done: perplexity ${formatPerplexity(last.perplexity)}` +
        (last.validPerplexity === undefined ? '' : ` (valid ${formatPerplexity(last.validPerplexity)})`) +
        ` after ${trainer.epoch} epochs, ${formatDuration(seconds)}, ${formatCount(last.tokensPerSecond)} tokens/s on ${backend.backend}`,
    );
  }
  if (!noSamples) {
    say(`\ngreedy (the notebooks' decoding):\n${text}\n`);
    say(`sampled at temperature ${SAMPLE_TEMPERATURE} (rnnlm generate --temperature):\n${sampled}\n`);
  }
  say(`saved to ${out}: ${shellCommand(['rnnlm', 'generate', '--model', out, '--prefix', settings.prefix])}`);
}
