/** Colours from VS Code's theme variables, re-read when the theme (body class) changes. */
export interface Theme { fg: string; muted: string; grid: string; bg: string; series: string[]; dead: string; saturated: string; highContrast: boolean }

const SERIES_VARS = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple',
  '--vscode-charts-red', '--vscode-charts-yellow', '--vscode-terminal-ansiCyan', '--vscode-terminal-ansiMagenta'];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700', '#29b8db', '#bc3fbc'];

export function readTheme(): Theme {
  const style = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  return {
    fg: v('--vscode-foreground', '#cccccc'),
    muted: v('--vscode-descriptionForeground', '#999999'),
    grid: highContrast ? v('--vscode-contrastBorder', '#6fc3df') : v('--vscode-widget-border', 'rgba(128,128,128,0.25)'),
    bg: v('--vscode-editor-background', '#1e1e1e'),
    series: SERIES_VARS.map((name, i) => v(name, FALLBACK[i])),
    dead: v('--vscode-charts-red', '#f14c4c'),
    saturated: v('--vscode-charts-yellow', '#cca700'),
    highContrast,
  };
}

/** Calls back when VS Code switches theme (it changes the body's class). */
export function onThemeChange(callback: () => void): void {
  new MutationObserver(callback).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}

/** A colour with alpha, for fills: works for #rrggbb and passes anything else through with an opacity fallback. */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/** One colour per probed layer (those with an activation, in layer order), shared by every chart and the health table. */
export function layerColorMap(layers: { index: number; activation?: string }[], theme: Theme = readTheme()): Map<number, string> {
  const m = new Map<number, string>();
  layers.filter(l => l.activation !== undefined).forEach((l, i) => m.set(l.index, theme.series[i % theme.series.length]));
  return m;
}
