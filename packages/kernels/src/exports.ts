/** A recurrence's sizes and direction, in every recurrence kernel's parameters. */
const SHAPE = ['T', 'B', 'H', 'reverse'] as const;
/** A forward recurrence's one-hot input, gathered step by step: ids, W_x and bias (ids 0: projected already). */
const GATHERED = ['ids', 'wx', 'bias'] as const;
/** Where the LSTM's gates lie in 4H (d2l's order or tfjs-layers'). */
const LSTM_GATES = ['gi', 'gf', 'go', 'gg'] as const;

/**
 * The WebAssembly exports the JavaScript side calls, each with its parameters by name in the order of
 * its AssemblyScript signature (assembly/*.ts; a test reads those sources and compares). A job export
 * takes two more parameters at the end, (tid, nt): thread tid's share of the work of nt threads, which
 * the runtime adds.
 *
 * Callers name their arguments (`rt.run('fillRows', { b, G, N, xg }, work)`) and `positional` puts
 * them in the export's order: a missing, extra or misspelt argument fails typecheck, and the order is
 * written once, here.
 */
export const JOB_PARAMETERS = {
  packB: ['src', 'rowStride', 'colStride', 'K', 'N', 'dst', 'sched'],
  packA: ['src', 'ld', 'K', 'M', 'dst'],
  gemm: ['a', 'aGroup', 'aRow', 'aK', 'bp', 'K', 'M', 'N', 'c', 'ldc', 'accumulate', 'splitRows', 'sched'],
  rnnForward: ['xp', ...GATHERED, 'hbuf', 'wp', ...SHAPE, 'scratch', 'sched'],
  rnnBackward: ['xp', 'hbuf', 'dbuf', 'dhT', 'wtp', 'dh0', ...SHAPE, 'scratch', 'sched'],
  gruForward: ['xg', ...GATHERED, 'hbuf', 'rh', 'wzr', 'whh', ...SHAPE, 'sched'],
  gruBackward: ['xg', 'hbuf', 'dbuf', 'dhT', 'wzrT', 'whhT', 'drh', 'dh0', ...SHAPE, 'sched'],
  lstmForward: ['xg', ...GATHERED, 'hbuf', 'cbuf', 'wp', ...SHAPE, ...LSTM_GATES, 'sched'],
  lstmBackward: ['xg', 'hbuf', 'cbuf', 'dbuf', 'dhT', 'dc', 'wtp', 'dh0', ...SHAPE, ...LSTM_GATES, 'sched'],
  gatherRows: ['ids', 'wx', 'b', 'G', 'T', 'B', 'xg'],
  fillRows: ['b', 'G', 'N', 'xg'],
  projectionGrad: ['ids', 'dg', 'G', 'N', 'V', 'dwx', 'db', 'parts', 'partials', 'sched'],
  projectionPartsSum: ['dwx', 'db', 'G', 'V', 'parts', 'partials'],
  crossEntropyRows: ['logits', 'labels', 'N', 'V', 'grad', 'loss'],
  simdPeak: ['iterations', 'fused', 'out'],
  stackStep: ['plan', 'ids', 'B'],
  stackStepColumns: ['plan', 'ids', 'B', 'sync'],
  sumSquares: ['x', 'N', 'out'],
  sgdUpdate: ['w', 'g', 'N', 'rule'],
  adamUpdate: ['w', 'g', 'm', 'v', 'N', 'rule'],
  dropoutMask: ['key', 'threshold', 'keepBits', 'N', 'out'],
} as const;

/** The exports a job can run on every thread. */
export type JobFunction = keyof typeof JOB_PARAMETERS;

/** The same names as a list: a job's function travels to the workers as its index in it. */
export const JOB_FUNCTIONS = Object.keys(JOB_PARAMETERS) as JobFunction[];

/** The parameters that are `bool` in AssemblyScript (0 or 1 on the wire). */
export type FlagParameter = 'reverse' | 'accumulate' | 'splitRows' | 'fused';

/**
 * A job's arguments by name: byte addresses into the kernels' memory and sizes as numbers, flags as
 * booleans.
 */
export type JobArgs<F extends JobFunction> = {
  readonly [P in (typeof JOB_PARAMETERS)[F][number]]: P extends FlagParameter ? boolean : number;
};

/** A job's arguments in the order its export takes them (without tid and nt). */
export function positional<F extends JobFunction>(fn: F, args: JobArgs<F>): number[] {
  const named = args as Readonly<Record<string, number | boolean>>;
  return JOB_PARAMETERS[fn].map((name) => Number(named[name]));
}

/** The instance's exports as the JavaScript side sees them. */
export type KernelExports = Record<JobFunction, (...positional: number[]) => void> & {
  /** The first byte after the module's static data. */
  heapBase(): number;
  /** Bytes of W [K, N] packed into panels by packB. */
  packedBytes(K: number, N: number): number;
};
