// Shared vitest settings for every package. Tests import sibling packages by name; the aliases point
// those names at their sources, so tests run against the code as written, without a build first.
// Convention: a subpath export `@rnnlm/x/sub` is built from `packages/x/src/sub.ts`.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = dirname(fileURLToPath(import.meta.url));
const packagesDir = join(here, '..', '..', 'packages');
const aliases = readdirSync(packagesDir).flatMap((name) => [
  { find: new RegExp(`^@rnnlm/${name}$`), replacement: join(packagesDir, name, 'src', 'index.ts') },
  { find: new RegExp(`^@rnnlm/${name}/([\\w-]+)$`), replacement: join(packagesDir, name, 'src', '$1.ts') },
]);

export interface PackageTestOptions {
  /** Load the full tfjs runtime on the cpu backend before each test file. */
  tfjs?: boolean;
}

export function packageConfig(name: string, options: PackageTestOptions = {}) {
  return defineConfig({
    resolve: { alias: aliases },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      setupFiles: options.tfjs ? [join(here, 'setup-tfjs.ts')] : [],
      testTimeout: 120_000,
      hookTimeout: 120_000,
    },
  });
}
