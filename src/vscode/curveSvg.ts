import type { ActivationName } from '../model';
import { ACTIVATIONS } from '../core/activations';

/** Colours that read on the editor's background: an image in a hover cannot use the theme's CSS variables. */
export interface CurveColors { f: string; df: string; axis: string; text: string }
export const CURVE_COLORS: Record<'dark' | 'light' | 'highContrast' | 'highContrastLight', CurveColors> = {
  dark: { f: '#4fc1ff', df: '#e8a33d', axis: '#8a8a8a', text: '#cccccc' },
  light: { f: '#0063b1', df: '#b05a00', axis: '#6e6e6e', text: '#333333' },
  highContrast: { f: '#4fc1ff', df: '#ffd700', axis: '#ffffff', text: '#ffffff' },
  highContrastLight: { f: '#0f4a85', df: '#8a3b00', axis: '#000000', text: '#000000' },
};

const nice = (v: number) => Number(v.toPrecision(2));

/**
 * f (solid) and f' (dashed) over [-5, 5] as an SVG data URI, for hovers: transparent background, axes with
 * ticks at x = -4..4 and at the y range's ends, a legend that names both lines. Drawn from the activation table,
 * the same numbers the core trains with.
 */
export function curveSvg(name: ActivationName, colors: CurveColors = CURVE_COLORS.dark, width = 240, height = 130): string {
  const a = ACTIVATIONS[name];
  const xs = Array.from({ length: 101 }, (_, i) => -5 + i / 10);
  const f = xs.map(x => a.f(x));
  const df = xs.map(x => a.df(x));
  const all = [...f, ...df].filter(Number.isFinite);
  const lo = nice(Math.min(-0.5, ...all)), hi = nice(Math.max(1, ...all));
  const left = 30, right = 6, top = 18, bottom = 18;
  const sx = (x: number) => left + ((x + 5) / 10) * (width - left - right);
  const sy = (y: number) => height - bottom - ((y - lo) / (hi - lo)) * (height - top - bottom);
  const line = (ys: number[]) => ys.map((y, i) => `${i ? 'L' : 'M'}${sx(xs[i]).toFixed(1)},${sy(y).toFixed(1)}`).join('');
  const text = (x: number, y: number, s: string, anchor = 'middle', fill = colors.text) =>
    `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="11" fill="${fill}" font-family="sans-serif" text-anchor="${anchor}">${s}</text>`;
  const xTicks = [-4, -2, 0, 2, 4].map(x =>
    `<path d="M${sx(x).toFixed(1)},${sy(lo)}v3" stroke="${colors.axis}"/>` + text(sx(x), height - 4, String(x)));
  const yTicks = [...new Set([lo, 0, hi])].map(y =>
    `<path d="M${left - 3},${sy(y).toFixed(1)}h3" stroke="${colors.axis}"/>` + text(left - 5, sy(y) + 4, String(y), 'end'));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`
    + `<path d="M${left},${sy(lo)}H${width - right}M${left},${top}V${sy(lo)}" stroke="${colors.axis}" stroke-width="1" fill="none"/>`
    + `<path d="M${left},${sy(0).toFixed(1)}H${width - right}M${sx(0).toFixed(1)},${top}V${sy(lo)}" stroke="${colors.axis}" stroke-width="0.5" stroke-dasharray="2 2"/>`
    + xTicks.join('') + yTicks.join('')
    + `<path d="${line(df)}" fill="none" stroke="${colors.df}" stroke-width="1.5" stroke-dasharray="4 2"/>`
    + `<path d="${line(f)}" fill="none" stroke="${colors.f}" stroke-width="2"/>`
    + `<path d="M${left + 6},9h14" stroke="${colors.f}" stroke-width="2"/>` + text(left + 24, 13, `f(x) = ${name}(x)`, 'start')
    + `<path d="M${width / 2 + 30},9h14" stroke="${colors.df}" stroke-width="1.5" stroke-dasharray="4 2"/>` + text(width / 2 + 48, 13, "f'(x)", 'start')
    + `</svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** What each symbol in the table's formulas stands for, so no hover leaves one undefined. */
export function symbolsUsed(formula: string, derivative: string): string[] {
  const t = `${formula} ${derivative}`;
  const out: string[] = [];
  if (/\bs\(x\)|\bs_i|\bs\b/.test(t)) out.push(/s_i/.test(t) ? 's_i = softmax(x)_i, the i-th output; delta_ij = 1 when i = j, else 0' : 's = sigmoid(x) = 1/(1+e^-x)' + (/beta\*x/.test(t) ? ' (here of beta*x)' : ''));
  if (/\bPhi\b/.test(t)) out.push('Phi(x) = the standard normal CDF = (1 + erf(x/sqrt 2))/2');
  if (/\bphi\b/.test(t)) out.push('phi(x) = the standard normal density = e^(-x^2/2)/sqrt(2 pi)');
  if (/\bsp\b/.test(t)) out.push('sp = softplus(x) = ln(1 + e^x)');
  if (/alpha_j/.test(t)) out.push('alpha_j = the learned negative slope of unit j');
  else if (/\balpha\b/.test(t)) out.push('alpha = the slope or scale for x < 0 (a parameter of the layer\'s activation)');
  if (/\blambda\b/.test(t)) out.push('lambda = the SELU scale 1.0507');
  if (/\bbeta\b/.test(t)) out.push('beta = the swish slope parameter');
  if (/\be\^/.test(t)) out.push('e = Euler\'s number 2.718...');
  return out;
}
