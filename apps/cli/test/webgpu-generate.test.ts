// `rnnlm generate --backend webgpu` in Node (SwiftShader's software adapter where there is no GPU):
// the texts equal the cpu backend's, one sample or several. Outside CI a machine with no adapter skips,
// saying why; in CI that fails.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { softwareAdapterEnv } from '@rnnlm/backend/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const env = softwareAdapterEnv();

let out = '';
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rnnlm-webgpu-generate-'));
  const corpus = join(dir, 'fox.txt');
  writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog. '.repeat(30));
  out = join(dir, 'model');
  // Embedded and tied: the token step's weights are computed by tfjs ops, out of a synchronous read's reach.
  const trained = await runCli([
    'train',
    ...['--corpus', corpus, '--cell', 'gru', '--hidden', '16', '--embedding', '16', '--tie-weights'],
    ...['--batch-size', '8', '--num-steps', '16', '--epochs', '3', '--lr', '0.05', '--backend', 'cpu'],
    ...['--out', out],
  ]);
  expect(trained.code, trained.stderr).toBe(0);
});

describe('rnnlm generate --backend webgpu', () => {
  it('prints the texts the cpu backend prints, one sample or several', async (context) => {
    const args = ['generate', '--model', out, '--prefix', 'the', '--length', '16', '--temperature', '0.8'];
    const single = await runCli([...args, '--seed', '4', '--backend', 'webgpu'], { env });
    if (single.code === 5) {
      if (process.env.CI) throw new Error(`CI needs a WebGPU adapter: ${single.stderr}`);
      context.skip(`no WebGPU adapter here: ${single.stderr.trim()}`);
    }
    expect(single.code, single.stderr).toBe(0);
    expect(single.stderr).toMatch(/^backend webgpu /m);
    const singleCpu = await runCli([...args, '--seed', '4', '--backend', 'cpu']);
    expect(single.stdout).toMatch(/^the.{16,}\n$/s);
    expect(single.stdout).toBe(singleCpu.stdout);

    const several = ['--num-samples', '2', '--seed', '9', '--json'];
    const batched = await runCli([...args, ...several, '--backend', 'webgpu'], { env });
    expect(batched.code, batched.stderr).toBe(0);
    const batchedCpu = await runCli([...args, ...several, '--backend', 'cpu']);
    const texts = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).text as string);
    expect(texts(batched.stdout)).toHaveLength(2);
    expect(texts(batched.stdout)).toEqual(texts(batchedCpu.stdout));
    // The samples differ from each other (sample i is seeded with seed + i).
    expect(new Set(texts(batched.stdout)).size).toBeGreaterThan(1);
  });

  it('without an adapter exits 5 with one line of ours that quotes Dawn, and none of its own noise', async (context) => {
    if (process.platform !== 'linux')
      context.skip('Vulkan drivers are chosen by VK_ICD_FILENAMES on Linux only');
    // No Vulkan driver at all; no XDG_RUNTIME_DIR either (libwayland complains of an empty one too).
    const result = await runCli(['generate', '--model', out, '--backend', 'webgpu'], {
      env: { VK_ICD_FILENAMES: '/nonexistent/icd.json', XDG_RUNTIME_DIR: '' },
    });
    expect(result.code, result.stderr).toBe(5);
    if (/webgpu is not installed/.test(result.stderr)) {
      if (process.env.CI) throw new Error(`CI installs the webgpu package: ${result.stderr}`);
      context.skip('the optional webgpu package is not installed here');
    }
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^error: Backend webgpu is not available: WebGPU found no adapter \(Dawn said: .*Found no drivers/,
      ),
    ]);
    expect(result.stdout).toBe('');
  });
});
