#!/usr/bin/env node
// The size of the smallest browser app that loads a saved model and generates (size/main.ts: tfjs-core,
// its cpu backend and `@rnnlm/train/generate`), built with this app's bundler (Vite) and minified, as
// one JSON line: what the page loads at start (`initial`, with one of the kernels' two builds), and the
// chunk a model of impl `layers` loads on demand (`on_demand`), each minified and gzipped. It checks
// that the start holds neither the trainer nor tfjs-layers, and exits 1 naming the modules when it does.
// Needs `pnpm build` (the packages' dist).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(WEB, 'size', 'main.ts');
/** Modules an app that only generates must not load at start. */
const FORBIDDEN = [
  /@tensorflow[+/]tfjs-layers/,
  /train\/dist\/(trainer|optimizers|run|export|create-model|restore)\.js$/,
  /layers\/dist\//,
];

const result = await build({
  root: WEB,
  configFile: false,
  logLevel: 'error',
  build: { write: false, minify: true, modulePreload: false, rollupOptions: { input: ENTRY } },
});
const chunks = (Array.isArray(result) ? result : [result])
  .flatMap((r) => r.output)
  .filter((o) => o.type === 'chunk');
const byName = new Map(chunks.map((c) => [c.fileName, c]));

/** The chunks loaded with `name` before it runs (its static imports, transitively). */
function staticClosure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const dep of byName.get(name)?.imports ?? []) staticClosure(dep, seen);
  return seen;
}

const sizes = (names) => {
  const code = [...names].map((n) => byName.get(n).code);
  return {
    files: names.size,
    minified_bytes: code.reduce((sum, c) => sum + Buffer.byteLength(c), 0),
    gzip_bytes: code.reduce((sum, c) => sum + gzipSync(c, { level: 9 }).length, 0),
  };
};

const entry = chunks.find((c) => c.isEntry);
const closure = staticClosure(entry.fileName);
// The kernels' two builds (relaxed and plain SIMD) are chunks of their own, of which the page imports
// one at start: the start counts the larger, and neither is on demand.
const KERNEL_BUILD = /kernels\/generated\/(plain|relaxed)\.js$/;
const builds = chunks
  .filter((c) => !closure.has(c.fileName))
  .filter((c) => Object.keys(c.modules).some((m) => KERNEL_BUILD.test(m.replaceAll('\\', '/'))))
  .sort((a, b) => b.code.length - a.code.length)
  .map((c) => c.fileName);
const initial = new Set([...closure, ...builds.slice(0, 1)]);
const onDemand = new Set(chunks.map((c) => c.fileName).filter((n) => !closure.has(n) && !builds.includes(n)));
const forbidden = [...initial]
  .flatMap((n) => Object.keys(byName.get(n).modules))
  .filter((m) => FORBIDDEN.some((f) => f.test(m.replaceAll('\\', '/'))))
  .map((m) => m.replace(/^.*node_modules\//, '').replace(/^.*packages\//, 'packages/'));
const report = {
  app: 'apps/web/size/main.ts',
  bundler: 'vite',
  initial: sizes(initial),
  kernel_builds: builds.length,
  on_demand: sizes(onDemand),
  forbidden_at_start: [...new Set(forbidden)],
};
console.log(JSON.stringify(report));
if (forbidden.length > 0) process.exitCode = 1;
