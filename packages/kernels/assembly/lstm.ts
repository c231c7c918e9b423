// LSTM over all time steps of one layer, forward and backward through time.
//
// Layout (bytes are f32, rows are batch entries):
//   xg    [T, B, 4H]   the projected inputs of every step, bias included; the forward pass adds the
//                      recurrent product in place and leaves the gate activations (i, f, o, c~) there,
//                      which the backward pass reads and overwrites with the gradients of the gates'
//                      inputs (= the gradient of xg).
//   hbuf  [T+1, B, H]  hidden states: the initial state in slot 0 (slot T when reverse), the state after
//                      step t in slot t+1 (slot t when reverse). The outputs are T consecutive slots, and
//                      so are the states each step read (the A operand of the weight gradient).
//   cbuf  [T+1, B, H]  memory cells, laid out as hbuf.
//   gates: block numbers (0..3) of i, f, o and c~ within 4H, so that both d2l's order (i, f, o, c~) and
//   tfjs-layers' (i, f, c~, o) run without reordering weights.
// The threads share the batch rows in groups of 4: every step of a row depends only on that row.

import { gemmRows } from './gemm';
import { sigmoids, sigmoidv, tanhs, tanhv } from './math';
import { gatherStep } from './project';
import { nextRowSteps, pieceRow0, pieceRow1, pieceStep } from './threads';


/**
 * ids, wx, bias: a one-hot input's token ids [T*B] (time-major), input weight [V, G] and bias [G], whose
 * rows each step gathers into its rows of xg just before its product adds to them (they stay in cache;
 * a pass over all steps before, gatherRows, wrote 4.6 MB for a 256-unit LSTM's batch that the steps then
 * read back from further out); or ids = 0 where xg already holds the projected inputs.
 */
export function lstmForward(
  xg: usize, ids: usize, wx: usize, bias: usize, hbuf: usize, cbuf: usize, wp: usize, T: i32, B: i32,
  H: i32, reverse: bool, gi: i32, gf: i32, go: i32, gg: i32, sched: usize, tid: i32, nt: i32,
): void {
  const G = 4 * H;
  const slot = <usize>B * <usize>H * 4;
  const iO = <usize>(gi * H) * 4, fO = <usize>(gf * H) * 4, oO = <usize>(go * H) * 4, gO = <usize>(gg * H) * 4;
  for (let w = nextRowSteps(sched, B, T, tid, nt); w >= 0; w = nextRowSteps(sched, B, T, tid, nt)) {
    const s = pieceStep(w), r0 = pieceRow0(w), r1 = pieceRow1(w, B);
    const t = reverse ? T - 1 - s : s;
    const prev = reverse ? t + 1 : t;
    const out = reverse ? t : t + 1;
    const x = xg + <usize>t * <usize>B * <usize>G * 4;
    if (ids != 0) gatherStep(ids, wx, bias, G, B, t, r0, r1, xg);
    gemmRows(hbuf + <usize>prev * slot, H, wp, H, G, x, G, r0, r1, true);
    for (let b = r0; b < r1; b++) {
      const g = x + <usize>(b * G) * 4;
      const row = <usize>(b * H) * 4;
      const cp = cbuf + <usize>prev * slot + row;
      const co = cbuf + <usize>out * slot + row;
      const ho = hbuf + <usize>out * slot + row;
      let j = 0;
      for (; j + 4 <= H; j += 4) {
        const o4 = <usize>j << 2;
        const iv = sigmoidv(v128.load(g + iO + o4));
        const fv = sigmoidv(v128.load(g + fO + o4));
        const ov = sigmoidv(v128.load(g + oO + o4));
        const gv = tanhv(v128.load(g + gO + o4));
        v128.store(g + iO + o4, iv);
        v128.store(g + fO + o4, fv);
        v128.store(g + oO + o4, ov);
        v128.store(g + gO + o4, gv);
        v128.store(co + o4, f32x4.add(f32x4.mul(fv, v128.load(cp + o4)), f32x4.mul(iv, gv)));
      }
      // h = o tanh(c) in a pass of its own: in the loop above c's tanh waited on the gates' exps, a
      // chain too long for the core to overlap enough steps of the loop. The element-wise work was 18%
      // of the forward pass (hidden 256, one thread); this pass took 8% off it (bench/phases.mjs, A/B).
      for (let k = 0; k < j; k += 4) {
        const o4 = <usize>k << 2;
        v128.store(ho + o4, f32x4.mul(v128.load(g + oO + o4), tanhv(v128.load(co + o4))));
      }
      for (; j < H; j++) {
        const o4 = <usize>j << 2;
        const iv = sigmoids(load<f32>(g + iO + o4));
        const fv = sigmoids(load<f32>(g + fO + o4));
        const ov = sigmoids(load<f32>(g + oO + o4));
        const gv = tanhs(load<f32>(g + gO + o4));
        store<f32>(g + iO + o4, iv);
        store<f32>(g + fO + o4, fv);
        store<f32>(g + oO + o4, ov);
        store<f32>(g + gO + o4, gv);
        const c = fv * load<f32>(cp + o4) + iv * gv;
        store<f32>(co + o4, c);
        store<f32>(ho + o4, ov * tanhs(c));
      }
    }
  }
}

/**
 * dbuf [T, B, H]: the gradient of the outputs (consumed: the recurrent gradient is added into it step
 * by step). dhT, dc [B, H]: the gradients of the final h and c; dc is updated in place and ends as the
 * gradient of c0. dh0 [B, H] receives the gradient of h0. wtp: W_h^T [4H, H] packed.
 */
export function lstmBackward(
  xg: usize, hbuf: usize, cbuf: usize, dbuf: usize, dhT: usize, dc: usize, wtp: usize, dh0: usize,
  T: i32, B: i32, H: i32, reverse: bool, gi: i32, gf: i32, go: i32, gg: i32, sched: usize, tid: i32, nt: i32,
): void {
  const G = 4 * H;
  const slot = <usize>B * <usize>H * 4;
  const iO = <usize>(gi * H) * 4, fO = <usize>(gf * H) * 4, oO = <usize>(go * H) * 4, gO = <usize>(gg * H) * 4;
  const one = f32x4.splat(1);
  for (let w = nextRowSteps(sched, B, T, tid, nt); w >= 0; w = nextRowSteps(sched, B, T, tid, nt)) {
    const s = pieceStep(w), r0 = pieceRow0(w), r1 = pieceRow1(w, B);
    // The final state's gradient joins the output gradient of the step processed last in the forward pass.
    if (s == 0) addRows(dbuf + <usize>(reverse ? 0 : T - 1) * slot, dhT, H, r0, r1);
    const t = reverse ? s : T - 1 - s;
    const prev = reverse ? t + 1 : t;
    const out = reverse ? t : t + 1;
    const x = xg + <usize>t * <usize>B * <usize>G * 4;
    const d = dbuf + <usize>t * slot;
    for (let b = r0; b < r1; b++) {
      const g = x + <usize>(b * G) * 4;
      const row = <usize>(b * H) * 4;
      const cp = cbuf + <usize>prev * slot + row;
      const co = cbuf + <usize>out * slot + row;
      const dh = d + row;
      const dcr = dc + row;
      let j = 0;
      for (; j + 4 <= H; j += 4) {
        const o4 = <usize>j << 2;
        const iv = v128.load(g + iO + o4);
        const fv = v128.load(g + fO + o4);
        const ov = v128.load(g + oO + o4);
        const gv = v128.load(g + gO + o4);
        const tc = tanhv(v128.load(co + o4));
        const dhv = v128.load(dh + o4);
        const dcv = f32x4.add(
          v128.load(dcr + o4),
          f32x4.mul(f32x4.mul(dhv, ov), f32x4.sub(one, f32x4.mul(tc, tc))),
        );
        v128.store(g + oO + o4, f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(ov, f32x4.sub(one, ov))));
        v128.store(g + iO + o4, f32x4.mul(f32x4.mul(dcv, gv), f32x4.mul(iv, f32x4.sub(one, iv))));
        v128.store(g + fO + o4, f32x4.mul(f32x4.mul(dcv, v128.load(cp + o4)), f32x4.mul(fv, f32x4.sub(one, fv))));
        v128.store(g + gO + o4, f32x4.mul(f32x4.mul(dcv, iv), f32x4.sub(one, f32x4.mul(gv, gv))));
        v128.store(dcr + o4, f32x4.mul(dcv, fv));
      }
      for (; j < H; j++) {
        const o4 = <usize>j << 2;
        const iv = load<f32>(g + iO + o4);
        const fv = load<f32>(g + fO + o4);
        const ov = load<f32>(g + oO + o4);
        const gv = load<f32>(g + gO + o4);
        const tc = tanhs(load<f32>(co + o4));
        const dhv = load<f32>(dh + o4);
        const dcv = load<f32>(dcr + o4) + dhv * ov * (1 - tc * tc);
        store<f32>(g + oO + o4, dhv * tc * (ov * (1 - ov)));
        store<f32>(g + iO + o4, dcv * gv * (iv * (1 - iv)));
        store<f32>(g + fO + o4, dcv * load<f32>(cp + o4) * (fv * (1 - fv)));
        store<f32>(g + gO + o4, dcv * iv * (1 - gv * gv));
        store<f32>(dcr + o4, dcv * fv);
      }
    }
    // dh_{prev} = dgates W_h^T, into the output gradient of the step read before (or into dh0).
    if (s < T - 1) gemmRows(x, G, wtp, G, H, dbuf + <usize>(reverse ? t + 1 : t - 1) * slot, H, r0, r1, true);
    else gemmRows(x, G, wtp, G, H, dh0, H, r0, r1, false);
  }
}

/** dst[r0..r1) += src[r0..r1) for [B, H] matrices. */
export function addRows(dst: usize, src: usize, H: i32, r0: i32, r1: i32): void {
  const start = <usize>(r0 * H) * 4;
  const end = <usize>(r1 * H) * 4;
  let o = start;
  for (; o + 16 <= end; o += 16) v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  for (; o < end; o += 4) store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
}
