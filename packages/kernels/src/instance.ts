/**
 * The process-wide kernel runtime: created on first use on one thread (synchronously, where the
 * platform allows it), or started with threads by `startKernels`.
 */
import {
  defaultFlavour,
  flavourProblem,
  kernelBinary,
  loadKernelBinaries,
  type SimdFlavour,
} from './binary.js';
import { KernelRuntime } from './runtime.js';

/** Whether the kernels run here, on how many threads, and a line saying so. */
export interface KernelsStatus {
  /** Whether the kernels can run here (WebAssembly with SIMD). */
  available: boolean;
  /** Threads that share each call (0 when unavailable). */
  threads: number;
  /**
   * The build that runs: `relaxed` (relaxed SIMD's fused multiply-add in the products) or `plain`
   * (WebAssembly SIMD multiplies and adds); null when unavailable.
   */
  simd: SimdFlavour | null;
  /** One line for users: what runs, or why not. */
  message: string;
}

let current: KernelRuntime | null = null;
let unavailable: string | null = null;
let checked = false;

function supported(): boolean {
  if (!checked) {
    checked = true;
    if (typeof WebAssembly !== 'object') unavailable = 'this JavaScript engine has no WebAssembly';
    else if (flavourProblem !== null) unavailable = flavourProblem.replace(/^rnnlm kernels: /, '');
    else if (!WebAssembly.validate(kernelBinary('simd'))) {
      unavailable = 'this JavaScript engine has no WebAssembly SIMD';
    }
  }
  return unavailable === null;
}

/** A browser's main thread may not compile more than 4 KiB of WebAssembly synchronously. */
export function mayCompileSync(): boolean {
  const g = globalThis as { window?: unknown; document?: unknown };
  return !(typeof g.window === 'object' && typeof g.document === 'object');
}

/**
 * The runtime, or null where the kernels cannot run here (no WebAssembly SIMD) or not yet (a browser's
 * main thread before `startKernels` resolved).
 */
export function kernelRuntime(): KernelRuntime | null {
  if (current) return current;
  if (!supported() || !mayCompileSync()) return null;
  current = KernelRuntime.createSync();
  return current;
}

/** The runtime if one is running (started, or created by `kernelRuntime()`), without creating one. */
export function runningRuntime(): KernelRuntime | null {
  return current;
}

/** Why `kernelRuntime()` would be null, or what runs. */
export function kernelsStatus(): KernelsStatus {
  if (!supported()) {
    return { available: false, threads: 0, simd: null, message: `kernels off: ${unavailable}` };
  }
  const threads = current?.threads ?? (mayCompileSync() ? 1 : 0);
  if (threads === 0) {
    return { available: false, threads: 0, simd: null, message: 'kernels not started yet' };
  }
  const simd = current?.simd ?? defaultFlavour;
  const build = simd === 'relaxed' ? 'relaxed SIMD, fused multiply-add' : 'plain SIMD';
  return {
    available: true,
    threads,
    simd,
    message: `fused WebAssembly SIMD kernels (${build}) on ${threads} thread${threads === 1 ? '' : 's'}`,
  };
}

/**
 * Starts the kernels on `threads` threads (the caller's and threads - 1 workers sharing its memory).
 * Threads need SharedArrayBuffer: in a browser, a cross-origin isolated page (COOP and COEP headers);
 * without it this starts one thread and says why. `simd` names the build (default: relaxed SIMD where
 * it validates, else plain; see binary.ts); asking for relaxed where it does not run is an error.
 * Replaces (and stops) a runtime started before.
 */
export async function startKernels(
  options: { threads?: number; simd?: SimdFlavour } = {},
): Promise<KernelsStatus> {
  if (!supported()) return kernelsStatus();
  const simd = options.simd ?? defaultFlavour;
  await loadKernelBinaries(simd);
  let threads = Math.max(1, Math.floor(options.threads ?? 1));
  let note = '';
  if (threads > 1 && typeof SharedArrayBuffer === 'undefined') {
    note =
      ' (threads need SharedArrayBuffer: serve the page cross-origin isolated, with COOP and COEP headers)';
    threads = 1;
  }
  let next: KernelRuntime;
  try {
    next = await KernelRuntime.create(threads, simd);
  } catch (error) {
    if (threads === 1) throw error;
    note = ` (workers failed to start: ${error instanceof Error ? error.message : String(error)})`;
    next = await KernelRuntime.create(1, simd);
  }
  current?.dispose();
  current = next;
  const status = kernelsStatus();
  return { ...status, message: status.message + note };
}

/** Stops the workers; later calls run on one thread. */
export function stopKernels(): void {
  current?.dispose();
  current = null;
}
