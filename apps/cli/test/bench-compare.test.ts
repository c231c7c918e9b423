// scripts/bench-compare.mjs (the root's `pnpm bench:compare`), kept cheap: a tiny model on the cpu
// backend, and instead of PyTorch either no reference at all or a stand-in script.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { timeMachinePath } from '../../../fixtures/timemachine.js';
import {
  comparisonRow,
  formatTable,
  INSTALL_HINT,
  trainingFlopsPerToken,
} from '../../../scripts/bench-compare.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '..', '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'bench-compare.mjs');
const TIME_MACHINE = timeMachinePath();
const tiny = [
  '--hidden',
  '8',
  '--epochs',
  '2',
  '--max-tokens',
  '2000',
  '--backend',
  'cpu',
  '--corpus',
  TIME_MACHINE,
];

/**
 * A stand-in for the Python that runs the reference: a shell script that appends its arguments to
 * `calls` (one line per call) and then runs `body`.
 */
function fakePython(body: string): { python: string; calls: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rnnlm-compare-'));
  const python = join(dir, 'python3');
  const calls = join(dir, 'calls');
  writeFileSync(python, `#!/bin/sh\necho "$@" >> '${calls}'\n${body}\n`);
  chmodSync(python, 0o755);
  return { python, calls };
}

function runCompare(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], {
      env: { ...process.env, RNNLM_TORCH_REFERENCE: '', RNNLM_PYTHON: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('bench:compare', () => {
  it("without the reference, says how to install it and prints rnnlm's numbers with torch null", async () => {
    const run = await runCompare(['--', ...tiny, '--reference', join(tmpdir(), 'no-such-reference.py')]);
    expect(run.code, run.stderr).toBe(0);
    const rows = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows).toEqual([
      {
        model: 'lstm-scratch',
        layers: 1,
        hidden: 8,
        token: 'char',
        epochs: 2,
        rnnlm_tokens_per_s: expect.any(Number),
        torch_tokens_per_s: null,
        ratio: null,
        rnnlm_final_ppl: expect.any(Number),
        torch_final_ppl: null,
        backend: 'cpu',
        // The CLI runs the kernels' relaxed-SIMD build (turning it on on Node 20), and the peak is its.
        simd: 'relaxed',
        rnnlm_gflops: expect.any(Number),
        simd_peak_gflops: expect.any(Number),
        peak_pct: expect.any(Number),
      },
    ]);
    expect(rows[0].rnnlm_tokens_per_s).toBeGreaterThan(0);
    // The tiny LSTM (H 8, V 28): 3 x 2 x (8*32 + 8*28) FLOPs a token.
    expect(rows[0].rnnlm_gflops).toBeCloseTo((2880 * rows[0].rnnlm_tokens_per_s) / 1e9, 2);
    expect(rows[0].simd_peak_gflops).toBeGreaterThan(0);
    expect(run.stderr).toMatch(
      /WebAssembly SIMD peak .* GFLOP\/s: multiply \+ add [\d.]+, fused multiply-add [\d.]+; the relaxed build's: /,
    );
    expect(run.stderr).toContain(INSTALL_HINT);
    expect(run.stderr).toMatch(/no-such-reference\.py/);
    expect(run.stderr).toMatch(/^model +layers +hidden .*\nlstm-scratch +1 +8 +char +2 /m);
  });

  it("runs the repository's reference, bench/torch_reference.py, unless told otherwise", async () => {
    const { python, calls } = fakePython(
      `case "$*" in *--version*) exit 0;; esac\necho '{"impl": "torch", "tokens_per_s": 500.0, "final_ppl": 27.1}'`,
    );
    const run = await runCompare(['--', ...tiny, '--python', python]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ torch_tokens_per_s: 500, torch_final_ppl: 27.1 });
    const [probe, bench] = readFileSync(calls, 'utf8').trimEnd().split('\n');
    const inRepo = join(ROOT, 'bench', 'torch_reference.py');
    expect(existsSync(inRepo)).toBe(true);
    expect(probe).toBe(`${inRepo} --version`);
    expect(bench!.startsWith(`${inRepo} --model lstm-scratch --layers 1 --hidden 8 `)).toBe(true);
    expect(bench!.endsWith(` --corpus ${TIME_MACHINE} --threads 1`)).toBe(true);
  });

  it('says how to install torch when the Python lacks it, and prints rnnlm alone', async () => {
    const { python } = fakePython(`echo "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1`);
    const run = await runCompare(['--', ...tiny], { RNNLM_PYTHON: python });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ model: 'lstm-scratch', torch_tokens_per_s: null });
    expect(run.stderr).toContain(`torch is not installed for ${python}`);
    expect(run.stderr).toContain(INSTALL_HINT);
  });

  it.skipIf(!existsSync('/usr/bin/python3'))(
    'runs the reference after rnnlm on the same corpus file, on one OpenBLAS thread, and compares',
    async () => {
      // A stand-in for torch_reference.py: checks how it was called and answers like the reference.
      const reference = join(mkdtempSync(join(tmpdir(), 'rnnlm-compare-')), 'fake_reference.py');
      writeFileSync(
        reference,
        [
          'import json, os, sys',
          "if '--version' in sys.argv: sys.exit(0)",
          'args = sys.argv[1:]',
          'flag = lambda name: args[args.index(name) + 1]',
          `assert flag('--corpus') == ${JSON.stringify(TIME_MACHINE)}, args`,
          "assert flag('--threads') == '1' and flag('--model') == 'lstm-scratch' and flag('--epochs') == '2', args",
          "assert flag('--hidden') == '8' and flag('--max-tokens') == '2000' and '--backend' not in args, args",
          "assert os.environ['OPENBLAS_NUM_THREADS'] == '1' and 'openblas-pthread' in os.environ['LD_LIBRARY_PATH']",
          "print(json.dumps({'impl': 'torch', 'model': 'lstm-scratch', 'tokens_per_s': 1000.0, 'final_ppl': 26.5}))",
        ].join('\n'),
      );
      const run = await runCompare(tiny, { RNNLM_TORCH_REFERENCE: reference });
      expect(run.code, run.stderr).toBe(0);
      const row = JSON.parse(run.stdout);
      expect(row).toMatchObject({ model: 'lstm-scratch', torch_tokens_per_s: 1000, torch_final_ppl: 26.5 });
      // The script rounds the ratio to three decimals (a half-way value rounds up, beyond toBeCloseTo).
      expect(row.ratio).toBe(Math.round((row.rnnlm_tokens_per_s / 1000) * 1000) / 1000);
      expect(run.stderr).not.toContain(INSTALL_HINT);
    },
  );

  it.skipIf(!existsSync('/usr/bin/python3'))(
    'with --repeat, alternates the two and keeps the fastest run of each',
    async () => {
      // A stand-in that answers 1000, then 3000, then 2000 tokens/s, counting its calls in a file.
      const dir = mkdtempSync(join(tmpdir(), 'rnnlm-compare-'));
      const reference = join(dir, 'fake_reference.py');
      const calls = join(dir, 'calls');
      writeFileSync(
        reference,
        [
          'import json, os, sys',
          "if '--version' in sys.argv: sys.exit(0)",
          `path = ${JSON.stringify(calls)}`,
          'n = int(open(path).read()) if os.path.exists(path) else 0',
          "open(path, 'w').write(str(n + 1))",
          "print(json.dumps({'impl': 'torch', 'tokens_per_s': [1000.0, 3000.0, 2000.0][n], 'final_ppl': 20.0 + n}))",
        ].join('\n'),
      );
      const run = await runCompare([...tiny, '--repeat', '3'], { RNNLM_TORCH_REFERENCE: reference });
      expect(run.code, run.stderr).toBe(0);
      const row = JSON.parse(run.stdout);
      expect(row).toMatchObject({ torch_tokens_per_s: 3000, torch_final_ppl: 21 });
      expect(readFileSync(calls, 'utf8')).toBe('3');
      expect(run.stderr.match(/^bench: lstm-scratch/gm)).toHaveLength(3);
    },
  );

  it('passes bad flags to rnnlm, which rejects them', async () => {
    const run = await runCompare(['--model', 'transformer', '--reference', '/nowhere']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/argument 'transformer' is invalid/);
  });

  it('lays the comparison out as a table', () => {
    const rnnlm = {
      model: 'lstm',
      layers: 2,
      hidden: 256,
      token: 'char',
      epochs: 500,
      tokens_per_s: 5000,
      final_ppl: 1.1,
      backend: 'wasm',
      simd: 'relaxed',
      vocab_size: 28,
    };
    const row = comparisonRow(rnnlm, { tokens_per_s: 10834.4, final_ppl: 1.0224 }, 50);
    expect(row.ratio).toBe(0.461);
    // Per token: layer 0's recurrent product 256 x 1024, layer 1's input and recurrent ones as much
    // each, the head 256 x 28; 2 FLOPs a multiply-add, forward and backward 3x: 4,761,600 FLOPs.
    expect(row.rnnlm_gflops).toBe(23.81);
    expect(row.peak_pct).toBe(47.6);
    expect(comparisonRow(rnnlm, null)).toMatchObject({
      torch_tokens_per_s: null,
      ratio: null,
      simd_peak_gflops: null,
      peak_pct: null,
    });
    expect(formatTable([row]).split('\n')).toEqual([
      'model  layers  hidden  token  epochs  rnnlm tok/s  torch tok/s  ratio  rnnlm ppl  torch ppl  GFLOP/s  % peak  backend  simd',
      'lstm        2     256  char      500         5000      10834.4  0.461        1.1     1.0224    23.81    47.6  wasm     relaxed',
    ]);
  });

  it('counts a GRU and an RNN by their gates, one layer with no input product', () => {
    const base = { layers: 1, hidden: 100, vocab_size: 10 };
    expect(trainingFlopsPerToken({ ...base, model: 'gru-scratch' })).toBe(6 * (100 * 300 + 100 * 10));
    expect(trainingFlopsPerToken({ ...base, model: 'rnn' })).toBe(6 * (100 * 100 + 100 * 10));
    expect(() => trainingFlopsPerToken({ ...base, model: 'transformer' })).toThrow(/transformer/);
  });
});
