/** Import failures of optional packages, turned into one line a user can act on. Node only. */

/** Turns an import failure of `pkg` into one line a user can act on. */
export function describeLoadFailure(pkg: string, error: unknown): string {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // Node says "Cannot find package 'x'" (ESM) or "Cannot find module 'x'" (CommonJS); Vite, which
  // runs the tests, says 'Could not resolve "x"'. A missing dependency of the package is not this.
  const namesPackage = message.includes(`'${pkg}'`) || message.includes(`"${pkg}"`);
  if (
    namesPackage &&
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Could not resolve/.test(message))
  ) {
    return `${pkg} is not installed`;
  }
  if (message.includes('tfjs_binding.node')) {
    return (
      `${pkg} is installed but its native addon is missing (its install script, which downloads libtensorflow, ` +
      'did not run: pnpm runs dependency build scripts only when allowed)'
    );
  }
  if (message.includes('dawn.node')) {
    return `${pkg} is installed but has no prebuilt Dawn binary for ${process.platform}-${process.arch}`;
  }
  if (/lib(tensorflow|cuda|cudnn)[\w.]*\.so/.test(message)) {
    const library = /lib[\w.-]+\.so[\w.]*/.exec(message)?.[0];
    return `${pkg} is installed but could not load ${library ?? 'a shared library'}`;
  }
  const first = message.split('\n').find((line) => line.trim() !== '') ?? message;
  return `${pkg} failed to load: ${first.trim()}`;
}
