// The arguments a script was given, less the `--` that `pnpm <script> -- --flag` passes on to it (Node's
// parseArgs takes it for the end of the options and every flag after it for a positional argument).
export function scriptArgs(argv = process.argv.slice(2)) {
  return argv[0] === '--' ? argv.slice(1) : argv;
}
