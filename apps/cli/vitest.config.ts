import { packageConfig } from '@rnnlm/vitest-config';
import { mergeConfig } from 'vitest/config';

// The CLI's tests run the built `rnnlm` as a subprocess: the global setup brings dist up to date first.
export default mergeConfig(packageConfig('@rnnlm/cli'), {
  test: { globalSetup: ['./test/build-cli.ts'] },
});
