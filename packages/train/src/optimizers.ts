import * as tf from '@tensorflow/tfjs-core';
import { applyFusedUpdate, hostKernels } from './fused-update.js';
import { OPTIMIZER_NAMES, type OptimizerName } from './names.js';

export { OPTIMIZER_NAMES, type OptimizerName };

/** An optimizer and its settings (plain JSON: checkpoints store it). */
export interface OptimizerConfig {
  name: OptimizerName;
  /** Learning rate. The notebooks use SGD with lr 1. */
  lr: number;
  /**
   * SGD and Adam: L2 penalty added to the gradient (PyTorch's `weight_decay`). AdamW: decoupled decay,
   * w -= lr * weightDecay * w before the Adam step (Loshchilov & Hutter; PyTorch's AdamW). Default 0,
   * and 0.01 for AdamW as in PyTorch.
   */
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * How updates run: 'auto' in one WebAssembly pass on the wasm and cpu backends (fused-update.ts) and
 * op by op elsewhere, 'ops' always op by op. Both compute the same float32 values.
 */
export type UpdatePath = 'auto' | 'ops';

/** What a checkpoint keeps of an optimizer besides its slot tensors. */
export interface OptimizerState {
  config: Required<OptimizerConfig>;
  step: number;
}

/**
 * SGD, Adam and AdamW with the same update rules as PyTorch. Written here rather than taken from
 * tf.train because tfjs has no AdamW, and one implementation gives all three one state layout that
 * checkpoints save and restore by position (slot i belongs to variable i).
 */
export class Optimizer {
  readonly config: Required<OptimizerConfig>;
  #step = 0;
  /** The rate of the next update: `config.lr` until a schedule sets another. */
  #lr: number;
  /** Adam's first and second moments, one pair per variable. */
  #m: tf.Variable[] = [];
  #v: tf.Variable[] = [];

  constructor(
    config: OptimizerConfig,
    readonly variables: tf.Variable[],
    readonly path: UpdatePath = 'auto',
  ) {
    this.config = resolveOptimizerConfig(config);
    this.#lr = this.config.lr;
    if (this.config.name !== 'sgd') {
      // tidy frees the zeros; the variables are not tracked by it and keep their own copies.
      this.#m = tf.tidy(() => variables.map((w) => tf.variable(tf.zerosLike(w), false)));
      this.#v = tf.tidy(() => variables.map((w) => tf.variable(tf.zerosLike(w), false)));
    }
  }

  /** Updates applied so far (Adam's bias correction counts them). */
  get step(): number {
    return this.#step;
  }

  /** The learning rate the next update uses. */
  get lr(): number {
    return this.#lr;
  }

  /**
   * Sets the rate of the next updates (a schedule calls this before each one). The rate is a number
   * read at each step, so changing it keeps every slot (Adam's moments, its step count) as it is.
   */
  setLearningRate(lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr))
      throw new Error(`learning rate must be zero or positive, got ${lr}`);
    this.#lr = lr;
  }

  /**
   * Applies one update with `grads[i]` the gradient of `variables[i]`, first multiplied by `scale`
   * (gradient clipping's factor, `clipScale`).
   */
  apply(grads: tf.Tensor[], scale = 1): void {
    if (grads.length !== this.variables.length) {
      throw new Error(`optimizer: ${grads.length} gradients for ${this.variables.length} variables`);
    }
    if (!(scale >= 0) || !Number.isFinite(scale)) {
      throw new Error(`optimizer: the gradient scale must be zero or positive, got ${scale}`);
    }
    const { name, weightDecay, beta1, beta2, epsilon } = this.config;
    const lr = this.#lr;
    this.#step++;
    const t = this.#step;
    const rt = this.path === 'auto' ? hostKernels() : null;
    if (rt !== null) {
      const l2 = name === 'adamw' ? 0 : weightDecay;
      const tensors = { variables: this.variables, grads, m: this.#m, v: this.#v };
      if (name === 'sgd') applyFusedUpdate(rt, tensors, { kind: 'sgd', scale, l2, lr });
      else {
        const decay = name === 'adamw' && weightDecay !== 0 ? 1 - lr * weightDecay : 1;
        const adam = { kind: 'adam', scale, l2, decay, lr, beta1, beta2, epsilon, step: t } as const;
        applyFusedUpdate(rt, tensors, adam);
      }
      return;
    }
    tf.tidy(() => {
      for (const [i, w] of this.variables.entries()) {
        let g = scale === 1 ? grads[i]! : tf.mul(grads[i]!, scale);
        if (name !== 'adamw' && weightDecay !== 0) g = tf.add(g, tf.mul(w, weightDecay));
        if (name === 'sgd') {
          w.assign(tf.sub(w, tf.mul(g, lr)));
          continue;
        }
        const m = this.#m[i]!;
        const v = this.#v[i]!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const mHat = tf.div(m, 1 - beta1 ** t);
        const vHat = tf.div(v, 1 - beta2 ** t);
        const decayed = name === 'adamw' && weightDecay !== 0 ? tf.mul(w, 1 - lr * weightDecay) : w;
        w.assign(tf.sub(decayed, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon)), lr)));
      }
    });
  }

  /** Slot tensors by stable name (`m/<i>`, `v/<i>`), for checkpoints. */
  slots(): Array<{ name: string; tensor: tf.Tensor }> {
    return [
      ...this.#m.map((tensor, i) => ({ name: `optimizer/m/${i}`, tensor })),
      ...this.#v.map((tensor, i) => ({ name: `optimizer/v/${i}`, tensor })),
    ];
  }

  /** The JSON part of the optimizer's state; its tensors come from `slots()`. */
  getState(): OptimizerState {
    return { config: { ...this.config }, step: this.#step };
  }

  /** Restores the step count and the slots saved by `slots()`. */
  setState(state: OptimizerState, slots: Map<string, tf.Tensor>): void {
    this.#step = state.step;
    for (const { name, tensor } of this.slots()) {
      const saved = slots.get(name);
      if (!saved)
        throw new Error(`checkpoint has no optimizer slot ${name}; it was saved with another optimizer`);
      if (saved.shape.join() !== tensor.shape.join()) {
        throw new Error(
          `optimizer slot ${name} has shape [${saved.shape}] in the checkpoint, expected [${tensor.shape}]`,
        );
      }
      (tensor as tf.Variable).assign(saved);
    }
  }

  /** Frees the optimizer's slots (Adam's moment estimates). */
  dispose(): void {
    tf.dispose([...this.#m, ...this.#v]);
    this.#m = [];
    this.#v = [];
  }
}

/** Checks a config and fills in every default; throws a clear error on a bad name or value. */
export function resolveOptimizerConfig(config: OptimizerConfig): Required<OptimizerConfig> {
  if (!OPTIMIZER_NAMES.includes(config.name)) {
    throw new Error(
      `unknown optimizer ${JSON.stringify(config.name)}; use one of ${OPTIMIZER_NAMES.join(', ')}`,
    );
  }
  if (!(config.lr > 0) || !Number.isFinite(config.lr)) {
    throw new Error(`learning rate must be a positive number, got ${config.lr}`);
  }
  const weightDecay = config.weightDecay ?? (config.name === 'adamw' ? 0.01 : 0);
  if (!(weightDecay >= 0)) throw new Error(`weight decay must be zero or positive, got ${weightDecay}`);
  return {
    name: config.name,
    lr: config.lr,
    weightDecay,
    beta1: config.beta1 ?? 0.9,
    beta2: config.beta2 ?? 0.999,
    epsilon: config.epsilon ?? 1e-8,
  };
}
