/**
 * The charts of a run, shared by the panel webview and the self-contained HTML report: loss curves, gradient flow
 * (latest and over steps, log scale), dead/saturated fractions over steps, and each layer's activation curve f and f'
 * with its pre-activation histogram drawn under it and the dead/saturated regions shaded.
 */
import {
  Chart, LineController, BarController, LineElement, PointElement, BarElement, LinearScale, LogarithmicScale,
  CategoryScale, Filler, Legend, Tooltip, type ChartConfiguration, type Plugin,
} from 'chart.js';
import type { ActivationName } from '../src/model';
import type { ProbePoint } from '../src/core/types';
import { ACTIVATIONS, resolveActivation } from '../src/core/activations';
import { formatNumber } from '../src/format';
import { readTheme, withAlpha, type Theme } from './theme';

Chart.register(LineController, BarController, LineElement, PointElement, BarElement, LinearScale, LogarithmicScale,
  CategoryScale, Filler, Legend, Tooltip);

export interface ChartLayer { index: number; name: string; type: string; activation?: string }
export interface ChartData { layers: ChartLayer[]; timeline: ProbePoint[]; lossCurve: [number, number][] }

export { decimate, smooth } from './series';
import { decimate, smooth } from './series';

/** Regions of [lo, hi] where the activation is dead or saturated, clipped from the activation table's intervals. */
export function shadedRegions(name: ActivationName, lo: number, hi: number): { from: number; to: number; kind: 'dead' | 'saturated' }[] {
  const { regions } = ACTIVATIONS[name];
  const clip = (kind: 'dead' | 'saturated') => regions[kind]
    .map(([from, to]) => ({ from: Math.max(from, lo), to: Math.min(to, hi), kind }))
    .filter(r => r.to > r.from);
  return [...clip('dead'), ...clip('saturated')];
}

/** Draws `options.plugins.regions` as translucent bands behind the datasets. */
const regionPlugin: Plugin = {
  id: 'regions',
  beforeDatasetsDraw(chart, _args, opts: { bands?: { from: number; to: number; color: string }[] }) {
    const x = chart.scales.x;
    const { top, bottom } = chart.chartArea;
    for (const band of opts.bands ?? []) {
      const left = Math.max(x.left, x.getPixelForValue(band.from));
      const right = Math.min(x.right, x.getPixelForValue(band.to));
      if (right <= left) continue;
      chart.ctx.save();
      chart.ctx.fillStyle = band.color;
      chart.ctx.fillRect(left, top, right - left, bottom - top);
      chart.ctx.restore();
    }
  },
};

/** A log-scale y axis with compact tick labels (1e-5, 0.003, 12). */
function logAxis(theme: Theme) {
  return { type: 'logarithmic' as const, grid: { color: theme.grid },
    ticks: { color: theme.muted, maxTicksLimit: 6, callback: (v: number | string) => formatNumber(Number(v), 2) } };
}

function baseOptions(theme: Theme, title: string) {
  return {
    animation: false as const, responsive: true, maintainAspectRatio: false, parsing: false as const, normalized: true,
    color: theme.fg,
    plugins: {
      legend: { labels: { color: theme.fg, boxWidth: 10, font: { size: 11 } } },
      tooltip: { mode: 'nearest' as const, intersect: false },
      title: { display: false, text: title },
    },
    scales: {
      x: { type: 'linear' as const, ticks: { color: theme.muted, maxTicksLimit: 8 }, grid: { color: theme.grid } },
      y: { ticks: { color: theme.muted, maxTicksLimit: 6 }, grid: { color: theme.grid } },
    },
  };
}

/** Owns the chart instances inside a container; `update` redraws in place (no re-creation while training). */
export class RunCharts {
  private charts = new Map<string, Chart>();
  private theme = readTheme();

  constructor(private readonly root: HTMLElement) {}

  /** Rebuild everything (after a theme change or a new run). */
  reset(): void {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
    this.root.replaceChildren();
    this.theme = readTheme();
  }

  update(data: ChartData): void {
    this.lossChart(data);
    this.gradientFlow(data);
    this.gradientOverSteps(data);
    this.fractionsOverSteps(data);
    this.weightTimelines(data);
    this.activationCurves(data);
  }

  /**
   * Logs with weight histograms: each layer's weight norm, and the lower bound of its update ratio ||dW||/||W||
   * per step (docs/tensorboard.md, "Weights"), over the logged steps. Nothing is drawn for runs without weights.
   */
  private weightTimelines(d: ChartData): void {
    const t = this.theme;
    const points = decimate(d.timeline, 300);
    const layers = d.layers.filter(l => points.some(p => p.layers[l.index]?.weights));
    if (!layers.length) return;
    this.upsert('weightnorm', 'Weight norm ||W|| per layer over steps (from the weight histograms, log scale)', () => ({
      type: 'line', data: { datasets: [] },
      options: { ...baseOptions(t, ''), scales: { ...baseOptions(t, '').scales, y: logAxis(t) } },
    }), c => {
      c.data.datasets = layers.map((l, i) => ({
        label: l.name, borderColor: this.color(i), borderWidth: 1.4, pointRadius: 1.5,
        data: points.map(p => ({ x: p.step, y: p.layers[l.index]?.weights?.norm })).filter(p => p.y !== undefined && p.y > 0 && Number.isFinite(p.y)),
      })) as typeof c.data.datasets;
    });
    this.upsert('updateratio', 'Update ratio ||dW||/||W|| per step, lower bound from the weight histograms (log scale; ~1e-3 is typical)', () => ({
      type: 'line', data: { datasets: [] },
      options: { ...baseOptions(t, ''), scales: { ...baseOptions(t, '').scales, y: logAxis(t) } },
    }), c => {
      c.data.datasets = layers.map((l, i) => ({
        label: l.name, borderColor: this.color(i), borderWidth: 1.4, pointRadius: 1.5,
        data: points.map(p => ({ x: p.step, y: p.layers[l.index]?.weights?.updateRatioLower ?? undefined }))
          .filter(p => p.y !== undefined && p.y > 0 && Number.isFinite(p.y)),
      })) as typeof c.data.datasets;
    });
  }

  private section(id: string, title: string, height = 220, parent: HTMLElement = this.root): HTMLCanvasElement {
    let box = parent.querySelector<HTMLElement>(`[data-chart="${id}"]`);
    if (!box) {
      box = document.createElement('section');
      box.className = 'chart';
      box.dataset.chart = id;
      const h = document.createElement('h3');
      h.textContent = title;
      const wrap = document.createElement('div');
      wrap.className = 'canvas-wrap';
      wrap.style.height = `${height}px`;
      const canvas = document.createElement('canvas');
      canvas.id = `chart-${id}`;
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', title);
      wrap.append(canvas);
      box.append(h, wrap);
      parent.append(box);
    }
    return box.querySelector('canvas')!;
  }

  private upsert(id: string, title: string, make: () => ChartConfiguration, fill: (c: Chart) => void, height?: number, parent?: HTMLElement): void {
    let chart = this.charts.get(id);
    if (!chart) {
      chart = new Chart(this.section(id, title, height, parent), make());
      this.charts.set(id, chart);
    }
    fill(chart);
    chart.update('none');
  }

  private color(i: number): string { return this.theme.series[i % this.theme.series.length]; }

  private lossChart(d: ChartData): void {
    const t = this.theme;
    this.upsert('loss', 'Loss', () => ({
      type: 'line', data: { datasets: [
        { label: 'train loss (per step)', data: [], borderColor: withAlpha(this.color(0), 0.35), borderWidth: 1, pointRadius: 0 },
        { label: 'train loss (smoothed)', data: [], borderColor: this.color(0), borderWidth: 1.8, pointRadius: 0 },
        { label: 'validation loss', data: [], borderColor: this.color(1), borderWidth: 1.5, pointRadius: 1.5 },
      ] },
      options: { ...baseOptions(t, 'Loss'), scales: { ...baseOptions(t, '').scales, y: logAxis(t) } },
    }), c => {
      const finite = d.lossCurve.filter(([, y]) => y > 0 && Number.isFinite(y));
      c.data.datasets[0].data = decimate(finite).map(([x, y]) => ({ x, y }));
      c.data.datasets[1].data = decimate(smooth(finite)).map(([x, y]) => ({ x, y }));
      c.data.datasets[2].data = d.timeline.filter(p => p.valLoss > 0 && Number.isFinite(p.valLoss)).map(p => ({ x: p.step, y: p.valLoss }));
    });
  }

  /** Layers that carry a gradient at their pre-activation (dense, conv, activation layers). */
  private probedLayers(d: ChartData): ChartLayer[] {
    return d.layers.filter(l => l.activation !== undefined);
  }

  private gradientFlow(d: ChartData): void {
    const t = this.theme;
    const layers = this.probedLayers(d);
    const last = d.timeline.at(-1);
    this.upsert('gradflow', 'Gradient flow: RMS of dLoss/dz per layer (latest probe, log scale)', () => ({
      type: 'bar', data: { labels: [], datasets: [{ label: 'gradRms', data: [], backgroundColor: withAlpha(this.color(2), 0.7), borderColor: this.color(2) }] },
      options: { ...baseOptions(t, ''), parsing: undefined, plugins: { legend: { display: false } },
        scales: { x: { type: 'category', ticks: { color: t.muted }, grid: { color: t.grid } },
          y: logAxis(t) } } as ChartConfiguration['options'],
    }), c => {
      c.data.labels = layers.map(l => l.name);
      c.data.datasets[0].data = layers.map(l => { const g = last?.layers[l.index]?.gradRms ?? 0; return g > 0 && Number.isFinite(g) ? g : null; });
    });
  }

  private gradientOverSteps(d: ChartData): void {
    const t = this.theme;
    const layers = this.probedLayers(d);
    this.upsert('gradsteps', 'Gradient RMS per layer over steps (log scale)', () => ({
      type: 'line', data: { datasets: [] },
      options: { ...baseOptions(t, ''), scales: { ...baseOptions(t, '').scales, y: logAxis(t) } },
    }), c => {
      const points = decimate(d.timeline, 300);
      c.data.datasets = layers.map((l, i) => ({
        label: l.name, borderColor: this.color(i), borderWidth: 1.2, pointRadius: 0,
        data: points.map(p => ({ x: p.step, y: p.layers[l.index]?.gradRms })).filter(p => p.y !== undefined && p.y > 0 && Number.isFinite(p.y)),
      }));
    });
  }

  private fractionsOverSteps(d: ChartData): void {
    const t = this.theme;
    const points = decimate(d.timeline, 300);
    const layers = this.probedLayers(d);
    this.upsert('fractions', 'Dead (solid) and saturated (dashed) fraction per layer over steps', () => ({
      type: 'line', data: { datasets: [] },
      options: { ...baseOptions(t, ''), scales: { ...baseOptions(t, '').scales, y: { min: 0, max: 1, ticks: { color: t.muted }, grid: { color: t.grid } } } },
    }), c => {
      const sets = [];
      for (const [i, l] of layers.entries()) {
        const dead = points.map(p => ({ x: p.step, y: p.layers[l.index]?.deadFraction })).filter(p => typeof p.y === 'number');
        const sat = points.map(p => ({ x: p.step, y: p.layers[l.index]?.saturatedFraction })).filter(p => typeof p.y === 'number');
        if (dead.length) sets.push({ label: `${l.name} dead`, data: dead, borderColor: this.color(i), borderWidth: 1.4, pointRadius: 0 });
        if (sat.length) sets.push({ label: `${l.name} saturated`, data: sat, borderColor: this.color(i), borderDash: [4, 3], borderWidth: 1.4, pointRadius: 0 });
      }
      c.data.datasets = sets as typeof c.data.datasets;
    });
  }

  private activationCurves(d: ChartData): void {
    const t = this.theme;
    let grid = this.root.querySelector<HTMLElement>('.curves');
    if (!grid) {
      const box = document.createElement('section');
      box.className = 'chart';
      box.innerHTML = '<h3>Where the units live on the activation curve: f (solid), f\' (dashed), pre-activation histogram (filled); dead and saturated regions shaded</h3>';
      grid = document.createElement('div');
      grid.className = 'curves';
      box.append(grid);
      this.root.append(box);
    }
    const last = d.timeline.at(-1);
    for (const [i, l] of this.probedLayers(d).entries()) {
      const name = resolveActivation(l.activation ?? '') ?? 'linear';
      const hist = last?.layers[l.index]?.preactHist;
      const lo = Math.min(hist?.edges[0] ?? -4, -1), hi = Math.max(hist?.edges.at(-1) ?? 4, 1);
      this.upsert(`curve-${l.index}`, `${l.name}: ${name}`, () => ({
        type: 'line', data: { datasets: [
          { label: 'f', data: [], borderColor: this.color(i), borderWidth: 1.6, pointRadius: 0, yAxisID: 'y' },
          { label: "f'", data: [], borderColor: this.color(i), borderDash: [4, 3], borderWidth: 1.2, pointRadius: 0, yAxisID: 'y' },
          { label: 'z histogram', data: [], borderColor: withAlpha(t.muted, 0.8), backgroundColor: withAlpha(t.muted, 0.25), fill: 'origin', stepped: 'middle', borderWidth: 1, pointRadius: 0, yAxisID: 'h' },
        ] },
        options: { ...baseOptions(t, ''), plugins: { legend: { labels: { color: t.fg, boxWidth: 8, font: { size: 10 } } }, regions: { bands: [] } } as never,
          scales: { x: { type: 'linear', ticks: { color: t.muted, maxTicksLimit: 6 }, grid: { color: t.grid } },
            y: { ticks: { color: t.muted, maxTicksLimit: 5 }, grid: { color: t.grid } },
            h: { position: 'right', display: false, min: 0 } } },
        plugins: [regionPlugin],
      }), c => {
        const xs = Array.from({ length: 121 }, (_, k) => lo + ((hi - lo) * k) / 120);
        const a = ACTIVATIONS[name];
        // softmax has no scalar curve: the table's f/df give the per-unit logistic view.
        c.data.datasets[0].data = xs.map(x => ({ x, y: a.f(x) }));
        c.data.datasets[1].data = xs.map(x => ({ x, y: a.df(x) }));
        c.data.datasets[2].data = hist ? hist.counts.map((n, k) => ({ x: (hist.edges[k] + hist.edges[k + 1]) / 2, y: n })) : [];
        (c.options.plugins as { regions: { bands: unknown[] } }).regions.bands = shadedRegions(name, lo, hi)
          .map(r => ({ ...r, color: withAlpha(r.kind === 'dead' ? t.dead : t.saturated, 0.15) }));
      }, 160, grid);
    }
  }
}

/**
 * The y range of the trials that did not diverge (positive finite values): a diverged trial's 1e11 would squash every
 * useful curve, so its line is drawn dashed and clipped to this range instead.
 */
export function compareRange(results: { trial?: { lossCurve: number[]; diverged?: boolean } }[]): { min: number; max: number } | undefined {
  let min = Infinity, max = -Infinity;
  for (const r of results) {
    if (!r.trial || r.trial.diverged) continue;
    for (const y of r.trial.lossCurve) if (y > 0 && Number.isFinite(y)) { if (y < min) min = y; if (y > max) max = y; }
  }
  return min <= max ? { min, max } : undefined;
}

/** Loss curves of the activation trials ("Compare Activations"), one line per candidate, best first; diverged ones dashed, off the axis range. */
export function drawCompare(canvas: HTMLCanvasElement, results: { activation: string; init: string; lr?: number; trial?: { lossCurve: number[]; diverged?: boolean } }[], existing?: Chart): Chart {
  const theme = readTheme();
  existing?.destroy();
  const range = compareRange(results);
  const y = { ...logAxis(theme), ...(range ? { min: range.min, max: range.max } : {}) };
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: results.map((r, i) => ({
      label: `${i + 1}. ${r.activation} + ${r.init}${r.lr !== undefined ? ` (lr ${formatNumber(r.lr)})` : ''}${r.trial?.diverged ? ' (diverged)' : ''}`,
      borderColor: theme.series[i % theme.series.length], borderWidth: i === 0 ? 2.2 : 1.2, pointRadius: 0,
      borderDash: r.trial?.diverged ? [4, 3] : undefined,
      data: decimate((r.trial?.lossCurve ?? []).map((y, x) => ({ x: x + 1, y: range ? Math.min(Math.max(y, range.min), range.max) : y }))
        .filter(p => p.y > 0 && Number.isFinite(p.y)), 300),
    })) },
    options: { ...baseOptions(theme, 'Trials'), scales: { ...baseOptions(theme, '').scales, y } },
  });
}

/** Verify: the loss curves of the run as it is and with the suggestion applied, overlaid (same seed and data). */
export function drawVerification(canvas: HTMLCanvasElement, before: [number, number][], after: [number, number][], existing?: Chart): Chart {
  const theme = readTheme();
  existing?.destroy();
  const pts = (c: [number, number][]) => c.filter(([, y]) => y > 0 && Number.isFinite(y)).map(([x, y]) => ({ x, y }));
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: [
      { label: 'before', borderColor: theme.muted, borderWidth: 1.4, pointRadius: 0, data: pts(before) },
      { label: 'after (suggestion applied)', borderColor: theme.series[0], borderWidth: 2, pointRadius: 0, data: pts(after) },
    ] },
    options: { ...baseOptions(theme, 'Verify'), scales: { ...baseOptions(theme, '').scales, y: logAxis(theme) } },
  });
}
