import { SIMD, SIMD_THREADS } from '../generated/binary.js';

/** The compiled kernels, for a private memory (`simd`) or a shared one (`threads`). */
export function kernelBinary(variant: 'simd' | 'threads'): Uint8Array<ArrayBuffer> {
  const base64 = variant === 'threads' ? SIMD_THREADS : SIMD;
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
