import { defineConfig } from 'vitest/config';

// One command runs every package's tests: each package and app has its own vitest.config.ts.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
