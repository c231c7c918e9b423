// Imported first by bin.ts, so that it runs before anything compiles WebAssembly: the CLI owns its
// process, so on Node 20, whose V8 has relaxed SIMD behind a flag, it turns it on and the kernels run
// their fused multiply-add build (Node 22 and later have it on already). RNNLM_KERNELS_SIMD=plain still
// picks the plain build.
import { enableRelaxedSimdInNode } from '@rnnlm/kernels/relaxed-simd';

enableRelaxedSimdInNode();
