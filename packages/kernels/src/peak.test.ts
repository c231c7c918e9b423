// The SIMD peak measurement: a job on every thread at once, right after the threads start (which
// once lost the job: a worker that said ready before reading the job counter slept through it), in
// the build that runs and in the plain one.
import { describe, expect, it } from 'vitest';
import { loadKernelBinaries } from './binary.js';
import { KernelRuntime } from './index.js';
import { measureSimdPeak } from './peak.js';

describe('measureSimdPeak', () => {
  it('measures one thread, and two together the moment they start', async () => {
    const rt = KernelRuntime.createSync();
    const single = measureSimdPeak(rt, { rounds: 2, ms: 10 });
    expect(single.threads).toBe(1);
    expect(single.simd).toBe(rt.simd);
    expect(single.plainGflops).toBeGreaterThan(0);
    // The peak of the build that runs: the fused multiply-add one in the relaxed build.
    expect(single.fmaGflops === null).toBe(rt.simd === 'plain');
    expect(single.gflops).toBe(single.fmaGflops ?? single.plainGflops);
    expect(single.gflopsPerThread).toBe(single.gflops);
    for (let start = 0; start < 3; start++) {
      const rt = await KernelRuntime.create(2);
      try {
        const both = measureSimdPeak(rt, { rounds: 2, ms: 10 });
        expect(both.threads).toBe(2);
        expect(Number.isFinite(both.gflops) && both.gflops > 0).toBe(true);
        expect(Number.isFinite(both.plainGflops) && both.plainGflops > 0).toBe(true);
        expect(both.gflopsPerThread).toBeCloseTo(both.gflops / 2, 10);
      } finally {
        rt.dispose();
      }
    }
  });

  it('measures the plain build alone on a plain runtime', async () => {
    await loadKernelBinaries('plain');
    const peak = measureSimdPeak(KernelRuntime.createSync('plain'), { rounds: 1, ms: 10 });
    expect(peak.simd).toBe('plain');
    expect(peak.fmaGflops).toBeNull();
    expect(peak.gflops).toBe(peak.plainGflops);
  });

  it('says what was wrong with its options', () => {
    expect(() => measureSimdPeak(KernelRuntime.createSync(), { rounds: 0 })).toThrow(/rounds >= 1/);
  });
});
