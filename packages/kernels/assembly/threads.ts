/**
 * The part of [0, n) that thread `tid` of `nt` takes: its start (end = 0) or its end (end = 1).
 * Contiguous and balanced, the same for every caller.
 */
export function splitRange(n: i32, tid: i32, nt: i32, end: i32): i32 {
  const t = tid + end;
  return <i32>((<i64>n * <i64>t) / <i64>nt);
}
