/** How numbers read in the CLI's output. */

export function formatPerplexity(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value >= 1000 ? value.toExponential(2) : value.toFixed(2);
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m < 60
    ? `${m}m ${String(s).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
