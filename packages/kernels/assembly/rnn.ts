// A tanh RNN over all time steps of one layer, forward and backward through time: H_t = tanh(X_t W_xh +
// b + H_{t-1} W_hh). Layout as in lstm.ts: xp [T, B, H] holds the projected inputs (the backward pass
// overwrites it with the gradient of the pre-activations, which is the gradient of xp); hbuf
// [T+1, B, H] the states. Each step is one pass: the recurrent product's tiles are finished with the
// nonlinearity (forward) or its derivative (backward) as they leave the registers.

import { gemmRows, gemmRowsThen, TANH, TANH_GRAD } from './gemm';
import { addRows } from './lstm';
import { gatherStep } from './project';
import { nextRowSteps, pieceRow0, pieceRow1, pieceStep } from './threads';


/**
 * ids, wx, bias: gathered inputs (see lstmForward), or ids = 0 where xp holds the projected inputs.
 * scratch: 128 bytes per thread (the edge tiles' products), at scratch + tid * 128; sched: the steps'
 * schedule (threads.ts's nextRowSteps).
 */
export function rnnForward(
  xp: usize, ids: usize, wx: usize, bias: usize, hbuf: usize, wp: usize, T: i32, B: i32, H: i32,
  reverse: bool, scratch: usize, sched: usize, tid: i32, nt: i32,
): void {
  const slot = <usize>B * <usize>H * 4;
  const own = scratch + <usize>tid * 128;
  for (let w = nextRowSteps(sched, B, T, tid, nt); w >= 0; w = nextRowSteps(sched, B, T, tid, nt)) {
    const s = pieceStep(w), r0 = pieceRow0(w), r1 = pieceRow1(w, B);
    const t = reverse ? T - 1 - s : s;
    const prev = reverse ? t + 1 : t;
    const out = reverse ? t : t + 1;
    if (ids != 0) gatherStep(ids, wx, bias, H, B, t, r0, r1, xp);
    // H_t = tanh(xp_t + H_{t-1} W): the tiles read xp_t and write H_t.
    gemmRowsThen(hbuf + <usize>prev * slot, H, wp, H, H, xp + <usize>t * slot, H, r0, r1, TANH, hbuf + <usize>out * slot, 0, own);
  }
}

/** As lstmBackward, without the memory cell. wtp: W_hh^T [H, H] packed. */
export function rnnBackward(
  xp: usize, hbuf: usize, dbuf: usize, dhT: usize, wtp: usize, dh0: usize,
  T: i32, B: i32, H: i32, reverse: bool, scratch: usize, sched: usize, tid: i32, nt: i32,
): void {
  const slot = <usize>B * <usize>H * 4;
  const own = scratch + <usize>tid * 128;
  const one = f32x4.splat(1);
  const first = reverse ? 0 : T - 1;
  for (let w = nextRowSteps(sched, B, T, tid, nt); w >= 0; w = nextRowSteps(sched, B, T, tid, nt)) {
    const s = pieceStep(w), r0 = pieceRow0(w), r1 = pieceRow1(w, B);
    if (s == 0) {
      addRows(dbuf + <usize>first * slot, dhT, H, r0, r1);
      // The first step's pre-activation gradient: dH (1 - H^2). Every later one leaves the product below.
      const x = xp + <usize>first * slot;
      const d = dbuf + <usize>first * slot;
      const h = hbuf + <usize>(reverse ? first : first + 1) * slot;
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
    }
    const t = reverse ? s : T - 1 - s;
    const x = xp + <usize>t * slot;
    if (s == T - 1) {
      gemmRows(x, H, wtp, H, H, dh0, H, r0, r1, false);
      continue;
    }
    // The step read before: dpre_p = (dH_p + dpre_t W^T) (1 - H_p^2), with H_p the state after step p.
    const p = reverse ? t + 1 : t - 1;
    const hp = hbuf + <usize>(reverse ? p : p + 1) * slot;
    gemmRowsThen(x, H, wtp, H, H, dbuf + <usize>p * slot, H, r0, r1, TANH_GRAD, hp, xp + <usize>p * slot, own);
  }
}
