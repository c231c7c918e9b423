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

  it("reports each thread's time in the last call that ran on the threads, within the call's", () => {
    const rt = runtimes.threaded;
    const fill = (N: number) => {
      const a = rt.begin();
      const G = 64;
      const b = a.allocFrom(null, G);
      const xg = a.alloc(N * G);
      const started = performance.now();
      rt.run('fillRows', { b, G, N, xg }, 1 << 24);
      return performance.now() - started;
    };
    // The worker gets nearly all of each call, so this thread finishes first and must wait for the
    // worker's time; a time left over from the long call before would not fit the short one.
    rt.fixShares([0.05]);
    try {
      // Wakes the worker first, so that it runs its own share.
      for (let i = 0; i < 5; i++) fill(4096);
      let seen = 0;
      for (let attempt = 0; attempt < 20 && seen < 3; attempt++) {
        fill(65536);
        const wall = fill(2048);
        const times = rt.lastThreadMs;
        if (times === null) continue; // this thread ran the worker's share: no worker time to report
        seen++;
        expect(times).toHaveLength(2);
        for (const ms of times) {
          expect(ms).toBeGreaterThanOrEqual(0);
          expect(ms).toBeLessThanOrEqual(wall);
        }
      }
      expect(seen).toBe(3);
    } finally {
      rt.fixShares(null);
    }
    // A call small enough for this thread alone reports nothing.
    const a = rt.begin();
    rt.run('fillRows', { b: a.allocFrom([1], 1), G: 1, N: 1, xg: a.alloc(1) }, 1);
    expect(rt.lastThreadMs).toBeNull();
    fillAndCheck(runtimes.single, 9, 4);
    expect(runtimes.single.lastThreadMs).toBeNull();
  });

  it('counts no shares taken on one thread', () => {
    fillAndCheck(runtimes.single, 9, 4);
    expect(runtimes.single.sharesTaken).toBe(0);
  });
});
