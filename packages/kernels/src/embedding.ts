/**
 * A token embedding's lookup and its gradient, on the projection kernels of assembly/project.ts: the
 * lookup gathers rows of the table by id (the first layer's one-hot projection with a zero bias), the
 * gradient sums the output gradient's rows into the table's rows by id (that projection's weight
 * gradient). tfjs's own gather has a gradient (UnsortedSegmentSum) that tfjs's wasm backend lacks.
 */
import { checkIds } from './ids.js';
import { sumRows } from './projection.js';
import type { KernelRuntime } from './runtime.js';

/** The rows of `table` [V, E] at `ids` [N] (each in [0, V)): [N, E], a view of kernel memory (copy it out). */
export function embeddingLookup(
  rt: KernelRuntime,
  table: ArrayLike<number>,
  ids: ArrayLike<number>,
  V: number,
  E: number,
): Float32Array {
  const N = ids.length;
  checkIds(ids, V);
  const a = rt.begin();
  const idsAt = a.allocInts(ids);
  const tableAt = a.allocFrom(table, V * E);
  const zeros = a.allocFrom(null, E);
  const out = a.alloc(N * E);
  // One step of N rows: the threads share the rows.
  rt.run('gatherRows', { ids: idsAt, wx: tableAt, b: zeros, G: E, T: 1, B: N, xg: out }, N * E);
  return a.f32(out, N * E);
}

/**
 * The gradient of `embeddingLookup` with respect to the table: dTable [V, E], row v the sum of the rows
 * of `dy` [N, E] whose id is v (zero for ids not looked up). A view of kernel memory (copy it out).
 */
export function embeddingGrad(
  rt: KernelRuntime,
  dy: ArrayLike<number>,
  ids: ArrayLike<number>,
  V: number,
  E: number,
): Float32Array {
  const N = ids.length;
  checkIds(ids, V);
  const a = rt.begin();
  const idsAt = a.allocInts(ids);
  const dyAt = a.allocFrom(dy, N * E);
  const dTable = a.alloc(V * E);
  // The kernel also sums the columns (a projection's bias gradient), unused here.
  const columnSums = a.alloc(E);
  sumRows(rt, idsAt, dyAt, N, E, V, dTable, columnSums);
  return a.f32(dTable, V * E);
}
