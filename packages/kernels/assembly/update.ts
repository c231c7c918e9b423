// The parameter update of the optimizers (@rnnlm/train's optimizers.ts) in one pass over the weights:
// every variable's values laid end to end, since every setting is the same for all of them. Each
// kernel computes each value with the same f32 operations in the same order as the op-by-op path, so
// the two agree to float rounding. Shares are multiples of 4 values (one f32x4); the last thread also
// takes the tail.

import { madd } from './math';
import { splitRange } from './threads';

/**
 * The sum of the squares of x[0..N), accumulated in f64 by blocks of 64 values (f32x4 within a block),
 * at out (f64). Run on one thread (the caller passes no work): a sum split over threads would depend on
 * the split.
 */
export function sumSquares(x: usize, N: i32, out: usize, tid: i32, nt: i32): void {
  let total: f64 = 0;
  const end = <usize>(N & ~63) << 2;
  let o: usize = 0;
  for (; o < end; o += 256) {
    let s4 = f32x4.splat(0);
    for (let k: usize = 0; k < 256; k += 16) {
      const v = v128.load(x + o + k);
      s4 = madd(s4, v, v);
    }
    total += <f64>f32x4.extract_lane(s4, 0) + <f64>f32x4.extract_lane(s4, 1);
    total += <f64>f32x4.extract_lane(s4, 2) + <f64>f32x4.extract_lane(s4, 3);
  }
  const bytes = <usize>N << 2;
  for (; o < bytes; o += 4) {
    const v = load<f32>(x + o);
    total += <f64>(v * v);
  }
  store<f64>(out, total);
}

// @ts-ignore: decorator
@inline function shareStart(N: i32, tid: i32, nt: i32): usize {
  return <usize>splitRange(N >> 2, tid, nt, 0) << 4;
}

// @ts-ignore: decorator
@inline function shareEnd(N: i32, tid: i32, nt: i32): usize {
  return tid == nt - 1 ? <usize>N << 2 : <usize>splitRange(N >> 2, tid, nt, 1) << 4;
}

// The settings come as f32 values at `rule` (the threads' job arguments are integers), in the order
// the kernels load them.

/**
 * SGD: g = g * scale + w * l2 (the clip scale, then PyTorch's weight_decay), w = w - g * lr.
 * scale 1 and l2 0 leave g as it is, bit for bit.
 */
export function sgdUpdate(w: usize, g: usize, N: i32, rule: usize, tid: i32, nt: i32): void {
  const scale = load<f32>(rule);
  const l2 = load<f32>(rule, 4);
  const lr = load<f32>(rule, 8);
  const o1 = shareEnd(N, tid, nt);
  const vEnd = o1 & ~15;
  const sc = f32x4.splat(scale);
  const d = f32x4.splat(l2);
  const r = f32x4.splat(lr);
  let o = shareStart(N, tid, nt);
  for (; o < vEnd; o += 16) {
    const wv = v128.load(w + o);
    const gv = f32x4.add(f32x4.mul(v128.load(g + o), sc), f32x4.mul(wv, d));
    v128.store(w + o, f32x4.sub(wv, f32x4.mul(gv, r)));
  }
  for (; o < o1; o += 4) {
    const wv = load<f32>(w + o);
    const gv = load<f32>(g + o) * scale + wv * l2;
    store<f32>(w + o, wv - gv * lr);
  }
}

/**
 * Adam and AdamW, as optimizers.ts writes them op by op: g = g * scale + w * l2; m = m * beta1 +
 * g * (1 - beta1); v = v * beta2 + g^2 * (1 - beta2); w = w * decay - (m / bc1) / (sqrt(v / bc2) + eps) * lr,
 * with bc1 = 1 - beta1^t, bc2 = 1 - beta2^t, decay = 1 - lr * weightDecay for AdamW and 1 for Adam
 * (whose weight decay is l2).
 */
export function adamUpdate(w: usize, g: usize, m: usize, v: usize, N: i32, rule: usize, tid: i32, nt: i32): void {
  const scale = load<f32>(rule);
  const l2 = load<f32>(rule, 4);
  const decay = load<f32>(rule, 8);
  const lr = load<f32>(rule, 12);
  const beta1 = load<f32>(rule, 16);
  const oneMinusBeta1 = load<f32>(rule, 20);
  const beta2 = load<f32>(rule, 24);
  const oneMinusBeta2 = load<f32>(rule, 28);
  const bc1 = load<f32>(rule, 32);
  const bc2 = load<f32>(rule, 36);
  const eps = load<f32>(rule, 40);
  const o1 = shareEnd(N, tid, nt);
  const vEnd = o1 & ~15;
  const sc = f32x4.splat(scale);
  const l24 = f32x4.splat(l2);
  const dc = f32x4.splat(decay);
  const r = f32x4.splat(lr);
  const b1 = f32x4.splat(beta1);
  const c1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2);
  const c2 = f32x4.splat(oneMinusBeta2);
  const h1 = f32x4.splat(bc1);
  const h2 = f32x4.splat(bc2);
  const e = f32x4.splat(eps);
  let o = shareStart(N, tid, nt);
  for (; o < vEnd; o += 16) {
    const wv = v128.load(w + o);
    const gv = f32x4.add(f32x4.mul(v128.load(g + o), sc), f32x4.mul(wv, l24));
    const mv = f32x4.add(f32x4.mul(v128.load(m + o), b1), f32x4.mul(gv, c1));
    const vv = f32x4.add(f32x4.mul(v128.load(v + o), b2), f32x4.mul(f32x4.mul(gv, gv), c2));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const step = f32x4.div(f32x4.div(mv, h1), f32x4.add(f32x4.sqrt(f32x4.div(vv, h2)), e));
    v128.store(w + o, f32x4.sub(f32x4.mul(wv, dc), f32x4.mul(step, r)));
  }
  for (; o < o1; o += 4) {
    const wv = load<f32>(w + o);
    const gv = load<f32>(g + o) * scale + wv * l2;
    const mv = load<f32>(m + o) * beta1 + gv * oneMinusBeta1;
    const vv = load<f32>(v + o) * beta2 + gv * gv * oneMinusBeta2;
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    const step = mv / bc1 / (Mathf.sqrt(vv / bc2) + eps);
    store<f32>(w + o, wv * decay - step * lr);
  }
}
