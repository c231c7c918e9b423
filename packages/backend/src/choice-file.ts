/**
 * Node's memory for measured backend choices: one small JSON file (the app puts it in its cache
 * directory), written whole to a temporary file and renamed, so a crash never leaves half of it.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ChoiceMemory, RememberedChoice } from './measure.js';

const FORMAT = 'rnnlm-backend-choices';

interface ChoiceFile {
  format: typeof FORMAT;
  version: 1;
  choices: Record<string, RememberedChoice>;
}

/**
 * The measured choices kept in the JSON file at `path`. A missing or unreadable file counts as empty
 * (it is a cache: the next run measures again and rewrites it).
 */
export function fileChoiceMemory(path: string): ChoiceMemory {
  const load = async (): Promise<ChoiceFile> => {
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<ChoiceFile>;
      if (parsed.format === FORMAT && parsed.version === 1 && typeof parsed.choices === 'object') {
        return parsed as ChoiceFile;
      }
    } catch {
      // Missing or damaged: measure again.
    }
    return { format: FORMAT, version: 1, choices: {} };
  };
  return {
    async read(key) {
      const choice = (await load()).choices[key];
      return isChoice(choice) ? choice : undefined;
    },
    async write(key, choice) {
      const file = await load();
      file.choices[key] = choice;
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`);
      await rename(temporary, path);
    },
  };
}

function isChoice(value: unknown): value is RememberedChoice {
  const choice = value as RememberedChoice | undefined;
  return (
    typeof choice?.backend === 'string' &&
    Array.isArray(choice.measurements) &&
    choice.measurements.every((m) => typeof m.backend === 'string' && m.tokensPerSecond > 0)
  );
}

/**
 * What makes a measurement on this machine valid for the next run: the CPU, its cores, Node's and
 * tfjs's versions and the kernel threads (a different one of these can change which backend wins).
 */
export function deviceFingerprint(threads: number): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    tfjs: tf.version_core,
    threads,
  };
}
