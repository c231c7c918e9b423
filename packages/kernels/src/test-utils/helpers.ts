// What the tests of the kernels' operations share: seeded values, the largest difference, and the two
// runtimes every result is checked on (one thread, and two that must give the same results).
import { afterAll, beforeAll, expect } from 'vitest';
import { KernelRuntime } from '../runtime.js';

/** A seeded generator: the same values on every run. */
export function uniform(seed: number) {
  let s = seed >>> 0;
  return (scale: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  };
}

/** n values of a generator from `uniform`, in [-scale, scale). */
export function randomValues(rand: (scale: number) => number, n: number, scale = 1): number[] {
  return Array.from({ length: n }, () => rand(scale));
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A runtime on one thread and one on two, started before the file's tests and stopped after them. */
export function startRuntimes(): { single: KernelRuntime; threaded: KernelRuntime } {
  const runtimes = {} as { single: KernelRuntime; threaded: KernelRuntime };
  beforeAll(async () => {
    runtimes.single = KernelRuntime.createSync();
    runtimes.threaded = await KernelRuntime.create(2);
  });
  afterAll(() => runtimes.threaded.dispose());
  return runtimes;
}
