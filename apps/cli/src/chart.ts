/** The perplexity curve: a terminal sparkline and a small standalone SVG chart. */

const BARS = '▁▂▃▄▅▆▇█';

/**
 * One character per value, from ▁ (the smallest) to █ (the largest). Perplexity falls over orders of
 * magnitude, so values are placed on a log scale. At most `width` characters: longer series are
 * averaged into buckets.
 */
export function sparkline(values: readonly number[], width = 60): string {
  const finite = values.filter((v) => Number.isFinite(v) && v > 0);
  if (finite.length === 0) return '';
  const series = bucket(finite, width).map(Math.log);
  const min = Math.min(...series);
  const max = Math.max(...series);
  const span = max - min;
  return series
    .map((v) => BARS[span === 0 ? 0 : Math.round(((v - min) / span) * (BARS.length - 1))])
    .join('');
}

function bucket(values: number[], width: number): number[] {
  if (values.length <= width) return values;
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    const from = Math.floor((i * values.length) / width);
    const to = Math.floor(((i + 1) * values.length) / width);
    const part = values.slice(from, Math.max(to, from + 1));
    out.push(part.reduce((a, b) => a + b, 0) / part.length);
  }
  return out;
}

export interface ChartSeries {
  label: string;
  /** One value per epoch, starting at epoch 1; NaN where there is none. */
  values: readonly number[];
  color: string;
}

/**
 * An SVG line chart of perplexity per epoch (log scale: it falls from the vocabulary size towards 1),
 * with labelled axes. Self-contained, so it opens in any browser or image viewer.
 */
export function perplexityChartSvg(series: readonly ChartSeries[], title: string): string {
  const width = 640;
  const height = 360;
  const margin = { left: 64, right: 16, top: 36, bottom: 44 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = series.flatMap((s) => s.values.filter((v) => Number.isFinite(v) && v > 0));
  const epochs = Math.max(1, ...series.map((s) => s.values.length));
  const lo = all.length ? Math.min(...all) : 1;
  const hi = all.length ? Math.max(...all) : 10;
  const yMin = Math.log10(lo) - 0.02;
  const yMax = Math.log10(hi) + 0.02 + (hi === lo ? 0.1 : 0);
  const x = (epoch: number) =>
    margin.left + (epochs === 1 ? plotW / 2 : ((epoch - 1) / (epochs - 1)) * plotW);
  const y = (v: number) => margin.top + (1 - (Math.log10(v) - yMin) / (yMax - yMin)) * plotH;
  const fmt = (n: number) => Number(n.toFixed(2)).toString();

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  );
  // Y ticks at 1, 2, 5 x powers of ten inside the range, and always at the ends.
  const ticks = new Set<number>([lo, hi]);
  for (let p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** p;
      if (t > lo * 1.05 && t < hi / 1.05) ticks.add(t);
    }
  }
  for (const t of [...ticks].sort((a, b) => a - b)) {
    const ty = y(t).toFixed(1);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${ty}" y2="${ty}" stroke="#e5e5e5"/>`,
      `<text x="${margin.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`,
    );
  }
  const xStep = Math.max(1, Math.ceil(epochs / 10));
  for (let e = 1; e <= epochs; e += xStep) {
    parts.push(
      `<text x="${x(e).toFixed(1)}" y="${margin.top + plotH + 16}" text-anchor="middle">${e}</text>`,
    );
  }
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="black"/>`,
    `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="black"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 8}" text-anchor="middle">epoch</text>`,
    `<text x="16" y="${margin.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${margin.top + plotH / 2})">perplexity (log scale)</text>`,
  );
  series.forEach((s, i) => {
    const points = s.values
      .map((v, k) => (Number.isFinite(v) && v > 0 ? `${x(k + 1).toFixed(1)},${y(v).toFixed(1)}` : null))
      .filter((p): p is string => p !== null);
    if (points.length === 0) return;
    if (points.length === 1) {
      const [px, py] = points[0]!.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${s.color}"/>`);
    } else {
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points.join(' ')}"/>`);
    }
    const ly = margin.top + 8 + i * 16;
    parts.push(
      `<line x1="${margin.left + plotW - 110}" x2="${margin.left + plotW - 90}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${margin.left + plotW - 84}" y="${ly}" dominant-baseline="middle">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
