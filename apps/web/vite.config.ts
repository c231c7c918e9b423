import { defineConfig } from 'vite';

// Cross-origin isolation (SharedArrayBuffer) lets the fused recurrent kernels use a thread per core.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// A relative base so the built files work from any static host and any sub-path.
export default defineConfig({
  base: './',
  server: { headers: isolation },
  preview: { headers: isolation },
});
