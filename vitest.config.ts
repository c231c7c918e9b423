import { defineConfig } from 'vitest/config';

// One command runs every package's tests: each package and app has its own vitest.config.ts. The
// kernels' tests run twice, on their relaxed-SIMD build (fused multiply-add) where it runs and on the
// plain-SIMD build it falls back to.
export default defineConfig({
  test: {
    projects: [
      'packages/*',
      'apps/*',
      {
        extends: './packages/kernels/vitest.config.ts',
        root: './packages/kernels',
        test: { name: '@rnnlm/kernels (plain SIMD)', env: { RNNLM_KERNELS_SIMD: 'plain' } },
      },
    ],
  },
});
