/**
 * One `rnnlm train` per output folder: a lock file created exclusively in the folder, holding who took
 * it. Two runs saving to the same folder would otherwise both report success while the last save wins.
 * A lock left by a process that has ended (kill -9, a crash) on this machine is taken over.
 */
import { unlinkSync } from 'node:fs';
import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CliError, EXIT } from './errors.js';

export const LOCK_FILE = '.rnnlm-lock';

interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

/** A lock whose file could not be read back this long after it was made is a crash's leftover. */
const UNREADABLE_LOCK_AGE_MS = 10_000;

/** Takes the folder's lock (the folder must exist) and returns what releases it. */
export async function acquireLock(dir: string): Promise<() => void> {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(me)}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = await readHolder(path);
      if (holder === 'gone') continue;
      if (holder === 'stale' || (holder.host === me.host && !isRunning(holder.pid))) {
        await unlink(path).catch(() => {});
        continue;
      }
      throw new CliError(
        `${dir} is in use by another rnnlm train (pid ${holder.pid} on ${holder.host} since ${holder.startedAt}): ` +
          `wait for it to finish or choose another --out; if that process no longer runs, delete ${path}`,
        EXIT.checkpoint,
      );
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      unlinkSync(path);
    } catch {}
  };
  process.once('exit', release);
  return release;
}

async function readHolder(path: string): Promise<LockHolder | 'stale' | 'gone'> {
  try {
    const holder = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (Number.isSafeInteger(holder.pid) && typeof holder.host === 'string')
      return {
        pid: holder.pid!,
        host: holder.host,
        startedAt: String(holder.startedAt ?? 'an unknown time'),
      };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
  }
  const made = await stat(path).catch(() => null);
  if (!made) return 'gone';
  if (Date.now() - made.mtimeMs > UNREADABLE_LOCK_AGE_MS) return 'stale';
  return { pid: 0, host: 'an unknown host', startedAt: new Date(made.mtimeMs).toISOString() };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // it runs, as another user
  }
}
