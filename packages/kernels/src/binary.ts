/**
 * The compiled kernels in two flavours (scripts/build-wasm.mjs): `relaxed`, with relaxed SIMD's fused
 * multiply-add for the products, and `plain` WebAssembly SIMD, the fallback where relaxed SIMD does not
 * validate (Node 20 without V8's flag, browsers without it). Each flavour is a module of its own, and
 * only the chosen one is imported (a page downloads one), the other only if asked for by name.
 */
import { relaxedSimdSupported } from './relaxed-simd.js';

/** Which build of the kernels runs: relaxed SIMD (fused multiply-add) or plain SIMD. */
export type SimdFlavour = 'relaxed' | 'plain';

interface Binaries {
  SIMD: string;
  SIMD_THREADS: string;
}

const loaded: Partial<Record<SimdFlavour, Binaries>> = {};

/** Imports a flavour's binaries (once); rejects where it cannot run here. */
export async function loadKernelBinaries(flavour: SimdFlavour): Promise<void> {
  if (loaded[flavour]) return;
  if (flavour === 'relaxed' && !relaxedSimdSupported()) throw new Error(RELAXED_MISSING);
  // Two literal imports, so that bundlers make each flavour a chunk of its own.
  loaded[flavour] =
    flavour === 'relaxed' ? await import('../generated/relaxed.js') : await import('../generated/plain.js');
}

const RELAXED_MISSING =
  'rnnlm kernels: this JavaScript engine has no WebAssembly relaxed SIMD (Node 20: run node with ' +
  '--experimental-wasm-relaxed-simd; or leave RNNLM_KERNELS_SIMD unset to fall back to plain SIMD)';

/**
 * The process's flavour: RNNLM_KERNELS_SIMD (an environment variable where there is one) = `plain`
 * or `relaxed` forces one, for tests and benchmarks; unset or `auto`, relaxed where it validates.
 * `problem` says why none can run as asked (then the kernels are off, saying so).
 */
function chooseFlavour(): { flavour: SimdFlavour; problem: string | null } {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const asked = env?.RNNLM_KERNELS_SIMD ?? 'auto';
  if (asked === 'plain') return { flavour: 'plain', problem: null };
  if (asked === 'relaxed' || asked === 'auto' || asked === '') {
    if (relaxedSimdSupported()) return { flavour: 'relaxed', problem: null };
    return { flavour: 'plain', problem: asked === 'relaxed' ? RELAXED_MISSING : null };
  }
  return {
    flavour: 'plain',
    problem: `rnnlm kernels: RNNLM_KERNELS_SIMD must be auto, relaxed or plain, got '${asked}'`,
  };
}

const choice = chooseFlavour();
/** The flavour runtimes get unless told otherwise. */
export const defaultFlavour: SimdFlavour = choice.flavour;
/** Why the kernels must not run as RNNLM_KERNELS_SIMD asks, or null. */
export const flavourProblem: string | null = choice.problem;
if (typeof WebAssembly === 'object') await loadKernelBinaries(defaultFlavour);

/**
 * The compiled kernels of a flavour (the default one unless named: another must have been loaded by
 * `loadKernelBinaries`), for a private memory (`simd`) or a shared one (`threads`).
 */
export function kernelBinary(
  variant: 'simd' | 'threads',
  flavour: SimdFlavour = defaultFlavour,
): Uint8Array<ArrayBuffer> {
  const binaries = loaded[flavour];
  if (!binaries) {
    throw new Error(
      `rnnlm kernels: the ${flavour} SIMD build is not loaded: await loadKernelBinaries('${flavour}') first`,
    );
  }
  const base64 = variant === 'threads' ? binaries.SIMD_THREADS : binaries.SIMD;
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
