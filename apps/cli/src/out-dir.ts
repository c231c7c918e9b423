/**
 * Where `rnnlm train` saves, settled before any training work: a folder that exists or can be made, is
 * writable, holds nothing of anyone else's that a save would replace, and is not being written by another
 * run (a lock, see lock.ts). Anything wrong is found here, not after an epoch.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { weightsFilesOf } from '@rnnlm/train';
import { CliError, EXIT, messageOf } from './errors.js';
import { acquireLock, LOCK_FILE } from './lock.js';
import { shellQuote } from './shell-quote.js';

/** The file a saved model always has (the rest of the format is @rnnlm/train's). */
export const MODEL_FILE = 'model.json';

export function holdsModel(dir: string): boolean {
  return existsSync(join(dir, MODEL_FILE));
}

/** The folder of a checkpoint given as its folder or as its model.json. */
export function checkpointDir(path: string): string {
  return basename(path) === MODEL_FILE ? dirname(resolve(path)) : resolve(path);
}

export interface OutDirRequest {
  out: string;
  outGiven: boolean;
  force: boolean;
  resume?: string;
}

/** What a folder holds, as far as saving into it is concerned. */
function contentsOf(dir: string): 'missing' | 'not a folder' | 'empty' | 'model' | 'other files' {
  const stats = statSync(dir, { throwIfNoEntry: false });
  if (!stats) return lstatSync(dir, { throwIfNoEntry: false }) ? 'not a folder' : 'missing'; // a dangling link
  if (!stats.isDirectory()) return 'not a folder';
  if (holdsModel(dir)) return 'model';
  return readdirSync(dir).some((name) => name !== LOCK_FILE) ? 'other files' : 'empty';
}

/**
 * Picks the folder. One that already holds a model is never overwritten by accident: an explicit --out
 * needs --force; the default name moves on to `rnnlm-model-2`, `-3`, ... so that running the README's
 * command twice keeps both models. A folder with other files needs --force too.
 */
export function chooseOutDir(opts: OutDirRequest): string {
  if (opts.outGiven && opts.out.trim() === '') {
    throw new CliError(
      '--out is empty: give the folder to save the model in, for example --out my-model',
      EXIT.usage,
    );
  }
  if (opts.outGiven && basename(opts.out) === MODEL_FILE) {
    throw new CliError(
      `--out takes a folder (the model is saved as ${MODEL_FILE} inside it): use --out ${dirname(resolve(opts.out))}`,
      EXIT.usage,
    );
  }
  if (opts.resume && !opts.outGiven) return checkpointDir(opts.resume);
  const wanted = resolve(opts.out);
  if (opts.resume && checkpointDir(opts.resume) === wanted) return wanted;
  const contents = contentsOf(wanted);
  if (contents === 'missing' || contents === 'empty' || (opts.force && contents !== 'not a folder'))
    return wanted;
  if (opts.outGiven) {
    if (contents === 'not a folder') {
      throw new CliError(
        `${opts.out} is not a folder: --out takes the folder to save the model in`,
        EXIT.checkpoint,
      );
    }
    if (contents === 'model') {
      throw new CliError(
        `${opts.out} already holds a saved model: pass --force to overwrite it, --resume ${shellQuote(opts.out)} to continue training it, or --out another directory`,
        EXIT.checkpoint,
      );
    }
    throw new CliError(
      `${opts.out} holds other files and no rnnlm model: pass --force to save into it anyway (its ${MODEL_FILE}, weights.bin, ` +
        'weights.b.bin and perplexity.svg would be replaced), or --out an empty or new folder',
      EXIT.checkpoint,
    );
  }
  for (let n = 2; ; n++) {
    const candidate = join(dirname(wanted), `${basename(wanted)}-${n}`);
    const taken = contentsOf(candidate);
    if (taken === 'missing' || taken === 'empty') return candidate;
  }
}

/**
 * Makes a folder and its missing parents, one level at a time, and returns the topmost one made. (Node's
 * `mkdir(..., { recursive: true })` spins for ever where mkdir answers ENOENT under a parent that exists,
 * as in /proc.)
 */
async function makeFolders(dir: string): Promise<string | undefined> {
  const missing: string[] = [];
  for (let folder = dir; !existsSync(folder); folder = dirname(folder)) {
    missing.unshift(folder);
    if (dirname(folder) === folder) break;
  }
  for (const folder of missing) await mkdir(folder);
  return missing[0];
}

export interface OutDir {
  dir: string;
  /** Releases the lock, and removes the folder again if this run made it and saved nothing. */
  release(): void;
}

/**
 * Chooses the folder, makes it, checks that it can be written and takes its lock. A model.json there
 * that is not an rnnlm checkpoint (another tool's) is refused even with --force: rnnlm replaces only
 * its own models.
 */
export async function prepareOutDir(opts: OutDirRequest): Promise<OutDir> {
  const dir = chooseOutDir(opts);
  if (holdsModel(dir)) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(join(dir, MODEL_FILE), 'utf8'));
    } catch (error) {
      throw new CliError(
        `${join(dir, MODEL_FILE)} is not a readable rnnlm checkpoint (${messageOf(error)}): choose another --out rather than overwrite it`,
        EXIT.checkpoint,
      );
    }
    try {
      weightsFilesOf(json, join(dir, MODEL_FILE));
    } catch (error) {
      throw new CliError(
        `${messageOf(error)}: rnnlm replaces only its own models, even with --force; choose another --out`,
        EXIT.checkpoint,
      );
    }
  }
  let made: string | undefined;
  let release: () => void;
  try {
    made = await makeFolders(dir);
    release = await acquireLock(dir);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot write to ${dir}: ${messageOf(error)}`, EXIT.checkpoint, { cause: error });
  }
  return {
    dir,
    release: () => {
      release();
      if (made === undefined) return;
      // Folders this run made, from the deepest up, while they are empty (nothing was saved).
      for (let folder = dir; folder.length >= made.length; folder = dirname(folder)) {
        try {
          rmdirSync(folder);
        } catch {
          break;
        }
      }
    },
  };
}
