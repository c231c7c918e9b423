#!/usr/bin/env node
// The web demo's measured `auto` in headless Chromium: serves the built page (apps/web/dist, with the
// cross-origin isolation headers its threads need), fills the form with the reference LSTM's shape
// (lstm, from scratch, SGD lr 1, 35 steps; hidden and batch as asked), starts training, and reads the
// speeds the page measured on each backend (WebGPU, WebGL, wasm with rnnlm's kernels, cpu) before it
// built the model; then stops. Prints one JSON object on stdout. Needs `pnpm build` and the page built
// (`pnpm --filter @rnnlm/web build`), and a Chromium (--chromium, else $CHROMIUM, else the usual paths).
//
//   node scripts/bench-gpu-page.mjs [--hidden 256] [--batch 32] [--quick] [--software] [--timeout-s 300]
//
// --software runs WebGPU on SwiftShader (a CPU adapter: for checking the script, never for speed);
// otherwise Chromium is asked for Vulkan on the GPU. --quick: hidden 8, batch 4, 8 steps.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'apps', 'web', 'dist');
const { values: args } = parseArgs({
  options: {
    hidden: { type: 'string', default: '256' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '35' },
    quick: { type: 'boolean', default: false },
    software: { type: 'boolean', default: false },
    chromium: { type: 'string' },
    'timeout-s': { type: 'string', default: '300' },
  },
});
const shape = args.quick
  ? { hidden: 8, batch: 4, steps: 8 }
  : { hidden: Number(args.hidden), batch: Number(args.batch), steps: Number(args.steps) };

/** Ends with one JSON object saying why there is no measurement. */
function fail(why) {
  process.stdout.write(`${JSON.stringify({ page: null, shape, error: why })}\n`);
  process.exit(1);
}

const { env } = process;
const executable = [
  args.chromium,
  env.CHROMIUM,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
]
  .filter(Boolean)
  .find((path) => existsSync(path));
if (!executable) fail('no Chromium found (pass --chromium PATH or set CHROMIUM)');
if (!existsSync(join(DIST, 'index.html'))) fail('the page is not built: pnpm --filter @rnnlm/web build');
let chromium;
try {
  ({ chromium } = createRequire(join(ROOT, 'apps', 'web', 'package.json'))('playwright-core'));
} catch (error) {
  fail(`playwright-core did not load (pnpm install first): ${error.message}`);
}

const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const file = normalize(join(DIST, path === '/' ? 'index.html' : path));
  if (!file.startsWith(DIST) || !existsSync(file)) return void res.writeHead(404).end();
  res
    .writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    })
    .end(readFileSync(file));
});
await new Promise((done) => server.listen(0, '127.0.0.1', done));
const base = `http://127.0.0.1:${server.address().port}/`;

const gpuFlags = args.software
  ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader']
  : ['--enable-features=Vulkan', '--use-angle=vulkan', '--ignore-gpu-blocklist'];
let context;
const began = performance.now();
try {
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rnnlm-bench-page-')), {
    executablePath: executable,
    headless: true,
    args: [
      '--no-sandbox',
      '--no-first-run',
      '--disable-background-networking',
      '--enable-unsafe-webgpu',
      ...gpuFlags,
    ],
  });
} catch (error) {
  server.close();
  fail(`Chromium did not start: ${error.message.split('\n')[0]}`);
}
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const timeout = Number(args['timeout-s']) * 1000;
  await page.goto(`${base}index.html`);
  await page.waitForFunction(
    () => /^(webgpu|webgl|wasm|cpu)$/.test(document.querySelector('#backend-name')?.textContent ?? ''),
    null,
    { timeout },
  );
  const adapter = await page.evaluate(async () => {
    const found = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
    if (!found) return null;
    const { vendor, architecture, description } = found.info ?? {};
    return { vendor, architecture, description, fallback: found.info?.isFallbackAdapter ?? null };
  });
  // A pasted text long enough for a minibatch of the shape (the speeds are measured on random ids).
  const text =
    'the time traveller for so it will be convenient to speak of him was expounding a recondite matter to us '.repeat(
      Math.ceil((shape.batch * shape.steps * 3) / 100) + 20,
    );
  await page.selectOption('#corpus', 'paste');
  await page.fill('#paste', text);
  await page.fill('#max-tokens', String(text.length));
  await page.selectOption('#cell', 'lstm');
  await page.selectOption('#impl', 'scratch');
  await page.selectOption('#optimizer', 'sgd');
  for (const [id, value] of Object.entries({
    hidden: shape.hidden,
    layers: 1,
    lr: 1,
    epochs: 1,
    'batch-size': shape.batch,
    'num-steps': shape.steps,
  })) {
    await page.fill(`#${id}`, String(value));
  }
  await page.click('#train');
  await page.waitForFunction(
    () =>
      /measured:/.test(document.querySelector('#backend-reason')?.textContent ?? '') ||
      !document.querySelector('#error')?.hidden,
    null,
    { timeout, polling: 500 },
  );
  const [chosen, reason, error] = await Promise.all([
    page.textContent('#backend-name'),
    page.textContent('#backend-reason'),
    page.evaluate(() =>
      document.querySelector('#error')?.hidden ? null : document.querySelector('#error')?.textContent,
    ),
  ]);
  if (!(await page.isDisabled('#stop'))) await page.click('#stop');
  const measured = [...(reason ?? '').matchAll(/(webgpu|webgl|wasm|cpu) ([\d,.]+) tokens\/s/g)].map(
    ([, backend, speed]) => ({
      backend,
      tokens_per_s: Number(speed.replace(/,/g, '')),
    }),
  );
  process.stdout.write(
    `${JSON.stringify({
      page: { chosen, measured, reason, error },
      shape: { model: 'lstm-scratch, sgd lr 1', ...shape },
      adapter,
      software_adapter: args.software,
      chromium: executable,
      seconds: Math.round((performance.now() - began) / 1000),
    })}\n`,
  );
  process.exitCode = measured.length > 0 ? 0 : 1;
} catch (error) {
  process.stdout.write(`${JSON.stringify({ page: null, shape, error: error.message.split('\n')[0] })}\n`);
  process.exitCode = 1;
} finally {
  await context.close();
  server.close();
}
