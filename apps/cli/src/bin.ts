#!/usr/bin/env node
// First: it must run before any WebAssembly is compiled.
import './relaxed-simd-flag.js';
import { main } from './cli.js';

// A reader that stops early (`rnnlm generate | head`) closes the pipe: the rest of the output has nowhere
// to go, and that is the reader's choice, not an error (saves are atomic, so stopping here loses nothing).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

process.exitCode = await main(process.argv.slice(2));
