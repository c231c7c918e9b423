/**
 * Tests that run WebGPU in Node use a real adapter: the machine's, or SwiftShader's software one from
 * Debian's chromium package when no Vulkan driver is chosen (`.ci/run` installs it and libvulkan1).
 * Outside CI a machine without any adapter skips those tests, saying why; in CI it fails them.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Points the Vulkan loader at SwiftShader unless a driver is already chosen. Call before Dawn loads. */
export function preferSoftwareAdapter(): void {
  if (process.platform === 'linux' && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  // The Vulkan loader complains on every start without it.
  process.env.XDG_RUNTIME_DIR ??= tmpdir();
}

/** True in CI, where a test that needs an adapter must fail rather than skip. */
export const inCi = Boolean(process.env.CI);
