/**
 * The demo as a person uses it, in Debian's Chromium driven by playwright-core: the built page served
 * from a sub-path on 127.0.0.1 (cross-origin isolated, as the deploy guide says), a tiny model trained
 * on WebGL (SwiftShader), the chart and a sample, generation, the saved model found again after a
 * reload onto wasm, training there in the fused kernels' threads, that model exported and continued by
 * the CLI, a checkpoint written by `rnnlm train` imported, and no console errors. Leaves screenshots in
 * apps/web/test-results/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(app, 'dist');
const CLI = join(app, '..', 'cli', 'dist', 'bin.js');

/** Runs the built `rnnlm` on the cpu backend and returns its stdout (it throws on a non-zero exit). */
function cli(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, '--backend', 'cpu'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI)
  throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (see .ci/run)`);

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

describe.skipIf(!haveChromium)('the web demo in Chromium', () => {
  let server: Server;
  let base = '';
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(join(dist, 'index.html')))
      execFileSync('pnpm', ['exec', 'vite', 'build'], { cwd: app, stdio: 'inherit' });
    if (!existsSync(CLI)) execFileSync('pnpm', ['--filter', '@rnnlm/cli...', 'build'], { stdio: 'inherit' });
    // Served under /demo/ to prove the build works from a sub-path.
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (!path.startsWith('/demo/')) return void res.writeHead(404).end();
      const file = normalize(join(dist, path.slice('/demo/'.length) || 'index.html'));
      if (!file.startsWith(dist) || !existsSync(file)) return void res.writeHead(404).end();
      res
        .writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          // Cross-origin isolation, as the deploy guide asks: the kernels may then use threads.
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-embedder-policy': 'require-corp',
        })
        .end(readFileSync(file));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/demo/`;
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'rnnlm-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--use-angle=swiftshader',
        '--enable-unsafe-swiftshader',
        // WebGPU on SwiftShader's Vulkan, a software adapter: slow, but the page's WebGPU path runs.
        '--enable-unsafe-webgpu',
      ],
      viewport: { width: 1100, height: 1500 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
    });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  });

  it('trains on WebGL, charts, samples, generates, keeps the model, imports a CLI checkpoint', async () => {
    await page.goto(`${base}index.html?backend=webgl`);
    await expect.poll(() => page.textContent('#backend-name'), { timeout: 60_000 }).toBe('webgl');

    for (const [id, value] of Object.entries({
      hidden: '8',
      epochs: '4',
      'batch-size': '4',
      'num-steps': '8',
      'sample-every': '2',
      'max-tokens': '1200',
      lr: '0.05',
    })) {
      await page.fill(`#${id}`, value);
    }
    const chartBefore = await page.$eval('#chart', (canvas) => (canvas as HTMLCanvasElement).toDataURL());
    await page.click('#train');
    await expect
      .poll(() => page.textContent('#status'), { timeout: 120_000 })
      .toMatch(/done after epoch 4; saved in this browser/);
    expect(await page.$eval('#chart', (canvas) => (canvas as HTMLCanvasElement).toDataURL())).not.toBe(
      chartBefore,
    );
    expect(await page.locator('#samples li').count()).toBe(2);
    // The prefix keeps its trailing space: the model continues with a new word.
    expect(await page.textContent('#samples li')).toMatch(/^epoch 2: once upon a .{60}$/s);

    await page.fill('#length', '30');
    await page.click('#generate');
    await expect
      .poll(async () => (await page.textContent('#output'))?.length ?? 0, { timeout: 30_000 })
      .toBe('once upon a '.length + 30);
    // The status line says where the steps ran: the page's model runs on the WebAssembly token step.
    await expect
      .poll(() => page.textContent('#status'))
      .toBe('generated 30 tokens on the WebAssembly token step');

    mkdirSync(join(app, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(app, 'test-results', 'demo.png'), fullPage: true });

    // Switching the backend reloads the page on it; the saved model is still there.
    await page.selectOption('#backend-choice', 'wasm');
    await expect.poll(() => page.textContent('#backend-name'), { timeout: 60_000 }).toBe('wasm');
    expect(page.url()).toMatch(/\?backend=wasm$/);
    // On wasm the recurrent layers run in the fused kernels, on a thread per core (the page is isolated),
    // in their relaxed-SIMD build (Chromium has had relaxed SIMD since 114).
    const cores = await page.evaluate(() => Math.min(8, navigator.hardwareConcurrency));
    expect(await page.textContent('#backend-kernels')).toBe(
      `recurrent layers: fused WebAssembly SIMD kernels (relaxed SIMD, fused multiply-add) on ${cores} thread${cores === 1 ? '' : 's'}`,
    );
    // The list of saved models fills in once IndexedDB answers.
    await expect.poll(() => page.locator('#saved option').count(), { timeout: 10_000 }).toBe(1);
    await page.click('#open');
    await expect.poll(() => page.textContent('#status')).toMatch(/^opened lstm-8-.*: scratch lstm, 1 x 8/);

    // Training runs there too, its layers in the kernels' threads, here with the rate halved every epoch.
    await page.fill('#epochs', '2');
    await page.selectOption('#lr-schedule', 'step');
    await page.fill('#dropout', '0.2');
    await page.selectOption('#dropout-mode', 'variational');
    await page.selectOption('#init', 'uniform');
    await page.click('#train');
    await expect
      .poll(() => page.textContent('#status'), { timeout: 120_000 })
      .toMatch(/done after epoch 2; saved in this browser/);
    await expect.poll(() => page.locator('#saved option').count(), { timeout: 10_000 }).toBe(2);
    await page.screenshot({ path: join(app, 'test-results', 'demo-wasm.png'), fullPage: true });

    // The page's model, exported as files, generates text in the CLI.
    const exported = mkdtempSync(join(tmpdir(), 'rnnlm-page-export-'));
    const downloads: Promise<void>[] = [];
    let downloadTo = exported;
    page.on('download', (d) => downloads.push(d.saveAs(join(downloadTo, d.suggestedFilename()))));
    await page.click('#export');
    await expect.poll(() => downloads.length, { timeout: 10_000 }).toBe(2);
    await Promise.all(downloads);
    const fromPage = cli(['generate', '--model', exported, '--prefix', 'once upon a ', '--length', '20']);
    expect(fromPage).toMatch(/^once upon a .{20}\n$/s);
    // The schedule the form chose trained the model and travels in its checkpoint, to resume from.
    const topology = JSON.parse(readFileSync(join(exported, 'model.json'), 'utf8')).modelTopology;
    // And the dropout and initialisation it set are the model's, in its checkpoint.
    expect(topology.model).toMatchObject({ dropout: 0.2, dropoutMode: 'variational', init: 'uniform' });
    const training = topology.training;
    expect(training.schedule.config).toMatchObject({ name: 'step', gamma: 0.5, stepEvery: 1 });
    // (the reload onto wasm put the form's default rate, 0.01, back)
    expect(training.history.map((h: { lr: number }) => h.lr)).toEqual([0.01, 0.005]);

    // "Export for tf.loadLayersModel" downloads what `rnnlm export` writes from that checkpoint: the same
    // topology, the same weight bytes, the same vocabulary (the CLI's export is checked against tfjs).
    downloadTo = mkdtempSync(join(tmpdir(), 'rnnlm-page-tfjs-'));
    downloads.length = 0;
    await page.click('#export-tfjs');
    await expect.poll(() => downloads.length, { timeout: 10_000 }).toBe(5);
    await Promise.all(downloads);
    const fromCli = join(downloadTo, 'cli');
    cli(['export', '--format', 'tfjs-layers', '--model', exported, '--out', fromCli]);
    const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
    for (const [pageName, cliName] of [
      ['rnnlm-tfjs', '.'],
      ['rnnlm-tfjs-step', 'step'],
    ] as const) {
      const pageJson = json(join(downloadTo, `${pageName}.json`));
      expect(pageJson.modelTopology).toEqual(json(join(fromCli, cliName, 'model.json')).modelTopology);
      expect(readFileSync(join(downloadTo, `${pageName}.weights.bin`))).toEqual(
        readFileSync(join(fromCli, cliName, 'weights.bin')),
      );
    }
    expect(json(join(downloadTo, 'rnnlm-tfjs-vocabulary.json'))).toEqual(
      json(join(fromCli, 'vocabulary.json')),
    );

    // A checkpoint written by `rnnlm train` opens in the page.
    const trained = mkdtempSync(join(tmpdir(), 'rnnlm-cli-ckpt-'));
    writeFileSync(
      join(trained, 'corpus.txt'),
      'the cat sat on the mat and the dog sat on the log '.repeat(20),
    );
    cli([
      'train',
      ...['--corpus', join(trained, 'corpus.txt'), '--token', 'word', '--impl', 'layers', '--cell', 'gru'],
      ...['--hidden', '6', '--layers', '2', '--batch-size', '2', '--num-steps', '4', '--epochs', '1'],
      ...['--sample-every', '0', '--out', join(trained, 'model')],
    ]);
    // model.json and the weights file it names (the CLI's saves alternate between two names).
    const saved = readdirSync(join(trained, 'model')).filter((f) => f === 'model.json' || f.endsWith('.bin'));
    await page.setInputFiles(
      '#import',
      saved.map((f) => join(trained, 'model', f)),
    );
    await expect
      .poll(() => page.textContent('#status'))
      .toMatch(/^opened imported-model-\d+: layers gru, 2 x 6, vocabulary 9, words/);
    await page.fill('#prefix', 'the cat');
    await page.fill('#length', '3');
    await page.click('#generate');
    await expect
      .poll(async () => (await page.textContent('#output'))?.split(' ').length ?? 0, { timeout: 30_000 })
      .toBe(5);
    await expect
      .poll(() => page.textContent('#status'))
      .toBe('generated 3 tokens on the WebAssembly token step');
    await expect.poll(() => page.locator('#saved option').count(), { timeout: 10_000 }).toBe(3);

    // Bad input is a clear message on the page, not a console error.
    await page.selectOption('#corpus', 'paste');
    await page.fill('#paste', 'too short');
    await page.click('#train');
    await expect
      .poll(() => page.textContent('#error'))
      .toMatch(/the text has \d+ char tokens, too few for batches of 16 x 32 steps \(\d+ needed\)/);

    // Several files read in chunks as one text (in name order, each ending a line); bad bytes name the file.
    await page.selectOption('#corpus', 'file');
    await page.setInputFiles('#file', [
      { name: 'b.txt', mimeType: 'text/plain', buffer: Buffer.from('three four five') },
      { name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('one two') },
    ]);
    await page.click('#train');
    await expect
      .poll(() => page.textContent('#error'))
      .toMatch(/the text has 22 char tokens, too few for batches/); // 'one twothree four five': lines run together
    await page.setInputFiles('#file', [
      { name: 'bad.txt', mimeType: 'text/plain', buffer: Buffer.from([0x61, 0x62, 0xff]) },
    ]);
    await page.click('#train');
    await expect
      .poll(() => page.textContent('#error'))
      .toMatch(/bad\.txt is not valid UTF-8 text \(invalid byte 0xff at byte offset 2\)/);

    expect(errors).toEqual([]);
  }, 300_000);

  it('with auto, times training steps on each backend before a new model and remembers the fastest', async () => {
    await page.goto(`${base}index.html`);
    await expect
      .poll(() => page.textContent('#backend-name'), { timeout: 60_000 })
      .toMatch(/^(webgpu|webgl|wasm|cpu)$/);
    await page.selectOption('#corpus', 'sample');
    for (const [id, value] of Object.entries({
      hidden: '8',
      epochs: '1',
      'batch-size': '4',
      'num-steps': '8',
    })) {
      await page.fill(`#${id}`, value);
    }
    const name = '(webgpu|webgl|wasm|cpu)';
    const speeds = new RegExp(`^\\(measured: ${Array(4).fill(`${name} [\\d,.]+ tokens/s`).join(', ')}\\)$`);
    await page.click('#train');
    await expect.poll(() => page.textContent('#status'), { timeout: 120_000 }).toMatch(/done after epoch 1/);
    const reason = (await page.textContent('#backend-reason')) ?? '';
    const measured = speeds.exec(reason);
    expect(measured, reason).not.toBeNull();
    // Every backend trained: WebGPU (on the software adapter here) among them.
    expect(new Set(measured!.slice(1))).toEqual(new Set(['webgpu', 'webgl', 'wasm', 'cpu']));
    expect(await page.textContent('#backend-name')).toBe(measured![1]); // the fastest, listed first

    await page.click('#train');
    await expect.poll(() => page.textContent('#status'), { timeout: 120_000 }).toMatch(/done after epoch 1/);
    expect(await page.textContent('#backend-reason')).toMatch(/ tokens\/s \(remembered\)\)$/);
    expect(await page.textContent('#backend-name')).toBe(measured![1]);
    expect(errors).toEqual([]);
  }, 300_000);
});
