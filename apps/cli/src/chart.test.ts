import { describe, expect, it } from 'vitest';
import { perplexityChartSvg, sparkline } from './chart.js';

describe('sparkline', () => {
  it('maps the smallest value to the lowest bar and the largest to the highest, on a log scale', () => {
    // 1, 10, 100 are evenly spaced in log: lowest, middle, highest bar.
    expect(sparkline([100, 10, 1])).toBe('█▅▁');
    expect(sparkline([28, 28])).toBe('▁▁');
  });

  it('averages long series into at most `width` characters and skips values that are not finite', () => {
    const line = sparkline(
      Array.from({ length: 500 }, (_, i) => 30 / (1 + i)),
      50,
    );
    expect([...line]).toHaveLength(50);
    expect(line.startsWith('█')).toBe(true);
    expect(line.endsWith('▁')).toBe(true);
    expect(sparkline([Number.NaN, 5, Number.POSITIVE_INFINITY, 2])).toBe('█▁');
    expect(sparkline([])).toBe('');
  });
});

describe('perplexityChartSvg', () => {
  it('draws one polyline per series through every finite point, with a title and a legend', () => {
    const svg = perplexityChartSvg(
      [
        { label: 'train', values: [20, 10, 5, 2], color: '#1f77b4' },
        { label: 'valid', values: [22, 12, Number.NaN, 4], color: '#d62728' },
      ],
      'LSTM <moby-dick>',
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(' '));
    expect(polylines.map((p) => p.length)).toEqual([4, 3]);
    expect(svg).toContain('LSTM &#60;moby-dick&#62;');
    expect(svg).toContain('>train<');
    expect(svg).toContain('>valid<');
    // Perplexity falls, so the train line's points go down the page: y grows.
    const ys = polylines[0]!.map((p) => Number(p.split(',')[1]));
    expect([...ys].sort((a, b) => a - b)).toEqual(ys);
  });

  it('draws a single epoch as a point', () => {
    const svg = perplexityChartSvg([{ label: 'train', values: [7], color: 'black' }], 't');
    expect(svg).toContain('<circle');
    expect(svg).not.toContain('<polyline');
  });
});
