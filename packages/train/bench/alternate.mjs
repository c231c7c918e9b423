// Timing two or more training runs against each other on a shared machine: each run trains a block of
// batches in turn, round after round (A/B in the same minutes, so that a busy neighbour slows all
// alike), and the median over each run's batches stands for it (a few batches stall on other work).

/** The median of a list of numbers. */
export function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Trains each of `runs` (from assembleRun) for `batches` batches in turn, `rounds` + 1 times, the first
 * round a warm-up; returns per run the process CPU time (every thread) and the wall time of each timed
 * batch, in ms.
 */
export async function alternateRuns(runs, { batches, rounds }) {
  const timings = runs.map(() => ({ cpu: [], wall: [] }));
  for (let round = 0; round <= rounds; round++) {
    for (const [i, run] of runs.entries()) {
      const done = new AbortController();
      let n = 0;
      let cpu0 = process.cpuUsage();
      let wall0 = performance.now();
      await run.trainer.fit({
        epochs: 1,
        signal: done.signal,
        onBatchEnd: () => {
          const cpu = process.cpuUsage(cpu0);
          const wall = performance.now() - wall0;
          if (round > 0) {
            timings[i].cpu.push((cpu.user + cpu.system) / 1000);
            timings[i].wall.push(wall);
          }
          if (++n >= batches) done.abort();
          cpu0 = process.cpuUsage();
          wall0 = performance.now();
        },
      });
    }
  }
  return timings;
}
