/**
 * Dropout on the non-recurrent connections (Zaremba, Sutskever and Vinyals 2014): each layer's output
 * sequence, on its way to the layer above or to the output head, is multiplied by a mask of zeros and
 * 1/(1-p) (inverted dropout: the expected value is unchanged, and evaluation uses the weights as they
 * are). The recurrent path h_{t-1} -> h_t is left alone, so the recurrences run unchanged: the masks
 * are tfjs multiplications that gradients flow through, except the top layer's, which the fused
 * top-layer-and-head op takes as an input (the head reads the masked outputs inside the kernel).
 *
 * Masks are not drawn with tfjs random ops: the same seed gives the same masks on every backend and
 * path (the wasm backend has no seeded random kernels of its own), so a seed repeats a run
 * exactly and a resumed run continues exactly. Each value is a counter-based hash of (seed, site,
 * row, column) (@rnnlm/kernels' `maskBits`), not a draw from a sequential stream: no value waits for
 * the one before, so the kernels draw a mask on every thread in SIMD when they run, and JavaScript
 * draws the same one when they do not.
 */
import { dropoutMaskValues, dropoutMaskView, kernelRuntime } from '@rnnlm/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { HOST_BACKENDS, writeFloats } from './fused/host-memory.js';
import { DROPOUT_MODES, type DropoutMode } from './model.js';

/**
 * Where a mask applies, so that each connection draws its own mask from the call's seed. Site 0 is the
 * input of the first layer when that input is dense (the embedded tokens; one-hot inputs are not
 * dropped); layer l's output is site l + 1.
 */
export const DROPOUT_INPUT_SITE = 0;
/** The site of layer `layer`'s output (on its way to the layer above, or to the head from the top). */
export const layerOutputSite = (layer: number): number => layer + 1;

/** The masks of one training forward call: rate, mode and the seed they are all drawn from. */
export class DropoutMasks {
  /** The probability that a unit is dropped, in [0, 1). */
  readonly rate: number;
  /** A fresh mask every step (`standard`) or one per sequence (`variational`). */
  readonly mode: DropoutMode;
  /** The seed every site's mask is drawn from (with the site's number). */
  readonly seed: number;

  constructor(rate: number, mode: DropoutMode, seed: number) {
    if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1), got ${rate}`);
    if (!DROPOUT_MODES.includes(mode)) {
      throw new Error(`dropout mode must be one of ${DROPOUT_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
    }
    if (!Number.isFinite(seed)) throw new Error(`dropout seed must be a finite number, got ${seed}`);
    this.rate = rate;
    this.mode = mode;
    this.seed = seed;
  }

  /**
   * The mask of `site` for an activation of `steps * batch` time-major rows and `width` columns, each
   * value 0 (probability `rate`) or 1/(1-rate): `[steps * batch, width]` in standard mode, `[batch,
   * width]` (shared by every step) in variational mode.
   */
  values(site: number, steps: number, batch: number, width: number): Float32Array {
    // Value (row, column) is number row * width + column of the site's mask.
    const count = this.rows(steps, batch) * width;
    return dropoutMaskValues(mixSeed(this.seed, site), this.rate, count, kernelRuntime());
  }

  /** The rows of a mask: one per step of every sequence (`standard`), or one per sequence. */
  rows(steps: number, batch: number): number {
    return this.mode === 'variational' ? batch : steps * batch;
  }

  /** `values` as a tensor, [rows, width] (see `rows`). */
  tensor(site: number, steps: number, batch: number, width: number): tf.Tensor2D {
    const shape = [this.rows(steps, batch), width];
    const rt = kernelRuntime();
    if (rt !== null && (HOST_BACKENDS as readonly string[]).includes(tf.getBackend())) {
      // Drawn in the kernels and copied once, straight into the backend's memory.
      const view = dropoutMaskView(rt, mixSeed(this.seed, site), this.rate, shape[0]! * width);
      return tf.engine().makeTensorFromTensorInfo(writeFloats(tf.backend(), shape, view)) as tf.Tensor2D;
    }
    return tf.tensor2d(this.values(site, steps, batch, width), shape as [number, number]);
  }
}

/**
 * The masks of one forward call of a model with `config`'s dropout in `mode` (a `ForwardMode`): null in
 * evaluation (the default) and when the model has no dropout.
 */
export function dropoutMasksFor(
  config: { dropout?: number; dropoutMode?: DropoutMode },
  mode: { training: boolean; maskSeed?: number } | undefined,
): DropoutMasks | null {
  if (
    mode !== undefined &&
    (typeof mode !== 'object' || mode === null || typeof mode.training !== 'boolean')
  ) {
    throw new Error(
      'forward: mode must be { training: false } or { training: true, maskSeed }, got ' +
        JSON.stringify(mode),
    );
  }
  if (!mode?.training) return null;
  if (typeof mode.maskSeed !== 'number' || !Number.isFinite(mode.maskSeed)) {
    throw new Error(
      `forward: training needs a finite maskSeed to draw its dropout masks from, got ${JSON.stringify(mode.maskSeed)}`,
    );
  }
  const rate = config.dropout ?? 0;
  return rate === 0 ? null : new DropoutMasks(rate, config.dropoutMode ?? 'standard', mode.maskSeed);
}

/**
 * `x` ([steps * batch, width], time-major: row t*B + b is step t of sequence b) times the mask of
 * `site`; `x` itself when `masks` is null (evaluation, or no dropout). Gradients flow to `x` through the
 * multiplication; the mask is a constant.
 */
export function applyDropout(
  x: tf.Tensor2D,
  masks: DropoutMasks | null,
  site: number,
  steps: number,
  batch: number,
): tf.Tensor2D {
  if (masks === null || masks.rate === 0) return x;
  const width = x.shape[1];
  if (x.shape[0] !== steps * batch) {
    throw new Error(`applyDropout: x has ${x.shape[0]} rows, expected steps ${steps} x batch ${batch}`);
  }
  return tf.tidy(() => {
    const mask = masks.tensor(site, steps, batch, width);
    if (masks.mode === 'standard') return tf.mul(x, mask);
    // One [B, W] mask broadcast over the steps.
    const perSequence = tf.reshape(mask, [1, batch, width]);
    return tf.reshape(tf.mul(tf.reshape(x, [steps, batch, width]), perSequence), [steps * batch, width]);
  });
}

/**
 * A 32-bit seed for a (seed, index) pair, different for every pair (a splitmix32 round over both):
 * the trainer derives a step's mask seed from the run's seed and the step, masks derive a site's stream
 * from the step's seed and the site.
 */
export function mixSeed(seed: number, index: number): number {
  const bits = (Math.trunc(seed) ^ Math.trunc(seed / 4294967296)) >>> 0;
  return finalize((finalize(bits) + Math.imul(index + 1, 0x9e3779b9)) >>> 0);
}

function finalize(x: number): number {
  let z = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
