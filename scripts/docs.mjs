// Builds the API reference of the published packages with TypeDoc (settings in typedoc.json, entry
// points in each package's typedoc.json) into apps/web/dist/docs, beside the web demo, and fails on what
// would make it wrong or incomplete: a TypeDoc error, a broken {@link}, a type the API uses but does not
// export, an exported symbol without a doc comment. It lists each of those (every warning fails, as with
// `typedoc --treatWarningsAsErrors`, but all of them are printed, not only the first).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'apps', 'web', 'dist', 'docs');
const typedoc = join(
  dirname(createRequire(import.meta.url).resolve('typedoc/package.json')),
  'bin',
  'typedoc',
);
const run = spawnSync(process.execPath, [typedoc, '--out', out, ...process.argv.slice(2)], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
});
const lines = stripVTControlCharacters(`${run.stdout}\n${run.stderr}`).split('\n');

const failures = [];
for (const line of lines) {
  const problem = /^\[(warning|error)\] (.*)$/.exec(line);
  if (!problem || /^Found \d+ errors? and \d+ warnings?/.test(problem[2])) continue;
  failures.push(`${problem[1]}: ${problem[2]}`);
}

if (run.status !== 0 || failures.length > 0) {
  console.error(
    `API reference: ${failures.length} problem(s)${run.status !== 0 ? `, TypeDoc exited ${run.status}` : ''}:`,
  );
  for (const message of failures) console.error(`  ${message}`);
  if (failures.length === 0) console.error(lines.join('\n'));
  process.exit(1);
}
console.log(`API reference: ${out}`);
