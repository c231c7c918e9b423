import { defineConfig } from 'vite';

// A relative base so the built files work from any static host and any sub-path.
export default defineConfig({
  base: './',
});
