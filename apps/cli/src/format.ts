/** How numbers read in the CLI's output. */

export function formatPerplexity(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value >= 1000 ? value.toExponential(2) : value.toFixed(2);
}

/** A learning rate to three significant digits (`0.01`, `0.000123`, `1e-7`); `-` when unknown. */
export function formatRate(value: number | undefined): string {
  return value === undefined ? '-' : String(Number(value.toPrecision(3)));
}

/** Bytes in the unit that reads best: B, KB, MB, GB (powers of 1,000). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toPrecision(3)} ${units[unit]}`;
}

/** A whole number with thousands separators (`1,234,567`). */
export function formatCount(value: number): string {
  // By hand rather than toLocaleString: its first call loads ICU's locale data, 0.15 s of every command's start.
  return String(Math.round(value)).replace(/\B(?=(\d{3})+$)/g, ',');
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m < 60
    ? `${m}m ${String(s).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
