/** The peak of tensor memory over a run, for benchmarks. */
import * as tf from '@tensorflow/tfjs-core';

export interface PeakTensorBytes {
  /** The most bytes of tensor memory held at once since the watch began. */
  peak(): number;
  /** Stops watching (the engine's counter becomes a plain field again). */
  stop(): void;
}

/**
 * Watches tfjs's count of tensor bytes (the `numBytes` that `tf.memory()` reports, kept in
 * `tf.engine().state` and updated whenever a tensor is made or freed) and remembers its highest value.
 * Watching every update, rather than sampling `tf.memory()` between training steps, catches the real
 * peak: the middle of a step, when the activations kept for the backward pass and the gradients are
 * alive at once. Should the engine ever keep the count differently, this falls back to sampling
 * `tf.memory()` whenever `peak()` is asked.
 */
export function watchPeakTensorBytes(): PeakTensorBytes {
  const state = tf.engine().state as unknown as { numBytes: number };
  let bytes = state.numBytes;
  let peak = bytes;
  const field = Object.getOwnPropertyDescriptor(state, 'numBytes');
  if (!field || !('value' in field) || !field.writable || !field.configurable) {
    return {
      peak: () => {
        peak = Math.max(peak, tf.memory().numBytes);
        return peak;
      },
      stop() {},
    };
  }
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: field.enumerable ?? true,
    get: () => bytes,
    set: (value: number) => {
      bytes = value;
      if (value > peak) peak = value;
    },
  });
  return {
    peak: () => peak,
    stop() {
      Object.defineProperty(state, 'numBytes', { ...field, value: bytes });
    },
  };
}
