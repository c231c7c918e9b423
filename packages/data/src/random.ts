/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32), so that data
 * order, weight initialisation and sampling repeat exactly for a given seed, in Node and in the
 * browser alike. `Math.random` cannot be seeded, and a run must be resumable from saved state.
 */
export class Random {
  #s: Uint32Array;

  constructor(seed: number | readonly number[] = 0) {
    if (typeof seed === 'number') {
      if (!Number.isFinite(seed)) throw new Error(`Random: seed must be a finite number, got ${seed}`);
      this.#s = seedState(seed);
    } else {
      if (seed.length !== 4 || seed.every((v) => v === 0)) {
        throw new Error('Random: a saved state is four 32-bit integers, not all zero');
      }
      this.#s = Uint32Array.from(seed);
    }
  }

  /** The generator's state, for checkpoints; `new Random(state)` continues the same sequence. */
  getState(): number[] {
    return Array.from(this.#s);
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Random.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<A extends { length: number; [index: number]: unknown }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function seedState(seed: number): Uint32Array {
  // splitmix32 spreads any seed (also 0, and non-integers by their bits) over the 128-bit state.
  let x = (Math.trunc(seed) ^ Math.trunc(seed / 4294967296)) >>> 0;
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    s[i] = (z ^ (z >>> 16)) >>> 0;
  }
  if (s.every((v) => v === 0)) s[0] = 1;
  return s;
}
