// Before each test file: the kernels' tests run the relaxed-SIMD build where the engine has it, Node 20
// included (its V8 has relaxed SIMD behind a flag; a test run owns its process, as the CLI does). The
// second project in the repository's vitest.config.ts runs them again with RNNLM_KERNELS_SIMD=plain.
import { enableRelaxedSimdInNode } from '../relaxed-simd.js';

enableRelaxedSimdInNode();
