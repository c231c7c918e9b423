// A GRU over all time steps of one layer, forward and backward through time, in d2l's form (tfjs-layers'
// with resetAfter false): Z = σ(X W_xz + H W_hz + b_z), R = σ(X W_xr + H W_hr + b_r),
// H~ = tanh(X W_xh + (R ⊙ H) W_hh + b_h), H_t = Z ⊙ H + (1 − Z) ⊙ H~.
//
// Layout as in lstm.ts, with gates (z, r, h~) in xg [T, B, 3H], and rh [T, B, H] = R ⊙ H_{t-1} of every
// step (the candidate's matmul input, which the weight gradient of W_hh needs again). The recurrent
// weight is packed in two parts: W_zr = W_h[:, 0:2H] and W_hh = W_h[:, 2H:3H].

import { gemmRows } from './gemm';
import { addRows } from './lstm';
import { gatherStep } from './project';
import { sigmoids, sigmoidv, tanhs, tanhv } from './math';
import { nextRowSteps, pieceRow0, pieceRow1, pieceStep } from './threads';


/** ids, wx, bias: gathered inputs (see lstmForward), or ids = 0 where xg holds the projected inputs. */
export function gruForward(
  xg: usize, ids: usize, wx: usize, bias: usize, hbuf: usize, rh: usize, wzr: usize, whh: usize, T: i32,
  B: i32, H: i32, reverse: bool, sched: usize, tid: i32, nt: i32,
): void {
  const G = 3 * H;
  const slot = <usize>B * <usize>H * 4;
  const zO: usize = 0, rO = <usize>H * 4, hO = <usize>(2 * H) * 4;
  for (let w = nextRowSteps(sched, B, T, tid, nt); w >= 0; w = nextRowSteps(sched, B, T, tid, nt)) {
    const s = pieceStep(w), r0 = pieceRow0(w), r1 = pieceRow1(w, B);
    const t = reverse ? T - 1 - s : s;
    const prev = reverse ? t + 1 : t;
    const out = reverse ? t : t + 1;
    const x = xg + <usize>t * <usize>B * <usize>G * 4;
    const hp = hbuf + <usize>prev * slot;
    const rht = rh + <usize>t * slot;
    if (ids != 0) gatherStep(ids, wx, bias, G, B, t, r0, r1, xg);
    gemmRows(hp, H, wzr, H, 2 * H, x, G, r0, r1, true);
    for (let b = r0; b < r1; b++) {
      const g = x + <usize>(b * G) * 4;
      const row = <usize>(b * H) * 4;
      let j = 0;
      for (; j + 4 <= H; j += 4) {
        const o4 = <usize>j << 2;
        const zv = sigmoidv(v128.load(g + zO + o4));
        const rv = sigmoidv(v128.load(g + rO + o4));
        v128.store(g + zO + o4, zv);
        v128.store(g + rO + o4, rv);
        v128.store(rht + row + o4, f32x4.mul(rv, v128.load(hp + row + o4)));
      }
      for (; j < H; j++) {
        const o4 = <usize>j << 2;
        const zv = sigmoids(load<f32>(g + zO + o4));
        const rv = sigmoids(load<f32>(g + rO + o4));
        store<f32>(g + zO + o4, zv);
        store<f32>(g + rO + o4, rv);
        store<f32>(rht + row + o4, rv * load<f32>(hp + row + o4));
      }
    }
    gemmRows(rht, H, whh, H, H, x + hO, G, r0, r1, true);
    const ho = hbuf + <usize>out * slot;
    for (let b = r0; b < r1; b++) {
      const g = x + <usize>(b * G) * 4;
      const row = <usize>(b * H) * 4;
      let j = 0;
      for (; j + 4 <= H; j += 4) {
        const o4 = <usize>j << 2;
        const cv = tanhv(v128.load(g + hO + o4));
        v128.store(g + hO + o4, cv);
        const zv = v128.load(g + zO + o4);
        // Z ⊙ H + (1 − Z) ⊙ H~ as H~ + Z ⊙ (H − H~), as the op-by-op cells write it.
        v128.store(ho + row + o4, f32x4.add(cv, f32x4.mul(zv, f32x4.sub(v128.load(hp + row + o4), cv))));
      }
      for (; j < H; j++) {
        const o4 = <usize>j << 2;
        const cv = tanhs(load<f32>(g + hO + o4));
        store<f32>(g + hO + o4, cv);
        const zv = load<f32>(g + zO + o4);
        store<f32>(ho + row + o4, cv + zv * (load<f32>(hp + row + o4) - cv));
      }
    }
  }
}

/**
 * As lstmBackward. wzrT: W_zr^T [2H, H] packed, whhT: W_hh^T [H, H] packed; drh [B, H] is scratch.
 */
export function gruBackward(
  xg: usize, hbuf: usize, dbuf: usize, dhT: usize, wzrT: usize, whhT: usize, drh: usize, dh0: usize,
  T: i32, B: i32, H: i32, reverse: bool, sched: usize, tid: i32, nt: i32,
): void {
  const G = 3 * H;
  const slot = <usize>B * <usize>H * 4;
  const zO: usize = 0, rO = <usize>H * 4, hO = <usize>(2 * H) * 4;
  const one = f32x4.splat(1);
  for (let w = nextRowSteps(sched, B, T, tid, nt); w >= 0; w = nextRowSteps(sched, B, T, tid, nt)) {
    const s = pieceStep(w), r0 = pieceRow0(w), r1 = pieceRow1(w, B);
    if (s == 0) addRows(dbuf + <usize>(reverse ? 0 : T - 1) * slot, dhT, H, r0, r1);
    const t = reverse ? s : T - 1 - s;
    const prev = reverse ? t + 1 : t;
    const x = xg + <usize>t * <usize>B * <usize>G * 4;
    const d = dbuf + <usize>t * slot;
    const hp = hbuf + <usize>prev * slot;
    const last = s == T - 1;
    // Where dh_{prev} goes: the output gradient of the step read before, or dh0 (written, not added).
    const target = last ? dh0 : dbuf + <usize>(reverse ? t + 1 : t - 1) * slot;
    for (let b = r0; b < r1; b++) {
      const g = x + <usize>(b * G) * 4;
      const row = <usize>(b * H) * 4;
      let j = 0;
      for (; j + 4 <= H; j += 4) {
        const o4 = <usize>j << 2;
        const zv = v128.load(g + zO + o4);
        const cv = v128.load(g + hO + o4);
        const dhv = v128.load(d + row + o4);
        const hv = v128.load(hp + row + o4);
        v128.store(g + hO + o4, f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, zv)), f32x4.sub(one, f32x4.mul(cv, cv))));
        v128.store(g + zO + o4, f32x4.mul(f32x4.mul(dhv, f32x4.sub(hv, cv)), f32x4.mul(zv, f32x4.sub(one, zv))));
        const direct = f32x4.mul(dhv, zv);
        v128.store(target + row + o4, last ? direct : f32x4.add(v128.load(target + row + o4), direct));
      }
      for (; j < H; j++) {
        const o4 = <usize>j << 2;
        const zv = load<f32>(g + zO + o4);
        const cv = load<f32>(g + hO + o4);
        const dhv = load<f32>(d + row + o4);
        const hv = load<f32>(hp + row + o4);
        store<f32>(g + hO + o4, dhv * (1 - zv) * (1 - cv * cv));
        store<f32>(g + zO + o4, dhv * (hv - cv) * (zv * (1 - zv)));
        const direct = dhv * zv;
        store<f32>(target + row + o4, last ? direct : load<f32>(target + row + o4) + direct);
      }
    }
    // d(R ⊙ H) = dH~_pre W_hh^T
    gemmRows(x + hO, G, whhT, H, H, drh, H, r0, r1, false);
    for (let b = r0; b < r1; b++) {
      const g = x + <usize>(b * G) * 4;
      const row = <usize>(b * H) * 4;
      let j = 0;
      for (; j + 4 <= H; j += 4) {
        const o4 = <usize>j << 2;
        const rv = v128.load(g + rO + o4);
        const drv = v128.load(drh + row + o4);
        v128.store(g + rO + o4, f32x4.mul(f32x4.mul(drv, v128.load(hp + row + o4)), f32x4.mul(rv, f32x4.sub(one, rv))));
        v128.store(target + row + o4, f32x4.add(v128.load(target + row + o4), f32x4.mul(drv, rv)));
      }
      for (; j < H; j++) {
        const o4 = <usize>j << 2;
        const rv = load<f32>(g + rO + o4);
        const drv = load<f32>(drh + row + o4);
        store<f32>(g + rO + o4, drv * load<f32>(hp + row + o4) * (rv * (1 - rv)));
        store<f32>(target + row + o4, load<f32>(target + row + o4) + drv * rv);
      }
    }
    // dh_{prev} += [dZ_pre, dR_pre] W_zr^T
    gemmRows(x, G, wzrT, 2 * H, H, target, H, r0, r1, true);
  }
}
