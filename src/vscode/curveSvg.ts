import type { ActivationName } from '../model';
import { ACTIVATIONS } from '../core/activations';

/**
 * A small picture of f (solid) and f' (dashed) over [-5, 5] as an SVG data URI, for hovers. Drawn from the
 * activation table, the same numbers the core trains with.
 */
export function curveSvg(name: ActivationName, width = 180, height = 90): string {
  const a = ACTIVATIONS[name];
  const xs = Array.from({ length: 101 }, (_, i) => -5 + i / 10);
  const f = xs.map(x => a.f(x));
  const df = xs.map(x => a.df(x));
  const all = [...f, ...df].filter(Number.isFinite);
  const lo = Math.min(-0.1, ...all), hi = Math.max(1.1, ...all);
  const sx = (x: number) => ((x + 5) / 10) * (width - 8) + 4;
  const sy = (y: number) => height - 4 - ((y - lo) / (hi - lo)) * (height - 8);
  const line = (ys: number[]) => ys.map((y, i) => `${i ? 'L' : 'M'}${sx(xs[i]).toFixed(1)},${sy(y).toFixed(1)}`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`
    + `<rect width="100%" height="100%" fill="#1e1e1e" rx="3"/>`
    + `<path d="M4,${sy(0).toFixed(1)}H${width - 4}M${sx(0).toFixed(1)},4V${height - 4}" stroke="#666" stroke-width="0.5"/>`
    + `<path d="${line(df)}" fill="none" stroke="#e8a33d" stroke-width="1.2" stroke-dasharray="3 2"/>`
    + `<path d="${line(f)}" fill="none" stroke="#4fc1ff" stroke-width="1.6"/>`
    + `<text x="6" y="12" font-size="9" fill="#4fc1ff" font-family="sans-serif">f</text>`
    + `<text x="16" y="12" font-size="9" fill="#e8a33d" font-family="sans-serif">f'</text></svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}
