/** Parsers for flag values: each rejects a bad value with a message that names the accepted ones. */
import { InvalidArgumentError } from 'commander';

export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`expected an integer, got "${value}".`);
    }
    if (n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}, got ${n}.`
          : `expected an integer from ${min} to ${max}, got ${n}.`,
      );
    }
    return n;
  };
}

export function number(
  opts: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean } = {},
) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n))
      throw new InvalidArgumentError(`expected a number, got "${value}".`);
    if (opts.min !== undefined && (opts.exclusiveMin ? n <= opts.min : n < opts.min)) {
      throw new InvalidArgumentError(
        `expected a number ${opts.exclusiveMin ? '>' : '>='} ${opts.min}, got ${n}.`,
      );
    }
    if (opts.max !== undefined && (opts.exclusiveMax ? n >= opts.max : n > opts.max)) {
      throw new InvalidArgumentError(
        `expected a number ${opts.exclusiveMax ? '<' : '<='} ${opts.max}, got ${n}.`,
      );
    }
    return n;
  };
}

/** A corpus length cap: a positive number of tokens, or -1 for all of them (as the PyTorch reference). */
export function tokenCap(value: string): number {
  const n = integer(-1)(value);
  if (n === 0) throw new InvalidArgumentError('expected a positive integer, or -1 for all tokens, got 0.');
  return n;
}
