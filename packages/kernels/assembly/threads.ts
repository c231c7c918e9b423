/**
 * How the threads share out work. Thread t of nt takes [start, end) of [0, n): boundaries at the
 * fractions the JavaScript side keeps in a table at the start of the heap (f32, boundary t at
 * __heap_base + 4t), which it adapts to how fast each thread has been (a thread on a busier core gets
 * less). Without a table (zeros) the split is even. Each thread notes the share it actually took
 * (f32 at __heap_base + 64 + 4 tid), which the balancing needs because shares come in whole units
 * (and, where a kernel shares its work by `nextPiece` below, because threads take each other's).
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

// Work shared out in pieces, with the tail taken by whichever thread is free.
//
// The work is `steps` steps over `groups` groups (a recurrence: its time steps over groups of 4 batch rows;
// a product: its passes over K, each over panels or groups of rows), where a group's steps run in order
// and groups are independent. Each thread starts on its own groups (splitRange's share) and runs them
// step by step. Split up front, the threads rarely finish together: on the shared 2-core machine, one
// thread waited for the other 11-13% of a recurrence's call and of a product's (timed per call in a
// training step), whichever one a busy neighbour had slowed. So a thread done with its own groups takes
// another thread's topmost group from the next step that thread has not started, and runs that group to
// the end; the owner stops short of it. Every value is computed by the same code on the same inputs
// whichever thread runs it, so results do not depend on who took what.
//
// The schedule's memory (zeroed by the caller, src/products.ts's `schedule`): a 64-byte line per group,
// [claim, done] (the owner claims step s of a group by moving claim from s to s + 1; a taker sets TAKEN
// and keeps the step it starts from; done counts the group's steps finished), then a line per thread
// for its place.

// @ts-ignore: decorator
@inline const TAKEN: i32 = 1 << 30;
/** A flag after the split table (i32): nonzero, no thread takes another's pieces (for measurements). */
// @ts-ignore: decorator
@inline const NO_TAKING: usize = 128;
// @ts-ignore: decorator
@inline const LINE: usize = 64;

// @ts-ignore: decorator
@inline function loadShared(p: usize): i32 {
  if (ASC_FEATURE_THREADS) return atomic.load<i32>(p);
  return load<i32>(p);
}

// @ts-ignore: decorator
@inline function storeShared(p: usize, v: i32): void {
  if (ASC_FEATURE_THREADS) atomic.store<i32>(p, v);
  else store<i32>(p, v);
}

/** Sets *p to v if it holds expected; true when it did. */
// @ts-ignore: decorator
@inline function claim(p: usize, expected: i32, v: i32): bool {
  if (ASC_FEATURE_THREADS) return atomic.cmpxchg<i32>(p, expected, v) == expected;
  if (load<i32>(p) != expected) return false;
  store<i32>(p, v);
  return true;
}

// A thread's own line: what it runs now and where it is.
// @ts-ignore: decorator
@inline const PHASE: usize = 0; // 0 not started, 1 its own groups, 2 taking others', 3 done
// @ts-ignore: decorator
@inline const STEP: usize = 4; // its own groups' current step, or the taken group's next
// @ts-ignore: decorator
@inline const LOW: usize = 8; // its first group, or (one at a time) the next one to claim
// @ts-ignore: decorator
@inline const TOP: usize = 12; // one past its last group still its own, or the taken group (-1: none)
// @ts-ignore: decorator
@inline const LAST_STEP: usize = 16; // the piece handed out last (-1: none), for marking it done
// @ts-ignore: decorator
@inline const LAST_LOW: usize = 20;
// @ts-ignore: decorator
@inline const LAST_TOP: usize = 24;
// @ts-ignore: decorator
@inline const WORK: usize = 28; // group-steps run
// @ts-ignore: decorator
@inline const FIRST: usize = 32; // its first group (one at a time)

/**
 * Thread tid's next piece of the work: step s of groups [g0, g1) as s | g0 << 20 | g1 << 40, or -1 when
 * none is left. Marks the piece handed out before as done. `together`: a step of all the thread's own
 * groups in one piece (a recurrence's step reads the weights once for all its rows), else one group a
 * piece. A thread runs its pieces in the order given; a group's steps come in order whoever runs them.
 */
export function nextPiece(sched: usize, groups: i32, steps: i32, together: bool, tid: i32, nt: i32): i64 {
  const me = sched + <usize>(groups + tid) * LINE;
  let phase = load<i32>(me + PHASE);
  if (phase == 0) {
    const low = splitRange(groups, tid, nt, 0);
    const top = splitRange(groups, tid, nt, 1);
    store<i32>(me + LOW, low);
    store<i32>(me + FIRST, low);
    store<i32>(me + TOP, top);
    store<i32>(me + STEP, 0);
    store<i32>(me + LAST_STEP, -1);
    store<i32>(me + WORK, 0);
    phase = low < top && steps > 0 ? 1 : 2;
    store<i32>(me + PHASE, phase);
    if (phase == 2) store<i32>(me + TOP, -1);
  } else if (load<i32>(me + LAST_STEP) >= 0) {
    // The piece handed out last is finished: its groups' done counts move past its step.
    const s = load<i32>(me + LAST_STEP);
    const low = load<i32>(me + LAST_LOW);
    const top = load<i32>(me + LAST_TOP);
    for (let g = low; g < top; g++) storeShared(sched + <usize>g * LINE + 4, s + 1);
    store<i32>(me + WORK, load<i32>(me + WORK) + top - low);
  }
  if (phase == 1) {
    // Claims its groups at this step from the bottom up; a group taken by another thread ends its
    // own ones (takers take from the top down), for this step and every later one.
    let s = load<i32>(me + STEP);
    let low = load<i32>(me + LOW);
    let top = load<i32>(me + TOP);
    const first = load<i32>(me + FIRST);
    while (s < steps) {
      let end = low;
      while (end < top && (end == low || together) && claim(sched + <usize>end * LINE, s, s + 1)) end++;
      if (end > low) {
        if (together) {
          store<i32>(me + STEP, s + 1);
          store<i32>(me + TOP, end);
        } else {
          store<i32>(me + LOW, end);
        }
        return handOut(me, s, low, end);
      }
      // Nothing left of this step: the next step, over the groups still its own.
      top = low;
      if (top == first) break;
      low = first;
      s++;
      store<i32>(me + STEP, s);
      store<i32>(me + LOW, low);
      store<i32>(me + TOP, top);
    }
    phase = 2;
    store<i32>(me + TOP, -1);
  }
  // Carries on with the group it took, then takes another.
  let g = load<i32>(me + TOP);
  let s = load<i32>(me + STEP);
  if (g >= 0 && s < steps) {
    store<i32>(me + STEP, s + 1);
    store<i32>(me + PHASE, 2);
    return handOut(me, s, g, g + 1);
  }
  g = takeGroup(sched, groups, steps, tid, nt);
  if (g >= 0) {
    s = loadShared(sched + <usize>g * LINE) & ~TAKEN;
    // Its owner may still be running the step before: wait for it.
    while (loadShared(sched + <usize>g * LINE + 4) < s) {}
    store<i32>(me + TOP, g);
    store<i32>(me + STEP, s + 1);
    store<i32>(me + PHASE, 2);
    return handOut(me, s, g, g + 1);
  }
  // Done: the share it actually ran, for the balancing (see splitRange).
  store<i32>(me + PHASE, 3);
  store<i32>(me + LAST_STEP, -1);
  if (groups > 0 && steps > 0) {
    store<f32>(__heap_base + 64 + (<usize>tid << 2), <f32>load<i32>(me + WORK) / (<f32>groups * <f32>steps));
  }
  return -1;
}

function handOut(me: usize, s: i32, low: i32, top: i32): i64 {
  store<i32>(me + LAST_STEP, s);
  store<i32>(me + LAST_LOW, low);
  store<i32>(me + LAST_TOP, top);
  return <i64>s | (<i64>low << 20) | (<i64>top << 40);
}

/** A piece's step, first group and end group. */
// @ts-ignore: decorator
@inline export function pieceStep(w: i64): i32 {
  return <i32>(w & 0xfffff);
}
// @ts-ignore: decorator
@inline export function pieceLow(w: i64): i32 {
  return <i32>((w >> 20) & 0xfffff);
}
// @ts-ignore: decorator
@inline export function pieceTop(w: i64): i32 {
  return <i32>(w >> 40);
}

/**
 * Takes the topmost group of another thread that still has a group of its own below it and a step not
 * yet claimed; returns it (its claim marked TAKEN, from that step on) or -1.
 */
function takeGroup(sched: usize, groups: i32, steps: i32, tid: i32, nt: i32): i32 {
  if (load<i32>(__heap_base + NO_TAKING) != 0) return -1;
  for (let v = 1; v < nt; v++) {
    const victim = (tid + v) % nt;
    const low = boundary(groups, victim, nt);
    const top = boundary(groups, victim + 1, nt);
    let g = top - 1;
    while (g > low) {
      const line = sched + <usize>g * LINE;
      const c = loadShared(line);
      if ((c & TAKEN) != 0) {
        g--;
        continue;
      }
      if (c >= steps) break;
      if (claim(line, c, c | TAKEN)) return g;
    }
  }
  return -1;
}

/** A recurrence's next piece: its T steps over B rows in groups of 4, a step of a thread's rows together. */
// @ts-ignore: decorator
@inline export function nextRowSteps(sched: usize, B: i32, T: i32, tid: i32, nt: i32): i64 {
  return nextPiece(sched, (B + 3) >> 2, T, true, tid, nt);
}

/** A recurrence's piece's first row and end row. */
// @ts-ignore: decorator
@inline export function pieceRow0(w: i64): i32 {
  return pieceLow(w) << 2;
}
// @ts-ignore: decorator
@inline export function pieceRow1(w: i64, B: i32): i32 {
  return min(B, pieceTop(w) << 2);
}
