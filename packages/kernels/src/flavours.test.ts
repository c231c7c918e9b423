// The two builds of the kernels (binary.ts): the relaxed-SIMD one, whose products use a fused
// multiply-add where the engine has one, and the plain-SIMD fallback. Each build's own tests run in
// full (the repository's vitest.config.ts runs this package's tests on both); here the two are
// compared: the same results to rounding, and the relaxed build's products really rounding the way
// the engine's relaxed_madd does.
import { describe, expect, it } from 'vitest';
import { defaultFlavour, loadKernelBinaries } from './binary.js';
import { KernelRuntime, kernelsStatus, matMul, sequenceBackward, sequenceForward } from './index.js';
import { enableRelaxedSimdInNode, relaxedSimdSupported } from './relaxed-simd.js';
import { maxDiff, uniform } from './test-utils/helpers.js';

/**
 * f(x, y, z) = lane 0 of f32x4.relaxed_madd(splat x, splat y, splat z), as the engine computes it:
 * type (f32 f32 f32) -> f32, exported as "f".
 */
// biome-ignore format: the module's bytes, a section a line
const MADD_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7d, 0x7d, 0x7d, 0x01, 0x7d, // type: (f32 f32 f32) -> f32
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f"
  0x0a, 0x16, 0x01, 0x14, 0x00, // code: one body of 20 bytes, no locals
  0x20, 0x00, 0xfd, 0x13, 0x20, 0x01, 0xfd, 0x13, 0x20, 0x02, 0xfd, 0x13, // 3 x local.get, f32x4.splat
  0xfd, 0x85, 0x02, 0xfd, 0x1f, 0x00, 0x0b, // f32x4.relaxed_madd, f32x4.extract_lane 0, end
]);

const onRelaxed = relaxedSimdSupported() ? describe : describe.skip;

describe('relaxed SIMD in Node', () => {
  it('is on in every Node this package supports once a program asks (Node 20: behind a flag)', () => {
    // The setup file asked already, before the kernels loaded; asking again changes nothing.
    expect(relaxedSimdSupported()).toBe(true);
    expect(enableRelaxedSimdInNode()).toBe(true);
  });
});

describe('the kernels build', () => {
  it('is the relaxed one where relaxed SIMD validates, unless RNNLM_KERNELS_SIMD says plain', () => {
    const forced = process.env.RNNLM_KERNELS_SIMD === 'plain';
    const want = !forced && relaxedSimdSupported() ? 'relaxed' : 'plain';
    expect(defaultFlavour).toBe(want);
    expect(KernelRuntime.createSync().simd).toBe(want);
    expect(kernelsStatus()).toMatchObject({ available: true, simd: want });
    expect(kernelsStatus().message).toContain(
      want === 'relaxed' ? '(relaxed SIMD, fused multiply-add)' : '(plain SIMD)',
    );
  });
});

onRelaxed('the relaxed and plain builds', () => {
  it("multiply-add as the engine's relaxed_madd does, and as two roundings in the plain build", async () => {
    await loadKernelBinaries('relaxed');
    await loadKernelBinaries('plain');
    const engine = new WebAssembly.Instance(new WebAssembly.Module(MADD_MODULE)).exports.f as (
      x: number,
      y: number,
      z: number,
    ) => number;
    // -1 + (1 + 2^-12)^2 = 2^-11 + 2^-24 exactly when rounded once; a multiply and an add round the
    // square to 1 + 2^-11 first and give 2^-11.
    const e = 1 + 2 ** -12;
    const fused = engine(e, e, -1);
    expect([2 ** -11 + 2 ** -24, 2 ** -11]).toContain(fused);
    // K = 2: the accumulator holds -1 * 1 when the second product is added to it.
    const inputs = { a: Float32Array.of(-1, e), b: Float32Array.of(1, e), M: 1, N: 1, K: 2 };
    expect(matMul(KernelRuntime.createSync('relaxed'), inputs)[0]).toBe(fused);
    expect(matMul(KernelRuntime.createSync('plain'), inputs)[0]).toBe(2 ** -11);
  });

  it('agree to rounding on products and on a training pass, each repeatable', async () => {
    await loadKernelBinaries('relaxed');
    await loadKernelBinaries('plain');
    const r = uniform(2024);
    const [M, N, K] = [37, 70, 300];
    const a = Float32Array.from({ length: M * K }, () => r(1));
    const b = Float32Array.from({ length: K * N }, () => r(1));
    const runtimes = {
      relaxed: [KernelRuntime.createSync('relaxed'), await KernelRuntime.create(2, 'relaxed')],
      plain: [KernelRuntime.createSync('plain'), await KernelRuntime.create(2, 'plain')],
    };
    try {
      const products = Object.values(runtimes)
        .flat()
        .map((rt) => matMul(rt, { a, b, M, N, K }));
      for (const p of products.slice(1)) expect(maxDiff(p, products[0]!)).toBeLessThan(2e-5);

      const [T, B, H] = [6, 5, 16];
      const G = 4 * H;
      const shape = { cell: 'lstm' as const, T, B, H };
      const inputs = {
        input: {
          x: Float32Array.from({ length: T * B * 8 }, () => r(1)),
          inputSize: 8,
          Wx: Float32Array.from({ length: 8 * G }, () => r(0.3)),
          b: Float32Array.from({ length: G }, () => r(0.1)),
        },
        h0: Float32Array.from({ length: B * H }, () => r(1)),
        c0: Float32Array.from({ length: B * H }, () => r(1)),
        W: Float32Array.from({ length: H * G }, () => r(0.3)),
      };
      const dOutputs = Float32Array.from({ length: T * B * H }, () => r(1));
      const pass = (rt: KernelRuntime) => {
        const f = sequenceForward(rt, shape, inputs);
        const outputs = Float32Array.from(f.outputs);
        const saved = f.saved.map((s) => Float32Array.from(s));
        const g = sequenceBackward(rt, shape, { ...inputs, outputs, saved, dOutputs, dh: null, dc: null });
        return [
          outputs,
          Float32Array.from(g.dW),
          Float32Array.from(g.dh0),
          Float32Array.from(g.dWx!),
          Float32Array.from(g.dx!),
        ];
      };
      const [relaxed, plain] = [runtimes.relaxed[0]!, runtimes.plain[0]!];
      const first = pass(relaxed);
      // Seeded runs repeat exactly on one build.
      expect(pass(relaxed)).toEqual(first);
      const other = pass(plain);
      for (const [i, values] of first.entries()) expect(maxDiff(values, other[i]!)).toBeLessThan(1e-4);
    } finally {
      for (const rt of Object.values(runtimes).flat()) rt.dispose();
    }
  });
});
