/**
 * Whether this engine runs WebAssembly relaxed SIMD (the kernels' fused multiply-add build), and, for a
 * Node program that owns its process, turning it on where Node 20 has it behind a flag. Browser-safe
 * and free of the kernels' binaries, so that a program can call it before anything compiles them.
 */

/**
 * The smallest module using relaxed SIMD: one function (v128, v128, v128) -> v128 returning
 * f32x4.relaxed_madd of its parameters (opcode 0xfd 0x105). Validating it costs nothing, where
 * validating the kernels would mean loading the relaxed binary everywhere.
 */
// biome-ignore format: the module's bytes, a section a line
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) -> v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // code
]);

/** Whether this engine validates WebAssembly relaxed SIMD (f32x4.relaxed_madd). */
export function relaxedSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(PROBE);
  } catch {
    return false;
  }
}

interface NodeProcess {
  getBuiltinModule?: (name: string) => { setFlagsFromString(flags: string): void } | undefined;
}

/**
 * For programs, not libraries: on Node 20 (V8 11.3) relaxed SIMD is implemented but off until V8's
 * `--experimental-wasm-relaxed-simd` is set; this sets it and says whether relaxed SIMD now validates
 * (Node 22 and later have it on: nothing to do). V8 reads its WebAssembly feature flags when it
 * validates or compiles a module, so this must run before anything compiles one: a program's first
 * import. It changes a process-wide engine setting, which is why @rnnlm/kernels never calls it
 * itself; the rnnlm CLI and the benchmark scripts do. Returns false outside Node.
 */
export function enableRelaxedSimdInNode(): boolean {
  if (relaxedSimdSupported()) return true;
  const node = (globalThis as { process?: NodeProcess }).process;
  const v8 = node?.getBuiltinModule?.('node:v8');
  if (!v8) return false;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return relaxedSimdSupported();
}
