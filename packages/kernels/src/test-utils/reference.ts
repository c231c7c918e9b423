/**
 * The cells written out plainly in float64, one multiply-add at a time, straight from the equations
 * (d2l ch. 9), with backpropagation through time written out the same way: the independent form the
 * kernels are checked against. Layouts as in sequence.ts.
 */
import { type CellKind, gatesPerCell } from '../cells.js';

export interface RefInputs {
  cell: CellKind;
  T: number;
  B: number;
  H: number;
  reverse: boolean;
  /** LSTM block numbers of i, f, o, c~. */
  order?: [number, number, number, number];
  xProj: Float64Array;
  h0: Float64Array;
  c0: Float64Array;
  W: Float64Array;
}

export interface RefGrads {
  dOutputs: Float64Array;
  dh: Float64Array;
  dc: Float64Array;
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));

/** row (length H) times W[:, c0 .. c0+n) (W is [H, ld]) */
function rowTimes(h: ArrayLike<number>, W: Float64Array, ld: number, c0: number, n: number): Float64Array {
  const H = h.length;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < H; k++) s += h[k]! * W[k * ld + c0 + j]!;
    out[j] = s;
  }
  return out;
}

interface Trace {
  outputs: Float64Array;
  h: Float64Array;
  c: Float64Array;
}

export function refForward(p: RefInputs): Trace {
  const { cell, T, B, H, reverse } = p;
  const G = gatesPerCell(cell) * H;
  const [oi, of, oo, og] = p.order ?? [0, 1, 2, 3];
  const outputs = new Float64Array(T * B * H);
  const hFinal = new Float64Array(B * H);
  const cFinal = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    let h = Array.from(p.h0.subarray(b * H, (b + 1) * H));
    let c = Array.from(p.c0.subarray(b * H, (b + 1) * H));
    for (let s = 0; s < T; s++) {
      const t = reverse ? T - 1 - s : s;
      const x = p.xProj.subarray((t * B + b) * G, (t * B + b + 1) * G);
      const next = new Array<number>(H);
      if (cell === 'rnn') {
        const r = rowTimes(h, p.W, G, 0, H);
        for (let j = 0; j < H; j++) next[j] = Math.tanh(x[j]! + r[j]!);
      } else if (cell === 'gru') {
        const zr = rowTimes(h, p.W, G, 0, 2 * H);
        const z = Array.from({ length: H }, (_, j) => sig(x[j]! + zr[j]!));
        const r = Array.from({ length: H }, (_, j) => sig(x[H + j]! + zr[H + j]!));
        const rh = h.map((v, j) => r[j]! * v);
        const cand = rowTimes(rh, p.W, G, 2 * H, H);
        for (let j = 0; j < H; j++) {
          const hc = Math.tanh(x[2 * H + j]! + cand[j]!);
          next[j] = z[j]! * h[j]! + (1 - z[j]!) * hc;
        }
      } else {
        const r = rowTimes(h, p.W, G, 0, G);
        const nc = new Array<number>(H);
        for (let j = 0; j < H; j++) {
          const i = sig(x[oi * H + j]! + r[oi * H + j]!);
          const f = sig(x[of * H + j]! + r[of * H + j]!);
          const o = sig(x[oo * H + j]! + r[oo * H + j]!);
          const g = Math.tanh(x[og * H + j]! + r[og * H + j]!);
          nc[j] = f * c[j]! + i * g;
          next[j] = o * Math.tanh(nc[j]!);
        }
        c = nc;
      }
      h = next;
      outputs.set(h, (t * B + b) * H);
    }
    hFinal.set(h, b * H);
    cFinal.set(c, b * H);
  }
  return { outputs, h: hFinal, c: cFinal };
}

/** The scalar loss sum(dOutputs ⊙ outputs) + sum(dh ⊙ h) + sum(dc ⊙ c), whose gradient the kernels give. */
export function refLoss(p: RefInputs, g: RefGrads): number {
  const { outputs, h, c } = refForward(p);
  let s = 0;
  for (let i = 0; i < outputs.length; i++) s += outputs[i]! * g.dOutputs[i]!;
  for (let i = 0; i < h.length; i++) s += h[i]! * g.dh[i]!;
  if (p.cell === 'lstm') for (let i = 0; i < c.length; i++) s += c[i]! * g.dc[i]!;
  return s;
}

/** Central differences of refLoss with respect to every element of xProj, h0, c0 and W (float64). */
export function numericGrads(p: RefInputs, g: RefGrads, eps = 1e-6) {
  const grad = (arr: Float64Array) => {
    const out = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const keep = arr[i]!;
      arr[i] = keep + eps;
      const up = refLoss(p, g);
      arr[i] = keep - eps;
      const down = refLoss(p, g);
      arr[i] = keep;
      out[i] = (up - down) / (2 * eps);
    }
    return out;
  };
  return { dxProj: grad(p.xProj), dh0: grad(p.h0), dc0: grad(p.c0), dW: grad(p.W) };
}
