// Softmax cross-entropy over the rows of a logits matrix, and its gradient, in one pass per row:
// for row n with label y, loss[n] = logsumexp(x) - x[y], and the gradient of the mean loss over the N
// rows is (softmax(x) - onehot(y)) / N. Labels are checked by the caller.

import { exps, expv } from './math';
import { splitRange } from './threads';

export function crossEntropyRows(
  logits: usize, labels: usize, N: i32, V: i32, grad: usize, loss: usize, tid: i32, nt: i32,
): void {
  const n0 = splitRange(N, tid, nt, 0);
  const n1 = splitRange(N, tid, nt, 1);
  const rowBytes = <usize>V * 4;
  const vEnd = rowBytes & ~15;
  const invN: f32 = 1 / <f32>N;
  for (let n = n0; n < n1; n++) {
    const x = logits + <usize>n * rowBytes;
    const g = grad + <usize>n * rowBytes;
    // The largest logit, so that every exponent is <= 0.
    let m4 = f32x4.splat(-Infinity);
    let o: usize = 0;
    for (; o < vEnd; o += 16) m4 = f32x4.max(m4, v128.load(x + o));
    let m = max(max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)), max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
    for (; o < rowBytes; o += 4) m = max(m, load<f32>(x + o));
    // e^(x - m) into the gradient row, and its sum.
    const mv = f32x4.splat(m);
    let s4 = f32x4.splat(0);
    o = 0;
    for (; o < vEnd; o += 16) {
      const e = expv(f32x4.sub(v128.load(x + o), mv));
      v128.store(g + o, e);
      s4 = f32x4.add(s4, e);
    }
    let s = f32x4.extract_lane(s4, 0) + f32x4.extract_lane(s4, 1) + f32x4.extract_lane(s4, 2) + f32x4.extract_lane(s4, 3);
    for (; o < rowBytes; o += 4) {
      const e = exps(load<f32>(x + o) - m);
      store<f32>(g + o, e);
      s += e;
    }
    const y = load<i32>(labels + (<usize>n << 2));
    const label = <usize>y << 2;
    store<f32>(loss + (<usize>n << 2), Mathf.log(s) + m - load<f32>(x + label));
    // softmax / N, minus 1/N at the label.
    const scale = f32x4.splat(invN / s);
    o = 0;
    for (; o < vEnd; o += 16) v128.store(g + o, f32x4.mul(v128.load(g + o), scale));
    const sc = invN / s;
    for (; o < rowBytes; o += 4) store<f32>(g + o, load<f32>(g + o) * sc);
    store<f32>(g + label, load<f32>(g + label) - invN);
  }
}
