/**
 * How the threads share out work. Thread t of nt takes [start, end) of [0, n): boundaries at the
 * fractions the JavaScript side keeps in a table at the start of the heap (f32, boundary t at
 * __heap_base + 4t), which it adapts to how fast each thread has been (a thread on a busier core gets
 * less). Without a table (zeros) the split is even. Each thread notes the share it actually took
 * (f32 at __heap_base + 64 + 4 tid), which the balancing needs because shares come in whole units.
 * Every share is contiguous, and every kernel computes each value the same way whatever the split,
 * so results never depend on it.
 */
export function splitRange(n: i32, tid: i32, nt: i32, end: i32): i32 {
  const bound = boundary(n, tid + end, nt);
  if (end == 1 && n > 0) {
    store<f32>(__heap_base + 64 + (<usize>tid << 2), <f32>(bound - boundary(n, tid, nt)) / <f32>n);
  }
  return bound;
}

function boundary(n: i32, t: i32, nt: i32): i32 {
  if (t <= 0) return 0;
  if (t >= nt) return n;
  const f = load<f32>(__heap_base + (<usize>t << 2));
  if (!(f > 0 && f < 1)) return <i32>((<i64>n * <i64>t) / <i64>nt);
  return min(n, max(0, <i32>Mathf.round(f * <f32>n)));
}

/**
 * The batch rows thread `tid` takes in a recurrence: groups of 4 (a microkernel tile's height), as
 * splitRange shares them. Every step of a row depends only on that row.
 */
// @ts-ignore: decorator
@inline export function rowRange(B: i32, tid: i32, nt: i32, end: i32): i32 {
  return min(B, splitRange((B + 3) >> 2, tid, nt, end) << 2);
}
