/**
 * Matrix products on packed panels (assembly/gemm.ts): packing, the weight gradient of a layer, and a
 * general product for tfjs's matmul. Results are views of kernel memory, as in sequence.ts.
 */
import type { JobArgs, JobFunction } from './exports.js';
import type { Arena } from './memory.js';
import type { KernelRuntime } from './runtime.js';

/** Where jobs run: a runtime, or a model's own instance of the kernels (step.ts). */
export interface JobRunner {
  readonly arena: Arena;
  readonly threads: number;
  run<F extends JobFunction>(fn: F, args: JobArgs<F>, work: number): void;
}

/**
 * The schedule by which a job's threads share `groups` groups of its work (assembly/threads.ts's
 * nextPiece), zeroed: a cache line a group and one a thread. Returns its byte address.
 */
export function schedule(rt: JobRunner, groups: number): number {
  return rt.arena.allocFrom(null, (groups + rt.threads) * 16);
}

/**
 * Runs `gemm` with its schedule: pieces of 16 rows of C when the threads share rows, else of one
 * column panel (assembly/gemm.ts's gemmUnits).
 */
export function runGemm(rt: KernelRuntime, args: Omit<JobArgs<'gemm'>, 'sched'>, work: number): void {
  const groups = args.splitRows ? Math.ceil(args.M / 16) : Math.ceil(args.N / 8);
  rt.run('gemm', { ...args, sched: schedule(rt, groups) }, work);
}

/**
 * Runs `packB` with its schedule: pieces of 64 rows of a row-major B, else of one panel
 * (assembly/gemm.ts's packB; sized here for either).
 */
export function runPackB(rt: JobRunner, args: Omit<JobArgs<'packB'>, 'sched'>, work: number): void {
  const groups = Math.max(Math.ceil(args.K / 64), Math.ceil(args.N / 8));
  rt.run('packB', { ...args, sched: schedule(rt, groups) }, work);
}

/** Packs W [K, N] (row-major, at ptr) into panels; transposed: packs W^T ([N, K] source, [K', N'] = [N, K]). */
export function pack(
  rt: KernelRuntime,
  src: number,
  ld: number,
  K: number,
  N: number,
  transposed: boolean,
): number {
  const dst = rt.arena.alloc(rt.packedBytes(K, N) / 4);
  const [rowStride, colStride] = transposed ? [4, ld * 4] : [ld * 4, 4];
  // A copy, in multiply-adds' time: a row-major W moves 8 values a panel row in two SIMD loads (about
  // 2 multiply-adds' time a value); a transposed one moves one value at a time from a strided address
  // (about 1 ns a value on the 2-core test machine: 16). So the transposed recurrent weight of an RNN
  // of 256 units (65K values, 0.1 ms on one thread) is shared out, and a plain pack only when large
  // (waking the workers costs about as much as 64K values).
  runPackB(rt, { src, rowStride, colStride, K, N, dst }, K * N * (transposed ? 16 : 2));
  return dst;
}

/** How `gemm` reads a row-major A [M, K] at byte address a (ld floats a row): in place. */
export function rowMajorA(a: number, ld: number) {
  return { a, aGroup: ld * 16, aRow: ld * 4, aK: 4 };
}

/**
 * How `gemm` reads the transposed operand of a product, X^T for X [K, M] row-major at src (ld floats
 * a row), times a B of N columns: in place, or packed into the groups of 4 rows `gemm` reads
 * (assembly/gemm.ts's packA) when both X's rows and B are 512 wide or more. In place a tile reads one
 * value of each of K rows ld floats apart: at 2 KiB apart or more, a page every k or two, and a power
 * of two that crowds L1's sets; and the product reads A once per column panel of B. Measured on the
 * 2-core machine (`rnnlm bench`, the builds alternating): packing sped up the 1024-unit LSTM by about
 * a tenth or more, was within a whole run's noise at 512 (where the product alone ran 9% faster in a
 * training step), and cost the 256-unit LSTM and RNN 1-2% (the copy, about what packing B costs,
 * against a product that ran nearly as fast in place).
 */
function transposedA(rt: KernelRuntime, src: number, ld: number, K: number, M: number, N: number) {
  if (ld < 512 || N < 512) return { a: src, aGroup: 16, aRow: 4, aK: ld * 4 };
  const dst = rt.arena.alloc(((M + 3) >> 2) * 4 * K);
  rt.run('packA', { src, ld, K, M, dst }, K * M * 2);
  return { a: dst, aGroup: K * 16, aRow: 4, aK: 16 };
}

/**
 * dW (ldc) = A^T D for A [rows, M] (lda) and D [rows, N] (ldd), both row-major at byte addresses: the
 * weight gradient summed over every step and sequence in one product.
 */
export function weightGrad(
  rt: KernelRuntime,
  A: number,
  lda: number,
  D: number,
  ldd: number,
  rows: number,
  M: number,
  N: number,
  C: number,
  ldc: number,
): void {
  const dp = pack(rt, D, ldd, rows, N, false);
  const at = transposedA(rt, A, lda, rows, M, N);
  runGemm(rt, { ...at, bp: dp, K: rows, M, N, c: C, ldc, accumulate: false, splitRows: false }, rows * M * N);
}

/**
 * C [N, D] = A [N, K] W^T, for A at a byte address and W [D, K] as values (or at a byte address), into
 * new kernel memory: the gradient of a product's input (dX = dY W^T). Returns C's byte address.
 */
export function timesTransposed(
  rt: KernelRuntime,
  A: number,
  W: ArrayLike<number> | number,
  N: number,
  K: number,
  D: number,
): number {
  const a = rt.arena;
  const wT = pack(rt, typeof W === 'number' ? W : a.allocFrom(W, D * K), K, K, D, true);
  const C = a.alloc(N * D);
  runGemm(
    rt,
    { ...rowMajorA(A, K), bp: wT, K, M: N, N: D, c: C, ldc: D, accumulate: false, splitRows: true },
    N * D * K,
  );
  return C;
}

/** The operands of `matMul`, row-major, with their sizes and how each is read. */
export interface MatMulInputs {
  /** [M, K] row-major, or [K, M] when transposeA. */
  a: ArrayLike<number>;
  /** [K, N] row-major, or [N, K] when transposeB. */
  b: ArrayLike<number>;
  M: number;
  N: number;
  K: number;
  transposeA?: boolean;
  transposeB?: boolean;
  /** [N], added to every row of the product. */
  bias?: ArrayLike<number>;
}

/** C [M, N] = op(A) op(B) (+ bias on every row). */
export function matMul(rt: KernelRuntime, m: MatMulInputs): Float32Array {
  const { M, N, K } = m;
  const a = rt.begin();
  const A = a.allocFrom(m.a, M * K);
  const B = a.allocFrom(m.b, K * N);
  const bp = pack(rt, B, m.transposeB ? K : N, K, N, m.transposeB ?? false);
  const C = a.alloc(M * N);
  if (m.bias) rt.run('fillRows', { b: a.allocFrom(m.bias, N), G: N, N: M, xg: C }, M * N);
  const at = m.transposeA ? transposedA(rt, A, M, K, M, N) : rowMajorA(A, K);
  // Narrow products share out rows, wide ones column panels.
  const splitRows = N < 64 * rt.threads;
  runGemm(rt, { ...at, bp, K, M, N, c: C, ldc: N, accumulate: m.bias !== undefined, splitRows }, M * N * K);
  return a.f32(C, M * N);
}
