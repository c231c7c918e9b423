// The SIMD peak measurement: a job on every thread at once, right after the threads start (which
// once lost the job: a worker that said ready before reading the job counter slept through it).
import { describe, expect, it } from 'vitest';
import { KernelRuntime } from './index.js';
import { measureSimdPeak } from './peak.js';

describe('measureSimdPeak', () => {
  it('measures one thread, and two together the moment they start', async () => {
    const single = measureSimdPeak(KernelRuntime.createSync(), { rounds: 2, ms: 10 });
    expect(single.threads).toBe(1);
    expect(single.gflops).toBeGreaterThan(0);
    expect(single.gflopsPerThread).toBe(single.gflops);
    for (let start = 0; start < 3; start++) {
      const rt = await KernelRuntime.create(2);
      try {
        const both = measureSimdPeak(rt, { rounds: 2, ms: 10 });
        expect(both.threads).toBe(2);
        expect(Number.isFinite(both.gflops) && both.gflops > 0).toBe(true);
        expect(both.gflopsPerThread).toBeCloseTo(both.gflops / 2, 10);
      } finally {
        rt.dispose();
      }
    }
  });

  it('says what was wrong with its options', () => {
    expect(() => measureSimdPeak(KernelRuntime.createSync(), { rounds: 0 })).toThrow(/rounds >= 1/);
  });
});
