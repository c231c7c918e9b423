// The generate-only app (size/main.ts) bundled as a user's bundler would: at start it must load neither
// the trainer nor tfjs-layers; a model of impl `layers` brings tfjs-layers in its own chunk on demand.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../scripts/bundle-size.mjs', import.meta.url));

describe('the generate-only bundle', () => {
  it('holds no trainer and no tfjs-layers at start; tfjs-layers is a chunk loaded on demand', () => {
    const run = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    const report = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(report.forbidden_at_start).toEqual([]);
    expect(run.status, run.stderr).toBe(0);
    // The kernels' relaxed and plain builds are chunks of their own: the page loads only one.
    expect(report.kernel_builds).toBe(2);
    expect(report.initial.gzip_bytes).toBeGreaterThan(0);
    expect(report.initial.gzip_bytes).toBeLessThan(report.initial.minified_bytes);
    // tfjs-layers is large: the chunk that holds it is most of what the start does without.
    expect(report.on_demand.minified_bytes).toBeGreaterThan(100_000);
  }, 120_000);
});
