/**
 * For tests that run on WebGPU in Node (this repository's, and an app's own): a real adapter, the
 * machine's or SwiftShader's software one from Debian's chromium package when no Vulkan driver is
 * chosen. Outside CI a machine without any adapter skips those tests, saying why; in CI (`CI` set) it
 * fails them, so a broken setup cannot pass as skipped.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { selectBackend } from './index.js';

/** SwiftShader's Vulkan driver as Debian's chromium package installs it. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** True in CI, where a test that needs an adapter must fail rather than skip. */
export const inCi = Boolean(process.env.CI);

/**
 * The environment Dawn reads when it starts: SwiftShader unless a Vulkan driver is already chosen, and
 * a runtime directory (the Vulkan loader complains on every start without one). For child processes.
 */
export function softwareAdapterEnv(): Record<string, string> {
  const env: Record<string, string> = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir() };
  if (process.platform === 'linux' && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  return env;
}

/** Sets `softwareAdapterEnv()` on this process. Call before Dawn loads. */
export function preferSoftwareAdapter(): void {
  Object.assign(process.env, softwareAdapterEnv());
}

/** Backend loaders that refuse tfjs-node: a webgpu test must not start (or wait for) it. */
export const NO_NATIVE_LOADERS = {
  'tensorflow-gpu': async () => Promise.reject(new Error('not used in this test')),
  tensorflow: async () => Promise.reject(new Error('not used in this test')),
};

/**
 * Starts tfjs's webgpu backend (with rnnlm's kernels) on the preferred adapter. Returns null when it
 * runs, or why it cannot; the caller passes that to `needAdapter` in each test.
 */
export async function startWebgpu(): Promise<string | null> {
  preferSoftwareAdapter();
  try {
    await selectBackend({ backend: 'webgpu', loaders: NO_NATIVE_LOADERS });
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** What `needAdapter` uses of a test's context (vitest's and others' have a `skip(note)`). */
export interface SkippableContext {
  skip(note?: string): void;
}

/** In a test: nothing when an adapter ran; else a failure in CI and a skip, saying why, elsewhere. */
export function needAdapter(context: SkippableContext, unavailable: string | null): void {
  if (unavailable === null) return;
  if (inCi) throw new Error(`CI needs a WebGPU adapter: ${unavailable}`);
  context.skip(`no WebGPU adapter here: ${unavailable}`);
}
