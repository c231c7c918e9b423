// Shared vitest settings for every package. Tests import sibling packages by name; the alias points
// those names at their sources, so tests run against the code as written, without a build first.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = dirname(fileURLToPath(import.meta.url));
const packagesDir = join(here, '..', '..', 'packages');
const aliases = readdirSync(packagesDir).map((name) => ({
  find: new RegExp(`^@rnnlm/${name}$`),
  replacement: join(packagesDir, name, 'src', 'index.ts'),
}));

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
