import { mergeConfig } from 'vitest/config';
import { packageConfig } from '../../tooling/vitest/shared.ts';

// The CLI's tests run the built `rnnlm` as a subprocess: the global setup brings dist up to date first.
export default mergeConfig(packageConfig('@rnnlm/cli'), {
  test: { globalSetup: ['./test/build-cli.ts'] },
});
