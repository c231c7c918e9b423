import { createRequire } from 'node:module';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** The CLI's version, as `rnnlm --version` prints it (benchmarks record it). */
export const CLI_VERSION = version;
