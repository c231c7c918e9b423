// A tanh RNN over all time steps of one layer, forward and backward through time: H_t = tanh(X_t W_xh +
// b + H_{t-1} W_hh). Layout as in lstm.ts: xp [T, B, H] holds the projected inputs and, after the
// forward pass, the pre-activations (the backward pass overwrites them with their gradient, which is
// the gradient of xp); hbuf [T+1, B, H] the states.

import { gemmRows } from './gemm';
import { addRows } from './lstm';
import { tanhs, tanhv } from './math';
import { splitRange } from './threads';

// @ts-expect-error: decorator
@inline function rowRange(B: i32, tid: i32, nt: i32, end: i32): i32 {
  return min(B, splitRange((B + 3) >> 2, tid, nt, end) << 2);
}

export function rnnForward(
  xp: usize, hbuf: usize, wp: usize, T: i32, B: i32, H: i32, reverse: bool, tid: i32, nt: i32,
): void {
  const r0 = rowRange(B, tid, nt, 0);
  const r1 = rowRange(B, tid, nt, 1);
  if (r0 >= r1) return;
  const slot = <usize>B * <usize>H * 4;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const prev = reverse ? t + 1 : t;
    const out = reverse ? t : t + 1;
    const x = xp + <usize>t * slot;
    gemmRows(hbuf + <usize>prev * slot, H, wp, H, H, x, H, r0, r1, true);
    const start = <usize>(r0 * H) * 4;
    const end = <usize>(r1 * H) * 4;
    const ho = hbuf + <usize>out * slot;
    let o = start;
    for (; o + 16 <= end; o += 16) v128.store(ho + o, tanhv(v128.load(x + o)));
    for (; o < end; o += 4) store<f32>(ho + o, tanhs(load<f32>(x + o)));
  }
}

/** As lstmBackward, without the memory cell. wtp: W_hh^T [H, H] packed. */
export function rnnBackward(
  xp: usize, hbuf: usize, dbuf: usize, dhT: usize, wtp: usize, dh0: usize,
  T: i32, B: i32, H: i32, reverse: bool, tid: i32, nt: i32,
): void {
  const r0 = rowRange(B, tid, nt, 0);
  const r1 = rowRange(B, tid, nt, 1);
  if (r0 >= r1) return;
  const slot = <usize>B * <usize>H * 4;
  const one = f32x4.splat(1);
  addRows(dbuf + <usize>(reverse ? 0 : T - 1) * slot, dhT, H, r0, r1);
  for (let s = 0; s < T; s++) {
    const t = reverse ? s : T - 1 - s;
    const out = reverse ? t : t + 1;
    const x = xp + <usize>t * slot;
    const d = dbuf + <usize>t * slot;
    const h = hbuf + <usize>out * slot;
    const start = <usize>(r0 * H) * 4;
    const end = <usize>(r1 * H) * 4;
    let o = start;
    for (; o + 16 <= end; o += 16) {
      const hv = v128.load(h + o);
      v128.store(x + o, f32x4.mul(v128.load(d + o), f32x4.sub(one, f32x4.mul(hv, hv))));
    }
    for (; o < end; o += 4) {
      const hv = load<f32>(h + o);
      store<f32>(x + o, load<f32>(d + o) * (1 - hv * hv));
    }
    if (s < T - 1) gemmRows(x, H, wtp, H, H, dbuf + <usize>(reverse ? t + 1 : t - 1) * slot, H, r0, r1, true);
    else gemmRows(x, H, wtp, H, H, dh0, H, r0, r1, false);
  }
}
