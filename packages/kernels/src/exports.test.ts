// The named parameters of exports.ts against the AssemblyScript sources they mirror and against the
// compiled module itself: a kernel whose signature changes without exports.ts fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kernelBinary } from './binary.js';
import { JOB_FUNCTIONS, JOB_PARAMETERS, positional } from './exports.js';

const assemblyDir = new URL('../assembly/', import.meta.url);

/** Each exported function's parameter names, read from the AssemblyScript sources. */
function assemblySignatures(): Map<string, string[]> {
  const signatures = new Map<string, string[]>();
  for (const file of readdirSync(assemblyDir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(new URL(file, assemblyDir), 'utf8');
    for (const match of source.matchAll(/export function (\w+)\(([^)]*)\)/g)) {
      const names = match[2]!
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '')
        .map((p) => p.split(':')[0]!.trim());
      signatures.set(match[1]!, names);
    }
  }
  return signatures;
}

describe('the WebAssembly exports', () => {
  it('take the parameters exports.ts names, in its order, then tid and nt', () => {
    const signatures = assemblySignatures();
    for (const fn of JOB_FUNCTIONS) {
      expect(signatures.get(fn), fn).toEqual([...JOB_PARAMETERS[fn], 'tid', 'nt']);
    }
  });

  it('are exported by the compiled module with that many parameters', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(kernelBinary('simd')), {
      env: { memory },
    });
    for (const fn of JOB_FUNCTIONS) {
      const exported = instance.exports[fn] as (...args: number[]) => void;
      expect(typeof exported, fn).toBe('function');
      expect(exported.length, fn).toBe(JOB_PARAMETERS[fn].length + 2);
    }
  });
});

describe('positional', () => {
  it('puts named arguments in the order of the signature, flags as 0 and 1', () => {
    const args = { a: 64, aGroup: 64, aRow: 16, aK: 4, bp: 128, K: 4, M: 5, N: 6, c: 256, ldc: 6 };
    expect(positional('gemm', { ...args, accumulate: true, splitRows: false, sched: 512 })).toEqual([
      64, 64, 16, 4, 128, 4, 5, 6, 256, 6, 1, 0, 512,
    ]);
    expect(positional('fillRows', { xg: 4, N: 3, G: 2, b: 1 })).toEqual([1, 2, 3, 4]);
  });

  // Checked by typecheck (pnpm typecheck), not at run time: each @ts-expect-error line fails it if the
  // line compiles.
  it('rejects a missing, misspelt or extra argument at typecheck', () => {
    const typeChecks = () => [
      // @ts-expect-error G is missing
      positional('fillRows', { b: 1, N: 3, xg: 4 }),
      // @ts-expect-error xg misspelt
      positional('fillRows', { b: 1, G: 2, N: 3, xG: 4 }),
      // @ts-expect-error one argument too many
      positional('fillRows', { b: 1, G: 2, N: 3, xg: 4, tid: 0 }),
      // @ts-expect-error a flag is a boolean, not a number
      positional('rnnForward', {
        ...{
          xp: 0,
          ids: 0,
          wx: 0,
          bias: 0,
          hbuf: 0,
          wp: 0,
          T: 1,
          B: 1,
          H: 1,
          reverse: 1,
          scratch: 0,
          sched: 0,
        },
      }),
    ];
    // At run time a missing argument becomes NaN: the reason the names are checked before.
    expect(typeChecks()[0]).toEqual([1, Number.NaN, 3, 4]);
  });
});
