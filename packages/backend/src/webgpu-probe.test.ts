// The child process that looks for a WebGPU adapter: what it reports, what it makes of Dawn's stderr,
// and a child that crashes or hangs (a broken driver) ending as an error rather than taking the app.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { dawnSaid, probeAdapter } from './webgpu-probe.js';

// What Dawn 0.6.2 wrote on this machine: Debian 12's lavapipe rejected, then no Vulkan driver at all.
const REJECTED = `error: XDG_RUNTIME_DIR is invalid or not set in the environment.
Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.
 - While initializing adapter (backend=BackendType::Vulkan)
    at InitializeImpl (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/PhysicalDeviceVk.cpp:257)

`;
const NO_DRIVER = `Warning: loader_get_json: Failed to open JSON file /nonexistent.json
Warning: vkCreateInstance: Found no drivers!
Warning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER
    at CheckVkSuccessImpl (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/VulkanError.cpp:106)
`;

describe('dawnSaid', () => {
  it('keeps each message with its context on one line, without source locations', () => {
    expect(dawnSaid(REJECTED)).toEqual([
      'XDG_RUNTIME_DIR is invalid or not set in the environment',
      'Vulkan shaderUniform*ArrayDynamicIndexing required, while initializing adapter (backend=BackendType::Vulkan)',
    ]);
    expect(dawnSaid(NO_DRIVER)).toEqual([
      'loader_get_json: Failed to open JSON file /nonexistent.json',
      'vkCreateInstance: Found no drivers!',
      'vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER',
    ]);
    expect(dawnSaid(`${NO_DRIVER}${NO_DRIVER}`)).toHaveLength(3);
    expect(dawnSaid('')).toEqual([]);
  });
});

describe('probeAdapter', () => {
  let dir = '';
  /** A stand-in for the `webgpu` package whose `create()` does `body`; its URL. */
  const standIn = (name: string, body: string) => {
    const file = join(dir, `${name}.mjs`);
    writeFileSync(file, `export const globals = {};\nexport function create() {\n${body}\n}\n`);
    return pathToFileURL(file).href;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rnnlm-probe-'));
  });

  it('reports no adapter with what Dawn wrote, and an adapter with its info', async () => {
    const none = standIn(
      'none',
      `process.stderr.write(${JSON.stringify(REJECTED)});\nreturn { requestAdapter: async () => null };`,
    );
    expect(await probeAdapter(none)).toEqual({ adapter: null, said: dawnSaid(REJECTED) });
    const found = standIn(
      'found',
      "return { requestAdapter: async () => ({ info: { vendor: 'nvidia', architecture: 'ada', description: '', isFallbackAdapter: false } }) };",
    );
    const probe = await probeAdapter(found);
    expect(probe.said).toEqual([]);
    expect(probe.adapter?.info).toEqual({
      vendor: 'nvidia',
      architecture: 'ada',
      description: '',
      isFallbackAdapter: false,
    });
  });

  it('turns a crash or a hang of the child into an error that says so', async () => {
    const crash = standIn(
      'crash',
      "process.stderr.write('Warning: driver fault\\n'); process.kill(process.pid, 'SIGSEGV');",
    );
    await expect(probeAdapter(crash)).rejects.toThrow(
      'looking for a WebGPU adapter, Dawn ended with SIGSEGV (it said: driver fault)',
    );
    const hang = standIn(
      'hang',
      'setInterval(() => {}, 1000); return { requestAdapter: () => new Promise(() => {}) };',
    );
    await expect(probeAdapter(hang, 1500)).rejects.toThrow(
      'looking for a WebGPU adapter, Dawn did not answer in 1.5 s',
    );
  });
});
