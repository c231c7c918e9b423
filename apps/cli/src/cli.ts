/**
 * The `rnnlm` entry point: parses the arguments, runs the command and turns whatever it throws into
 * one line on stderr and an exit code. The commands are imported only when one runs (see program.ts).
 */
import { CommanderError } from 'commander';
import { CliError, EXIT, messageOf } from './errors.js';
import type { Io } from './flags.js';
import { buildProgram } from './program.js';

/** Runs the CLI with `argv` (without node and the script) and resolves with the exit code. */
export async function main(argv: string[], io: Io = process): Promise<number> {
  const program = buildProgram(io, async (command, flags, context) => {
    const { runCommand } = await import('./commands/index.js');
    await runCommand(command, flags, context);
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    return reportError(error, io, Boolean(program.opts().verbose) || argv.includes('--verbose'));
  }
}

function reportError(error: unknown, io: Io, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Help and version end here too; commander has already printed what it had to say.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  if (error instanceof CliError) {
    io.stderr.write(`error: ${error.message}\n`);
    if (verbose) io.stderr.write(`${stackOf(error)}\n`);
    return error.exitCode;
  }
  io.stderr.write(
    `error: ${messageOf(error)}${verbose ? '' : ' (an internal error: rerun with --verbose for the stack trace)'}\n`,
  );
  if (verbose) io.stderr.write(`${error instanceof Error ? stackOf(error) : String(error)}\n`);
  return EXIT.internal;
}

function stackOf(error: Error): string {
  let text = error.stack ?? String(error);
  let cause = error.cause;
  while (cause instanceof Error) {
    text += `\ncaused by: ${cause.stack ?? cause.message}`;
    cause = cause.cause;
  }
  return text;
}
