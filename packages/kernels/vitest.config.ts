import { packageConfig } from '@rnnlm/vitest-config';
import { mergeConfig } from 'vitest/config';

// With relaxed SIMD turned on where Node has it behind a flag (the default build is then the relaxed
// one); the repository's vitest.config.ts runs the same tests a second time on the plain build.
export default mergeConfig(packageConfig('@rnnlm/kernels'), {
  test: { setupFiles: ['src/test-utils/relaxed-simd-setup.ts'] },
});
