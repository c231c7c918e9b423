// Builds the CLI and the workspace packages it imports before the tests run it as a subprocess. Turbo
// rebuilds only what changed, so this is quick when dist is current (as in CI, which builds first).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export default function setup(): void {
  execFileSync(
    join(root, 'node_modules', '.bin', 'turbo'),
    ['run', 'build', '--filter=@rnnlm/cli...', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
    },
  );
}
