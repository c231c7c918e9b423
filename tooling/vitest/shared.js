// Shared vitest settings for every package (`@rnnlm/vitest-config`). Tests import sibling packages by
// name; the aliases point those names at their sources, so tests run against the code as written,
// without a build first. Convention: a subpath export `@rnnlm/x/sub` is built from `packages/x/src/sub.ts`.
// Plain JavaScript: vitest loads a config's imports from packages with Node, which does not read TypeScript.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = dirname(fileURLToPath(import.meta.url));
const packagesDir = join(here, '..', '..', 'packages');
// Downloads, token-id caches and remembered backend choices go to a folder of the test run's own, never
// into the user's cache (tests that need a particular cache pass RNNLM_CACHE_DIR themselves).
const cacheDir = mkdtempSync(join(tmpdir(), 'rnnlm-test-cache-'));
const aliases = readdirSync(packagesDir).flatMap((name) => [
  { find: new RegExp(`^@rnnlm/${name}$`), replacement: join(packagesDir, name, 'src', 'index.ts') },
  { find: new RegExp(`^@rnnlm/${name}/([\\w-]+)$`), replacement: join(packagesDir, name, 'src', '$1.ts') },
]);

/**
 * @typedef {object} PackageTestOptions
 * @property {boolean} [tfjs] Load the full tfjs runtime on the cpu backend before each test file.
 */

/**
 * The vitest config of the package `name`: its tests beside the code and under test/, in Node.
 * @param {string} name
 * @param {PackageTestOptions} [options]
 */
export function packageConfig(name, options = {}) {
  return defineConfig({
    resolve: { alias: aliases },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      setupFiles: options.tfjs ? [join(here, 'setup-tfjs.ts')] : [],
      env: { RNNLM_CACHE_DIR: cacheDir },
      testTimeout: 120_000,
      hookTimeout: 120_000,
    },
  });
}
