import { describe, expect, it } from 'vitest';
import type { KernelRuntime } from './index.js';
import { startRuntimes } from './test-utils/helpers.js';

const runtimes = startRuntimes();

/** Fills N rows of G with row b (through the threaded path whatever N) and checks every row. */
function fillAndCheck(rt: KernelRuntime, N: number, G: number): void {
  const a = rt.begin();
  const b = a.allocFrom(
    Array.from({ length: G }, (_, j) => j + 0.5),
    G,
  );
  const xg = a.allocFrom(null, N * G);
  // Work given as large: the call goes to every thread, however little it does.
  rt.run('fillRows', { b, G, N, xg }, 1 << 24);
  const rows = a.f32(xg, N * G);
  for (let n = 0; n < N; n++) for (let j = 0; j < G; j++) expect(rows[n * G + j]).toBe(j + 0.5);
}

describe('the thread pool', () => {
  it('runs a share no worker has started on the calling thread, with the same result', async () => {
    const rt = runtimes.threaded;
    const before = rt.sharesTaken;
    // A worker sleeps after 4 ms without work and takes a while to wake; a call that small is done
    // on the calling thread, its share and the sleeping worker's, before the worker is up.
    for (let attempt = 0; attempt < 20 && rt.sharesTaken === before; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      fillAndCheck(rt, 64, 8);
    }
    expect(rt.sharesTaken).toBeGreaterThan(before);
    // Calls that follow at once find the workers awake (or take their shares): every row right.
    for (let i = 0; i < 200; i++) fillAndCheck(rt, 1 + (i % 37), 3 + (i % 5));
  });

  it('counts no shares taken on one thread', () => {
    fillAndCheck(runtimes.single, 9, 4);
    expect(runtimes.single.sharesTaken).toBe(0);
  });
});
