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
import { layerColorMap, readTheme, withAlpha, type Theme } from './theme';
import { distinctLabels, logRange, logTicks, onLogAxis, type LogRange } from './axes';

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
export const regionPlugin: Plugin = {
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

/** An axis title in the theme's text colour. */
export function axisTitle(theme: Theme, text: string) {
  return { display: true, text, color: theme.fg, font: { size: 11 }, padding: 2 };
}

/**
 * A log-scale y axis spanning every value drawn (`range`, from logRange), ticks from logTicks with labels that
 * never repeat, the floor (where zeros are drawn) labelled "0".
 */
function logAxis(theme: Theme, title: string, range: LogRange = { min: 0.1, max: 1 }) {
  return {
    type: 'logarithmic' as const, min: range.min, max: range.max, grid: { color: theme.grid },
    title: axisTitle(theme, title),
    afterBuildTicks: (axis: { ticks: { value: number }[]; min: number; max: number }) => {
      axis.ticks = logTicks(rangeOf(axis)).map(value => ({ value }));
    },
    ticks: { color: theme.muted, autoSkip: false,
      callback(this: unknown, v: number | string, i: number, ticks: { value: number }[]) {
        return distinctLabels(ticks.map(t => t.value), { floor: floorOf(this) })[i] ?? String(v);
      } },
  };
}

/** The current range of a log axis, kept on its options (updated each time the data changes). */
function rangeOf(axis: { min: number; max: number }): LogRange {
  return { min: axis.min, max: axis.max, floor: floorOf(axis) };
}
const floorOf = (axis: unknown) => (axis as { options?: { floorValue?: number } }).options?.floorValue;

/** Sets a chart's y log axis to `range` (the floor goes on the axis options, where the tick callbacks read it). */
function setLogRange(chart: Chart, range: LogRange, axis = 'y'): void {
  const o = chart.options.scales![axis] as { min?: number; max?: number; floorValue?: number };
  o.min = range.min; o.max = range.max; o.floorValue = range.floor;
  (chart.options.plugins as { floor?: { value?: number } }).floor!.value = range.floor;
}

/** A linear x axis (steps, z) whose tick labels never repeat (12300 and 12340 are not both "1.23e4"). */
export function linearAxis(theme: Theme, title: string, maxTicksLimit = 8) {
  return { type: 'linear' as const, grid: { color: theme.grid }, title: axisTitle(theme, title),
    ticks: { color: theme.muted, maxTicksLimit,
      callback: (v: number | string, i: number, ticks: { value: number }[]) => distinctLabels(ticks.map(t => t.value))[i] ?? String(v) } };
}

/**
 * Draws a log axis' floor (where zeros are drawn) as a dashed line, and for bar charts a marker with a label
 * ("0 (dead)") at each zero, so a dead layer's missing bar reads as a measured zero, not as a missing value.
 */
const floorPlugin: Plugin = {
  id: 'floor',
  afterDatasetsDraw(chart, _args, opts: { value?: number; color?: string; marker?: string; text?: string; zeros?: { index: number; label: string }[] }) {
    if (opts.value === undefined) return;
    const y = chart.scales.y, x = chart.scales.x;
    const py = y.getPixelForValue(opts.value);
    const { left, right } = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = opts.color ?? '#888';
    ctx.setLineDash([3, 3]);
    ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(left, py); ctx.lineTo(right, py); ctx.stroke();
    ctx.setLineDash([]);
    for (const z of opts.zeros ?? []) {
      const px = x.getPixelForValue(z.index);
      ctx.fillStyle = opts.marker ?? '#f14c4c';
      ctx.beginPath(); ctx.moveTo(px - 6, py); ctx.lineTo(px, py - 8); ctx.lineTo(px + 6, py); ctx.closePath(); ctx.fill();
      ctx.fillStyle = opts.text ?? '#ccc';
      ctx.font = '11px sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'bottom';
      ctx.fillText(z.label, px, py - 10);
    }
    ctx.restore();
  },
};

function baseOptions(theme: Theme, x = 'step') {
  return {
    animation: false as const, responsive: true, maintainAspectRatio: false, parsing: false as const, normalized: true,
    color: theme.fg,
    plugins: {
      legend: { labels: { color: theme.fg, boxWidth: 10, font: { size: 11 } } },
      tooltip: { mode: 'nearest' as const, intersect: false },
      floor: { color: theme.muted, marker: theme.dead, text: theme.fg },
    },
    scales: {
      x: linearAxis(theme, x),
      y: { ticks: { color: theme.muted, maxTicksLimit: 6 }, grid: { color: theme.grid } },
    },
  };
}

/** What a chart shows, for the UI tests and screen readers: plot area, tick labels, bars. */
export interface ChartDescription {
  id: string;
  area: { left: number; top: number; right: number; bottom: number };
  xTitle?: string; yTitle?: string;
  xTicks: string[]; yTicks: string[];
  bars?: { label: string; top: number; bottom: number; left: number; right: number; value: number | null }[];
  zeros?: { index: number; label: string }[];
}

/** Owns the chart instances inside a container; `update` redraws in place (no re-creation while training). */
export class RunCharts {
  private charts = new Map<string, Chart>();
  private theme = readTheme();
  /** One colour per layer (by its place among the probed layers), the same in every chart and in the table. */
  private layerColors = new Map<number, string>();
  private zeros: { index: number; label: string }[] = [];
  /** progressive: charts not created yet, in page order, each with the latest data (see upsert). */
  private waiting = new Map<string, () => void>();
  private createdThisTask = false;
  private timer?: ReturnType<typeof setTimeout>;

  /**
   * `progressive` (the panel): at most one chart is created per task, the rest follow in the next tasks, so the page
   * paints its first chart at once: creating a run's nine or so charts at once took 0.17-0.2 s in a busy workbench.
   * Their sections (title, sized box) are laid out at once, so nothing moves as they fill in.
   */
  constructor(private readonly root: HTMLElement, private readonly opts: { progressive?: boolean } = {}) {}

  /** Whether any chart is on the page (reset() removes them all). */
  get drawn(): boolean { return this.charts.size > 0; }
  /** How many charts are still to be created (progressive). */
  get pending(): number { return this.waiting.size; }

  /** Rebuild everything (after a theme change or a new run). */
  reset(): void {
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
    this.waiting.clear();
    this.root.replaceChildren();
    this.theme = readTheme();
  }

  update(data: ChartData): void {
    this.createdThisTask = false;
    this.layerColors = layerColorMap(data.layers, this.theme);
    this.lossChart(data);
    this.gradientFlow(data);
    this.gradientOverSteps(data);
    this.fractionsOverSteps(data);
    this.weightTimelines(data);
    this.activationCurves(data);
  }

  /** Plot areas, tick labels and bars of every chart (the UI tests check them; see ChartDescription). */
  describe(): ChartDescription[] {
    return [...this.charts.entries()].map(([id, c]) => {
      const { left, top, right, bottom } = c.chartArea;
      const ticks = (axis: string) => (c.scales[axis]?.ticks ?? []).map(t => String(t.label));
      const title = (axis: string) => (c.options.scales?.[axis] as { title?: { text?: string } } | undefined)?.title?.text;
      const d: ChartDescription = { id, area: { left, top, right, bottom }, xTicks: ticks('x'), yTicks: ticks('y'), xTitle: title('x'), yTitle: title('y') };
      if (id === 'gradflow') {
        const meta = c.getDatasetMeta(0);
        d.bars = meta.data.map((el, i) => {
          const { x, y, base, width } = el.getProps(['x', 'y', 'base', 'width'], true) as { x: number; y: number; base: number; width: number };
          const value = c.data.datasets[0].data[i] as number | null;
          return { label: String(c.data.labels?.[i]), top: Math.min(y, base), bottom: Math.max(y, base), left: x - width / 2, right: x + width / 2, value };
        });
        d.zeros = this.zeros;
      }
      return d;
    });
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
    const series = (get: (p: ProbePoint, l: ChartLayer) => number | null | undefined) =>
      layers.map(l => ({ l, values: points.map(p => ({ x: p.step, v: get(p, l) })) }));
    const draw = (id: string, title: string, yTitle: string, get: (p: ProbePoint, l: ChartLayer) => number | null | undefined) =>
      this.upsert(id, title, () => ({
        type: 'line', data: { datasets: [] },
        options: { ...baseOptions(t), scales: { ...baseOptions(t).scales, y: logAxis(t, yTitle) } },
        plugins: [floorPlugin],
      }), c => {
        const all = series(get);
        const range = logRange(all.flatMap(s => s.values.map(p => p.v ?? NaN)));
        setLogRange(c, range);
        c.data.datasets = all.map(({ l, values }) => ({
          label: l.name, borderColor: this.layerColor(l), borderWidth: 1.4, pointRadius: 1.5,
          data: values.map(p => ({ x: p.x, y: onLogAxis(p.v, range) })).filter(p => p.y !== null),
        })) as typeof c.data.datasets;
      });
    draw('weightnorm', 'Weight norm ||W|| per layer over steps (from the weight histograms, log scale)', '||W||', (p, l) => p.layers[l.index]?.weights?.norm);
    draw('updateratio', 'Update ratio ||dW||/||W|| per step, lower bound from the weight histograms (log scale; ~1e-3 is typical)', '||dW|| / ||W||',
      (p, l) => p.layers[l.index]?.weights?.updateRatioLower);
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
      // Its id (what the tests and styles look for) comes with its chart: a section waiting for its chart has none.
      const canvas = document.createElement('canvas');
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
      const canvas = this.section(id, title, height, parent);
      if (this.opts.progressive && this.createdThisTask) {
        // Map.set keeps the chart's place in the queue and takes this call's (newer) data.
        this.waiting.set(id, () => this.upsert(id, title, make, fill, height, parent));
        this.schedule();
        return;
      }
      this.waiting.delete(id);
      this.createdThisTask = true;
      canvas.id = `chart-${id}`;
      chart = new Chart(canvas, make());
      this.charts.set(id, chart);
    }
    fill(chart);
    chart.update('none');
  }

  /** Creates the next waiting chart in a task of its own (a timer: it runs in a hidden panel too, unlike a frame). */
  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.createdThisTask = false;
      const next = this.waiting.entries().next().value;
      if (!next) return;
      this.waiting.delete(next[0]);
      // The rest still get their turn if one chart throws: a finished run sends no update that would restart them.
      try { next[1](); } finally { if (this.waiting.size) this.schedule(); }
    }, 0);
  }

  private color(i: number): string { return this.theme.series[i % this.theme.series.length]; }
  private layerColor(l: ChartLayer): string { return this.layerColors.get(l.index) ?? this.color(0); }

  private lossChart(d: ChartData): void {
    const t = this.theme;
    this.upsert('loss', 'Loss', () => ({
      type: 'line', data: { datasets: [
        { label: 'train loss (per step)', data: [], borderColor: withAlpha(this.color(0), 0.35), borderWidth: 1, pointRadius: 0 },
        { label: 'train loss (smoothed)', data: [], borderColor: this.color(0), borderWidth: 1.8, pointRadius: 0 },
        { label: 'validation loss', data: [], borderColor: this.color(1), borderWidth: 1.5, pointRadius: 1.5 },
      ] },
      options: { ...baseOptions(t), scales: { ...baseOptions(t).scales, y: logAxis(t, 'loss (log)') } },
      plugins: [floorPlugin],
    }), c => {
      const finite = d.lossCurve.filter(([, y]) => y >= 0 && Number.isFinite(y));
      const train = decimate(finite), smoothed = decimate(smooth(finite));
      const val = d.timeline.filter(p => p.valLoss >= 0 && Number.isFinite(p.valLoss)).map(p => [p.step, p.valLoss] as [number, number]);
      const range = logRange([...train, ...smoothed, ...val].map(([, y]) => y));
      setLogRange(c, range);
      const points = (s: [number, number][]) => s.map(([x, y]) => ({ x, y: onLogAxis(y, range) })).filter(p => p.y !== null);
      c.data.datasets[0].data = points(train) as never;
      c.data.datasets[1].data = points(smoothed) as never;
      c.data.datasets[2].data = points(val) as never;
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
      type: 'bar', data: { labels: [], datasets: [{ label: 'gradRms', data: [], backgroundColor: [], borderColor: [] }] },
      options: { ...baseOptions(t), parsing: undefined, plugins: { legend: { display: false }, floor: baseOptions(t).plugins.floor },
        scales: { x: { type: 'category', ticks: { color: t.muted }, grid: { color: t.grid }, title: axisTitle(t, 'layer') },
          y: logAxis(t, 'gradient RMS (log)') } } as ChartConfiguration['options'],
      plugins: [floorPlugin],
    }), c => {
      const stats = layers.map(l => last?.layers[l.index]);
      const range = logRange(stats.map(s => s?.gradRms ?? NaN), { bars: true });
      setLogRange(c, range);
      c.data.labels = layers.map(l => l.name);
      const ds = c.data.datasets[0];
      // A zero has no bar on a log axis: it gets a marker and a label at the floor instead (floorPlugin).
      ds.data = stats.map(s => (s && s.gradRms > 0 && Number.isFinite(s.gradRms) ? s.gradRms : null));
      ds.backgroundColor = layers.map(l => withAlpha(this.layerColor(l), 0.75));
      ds.borderColor = layers.map(l => this.layerColor(l));
      this.zeros = stats.flatMap((s, index) => (s && s.gradRms === 0 ? [{ index, label: s.deadFraction === 1 ? '0 (dead)' : '0 (no gradient)' }] : []));
      (c.options.plugins as { floor: { zeros?: unknown } }).floor.zeros = this.zeros;
      c.canvas.setAttribute('aria-label', `Gradient flow, RMS of dLoss/dz per layer: ${layers.map((l, i) =>
        `${l.name} ${stats[i] ? (stats[i]!.gradRms === 0 ? this.zeros.find(z => z.index === i)?.label : formatNumber(stats[i]!.gradRms)) : 'not measured'}`).join(', ')}`);
    });
  }

  private gradientOverSteps(d: ChartData): void {
    const t = this.theme;
    const layers = this.probedLayers(d);
    this.upsert('gradsteps', 'Gradient RMS per layer over steps (log scale)', () => ({
      type: 'line', data: { datasets: [] },
      options: { ...baseOptions(t), scales: { ...baseOptions(t).scales, y: logAxis(t, 'gradient RMS (log)') } },
      plugins: [floorPlugin],
    }), c => {
      const points = decimate(d.timeline, 300);
      const range = logRange(points.flatMap(p => layers.map(l => p.layers[l.index]?.gradRms ?? NaN)));
      setLogRange(c, range);
      // Zeros stay on the chart, along the floor: a dead layer's line does not just stop.
      c.data.datasets = layers.map(l => ({
        label: l.name, borderColor: this.layerColor(l), borderWidth: 1.2, pointRadius: 0,
        data: points.map(p => ({ x: p.step, y: onLogAxis(p.layers[l.index]?.gradRms, range) })).filter(p => p.y !== null),
      })) as typeof c.data.datasets;
    });
  }

  private fractionsOverSteps(d: ChartData): void {
    const t = this.theme;
    const points = decimate(d.timeline, 300);
    const layers = this.probedLayers(d);
    this.upsert('fractions', 'Dead (solid) and saturated (dashed) fraction per layer over steps', () => ({
      type: 'line', data: { datasets: [] },
      options: { ...baseOptions(t), scales: { ...baseOptions(t).scales,
        y: { min: 0, max: 1, ticks: { color: t.muted }, grid: { color: t.grid }, title: axisTitle(t, 'fraction of units') } } },
    }), c => {
      const sets = [];
      for (const l of layers) {
        const dead = points.map(p => ({ x: p.step, y: p.layers[l.index]?.deadFraction })).filter(p => typeof p.y === 'number');
        const sat = points.map(p => ({ x: p.step, y: p.layers[l.index]?.saturatedFraction })).filter(p => typeof p.y === 'number');
        if (dead.length) sets.push({ label: `${l.name} dead`, data: dead, borderColor: this.layerColor(l), borderWidth: 1.4, pointRadius: 0 });
        if (sat.length) sets.push({ label: `${l.name} saturated`, data: sat, borderColor: this.layerColor(l), borderDash: [4, 3], borderWidth: 1.4, pointRadius: 0 });
      }
      c.data.datasets = sets as typeof c.data.datasets;
    });
  }

  private activationCurves(d: ChartData): void {
    const t = this.theme;
    let grid = this.root.querySelector<HTMLElement>('.curves');
    if (!grid) {
      const box = document.createElement('section');
      box.className = 'chart wide';
      box.innerHTML = '<h3>Where the units live on the activation curve: f (solid), f\' (dashed), pre-activation histogram (filled); dead and saturated regions shaded</h3>';
      grid = document.createElement('div');
      grid.className = 'curves';
      box.append(grid);
      this.root.append(box);
    }
    const last = d.timeline.at(-1);
    for (const l of this.probedLayers(d)) {
      const name = resolveActivation(l.activation ?? '') ?? 'linear';
      const color = this.layerColor(l);
      if (name === 'softmax') { this.outputDistribution(l, last?.layers[l.index]?.activationHist ?? null, color, grid); continue; }
      const hist = last?.layers[l.index]?.preactHist;
      const lo = Math.min(hist?.edges[0] ?? -4, -1), hi = Math.max(hist?.edges.at(-1) ?? 4, 1);
      this.upsert(`curve-${l.index}`, `${l.name}: ${name}`, () => ({
        type: 'line', data: { datasets: [
          { label: 'f', data: [], borderColor: color, borderWidth: 1.6, pointRadius: 0, yAxisID: 'y' },
          { label: "f'", data: [], borderColor: color, borderDash: [4, 3], borderWidth: 1.2, pointRadius: 0, yAxisID: 'y' },
          { label: 'z histogram', data: [], borderColor: withAlpha(t.muted, 0.8), backgroundColor: withAlpha(t.muted, 0.25), fill: 'origin', stepped: 'middle', borderWidth: 1, pointRadius: 0, yAxisID: 'h' },
        ] },
        options: { ...baseOptions(t, 'z (pre-activation)'), plugins: { legend: { labels: { color: t.fg, boxWidth: 8, font: { size: 10 } } }, regions: { bands: [] } } as never,
          scales: { x: linearAxis(t, 'z (pre-activation)', 6),
            y: { ticks: { color: t.muted, maxTicksLimit: 5 }, grid: { color: t.grid }, title: axisTitle(t, "f(z), f'(z)") },
            h: { position: 'right', display: false, min: 0 } } },
        plugins: [regionPlugin],
      }), c => {
        const xs = Array.from({ length: 121 }, (_, k) => lo + ((hi - lo) * k) / 120);
        const a = ACTIVATIONS[name];
        c.data.datasets[0].data = xs.map(x => ({ x, y: a.f(x) }));
        c.data.datasets[1].data = xs.map(x => ({ x, y: a.df(x) }));
        c.data.datasets[2].data = hist ? hist.counts.map((n, k) => ({ x: (hist.edges[k] + hist.edges[k + 1]) / 2, y: n })) : [];
        (c.options.plugins as { regions: { bands: unknown[] } }).regions.bands = shadedRegions(name, lo, hi)
          .map(r => ({ ...r, color: withAlpha(r.kind === 'dead' ? t.dead : t.saturated, 0.15) }));
      }, 160, grid);
    }
  }

  /** softmax is not elementwise (each output depends on every logit): its layer shows the distribution of its outputs. */
  private outputDistribution(l: ChartLayer, hist: { edges: number[]; counts: number[] } | null, color: string, grid: HTMLElement): void {
    const t = this.theme;
    this.upsert(`curve-${l.index}`, `${l.name}: softmax output distribution (not an elementwise curve)`, () => ({
      type: 'line', data: { datasets: [
        { label: 'outputs', data: [], borderColor: color, backgroundColor: withAlpha(color, 0.3), fill: 'origin', stepped: 'middle', borderWidth: 1.2, pointRadius: 0 },
      ] },
      options: { ...baseOptions(t, 'softmax output (probability)'), plugins: { legend: { display: false } },
        scales: { x: { ...linearAxis(t, 'softmax output (probability)', 6), min: 0, max: 1 },
          y: { min: 0, ticks: { color: t.muted, maxTicksLimit: 5 }, grid: { color: t.grid }, title: axisTitle(t, 'count') } } },
    }), c => {
      c.data.datasets[0].data = hist ? hist.counts.map((n, k) => ({ x: (hist.edges[k] + hist.edges[k + 1]) / 2, y: n })) : [];
    }, 160, grid);
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
  // The axis pads the range of the trials that did not diverge; diverged curves are clipped into it.
  const y = logAxis(theme, 'training loss (log)', range ? logRange([range.min, range.max]) : undefined);
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: results.map((r, i) => ({
      label: `${i + 1}. ${r.activation} + ${r.init}${r.lr !== undefined ? ` (lr ${formatNumber(r.lr)})` : ''}${r.trial?.diverged ? ' (diverged)' : ''}`,
      borderColor: theme.series[i % theme.series.length], borderWidth: i === 0 ? 2.2 : 1.2, pointRadius: 0,
      borderDash: r.trial?.diverged ? [4, 3] : undefined,
      data: decimate((r.trial?.lossCurve ?? []).map((y, x) => ({ x: x + 1, y: range ? Math.min(Math.max(y, range.min), range.max) : y }))
        .filter(p => p.y > 0 && Number.isFinite(p.y)), 300),
    })) },
    options: { ...baseOptions(theme), scales: { ...baseOptions(theme).scales, y } },
  });
}

/** Verify: the loss curves of the run as it is and with the suggestion applied, overlaid (same seed and data). */
export function drawVerification(canvas: HTMLCanvasElement, before: [number, number][], after: [number, number][], existing?: Chart): Chart {
  const theme = readTheme();
  existing?.destroy();
  const pts = (c: [number, number][]) => c.filter(([, y]) => y > 0 && Number.isFinite(y)).map(([x, y]) => ({ x, y }));
  const range = logRange([...before, ...after].map(([, y]) => y).filter(y => y > 0));
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: [
      { label: 'before', borderColor: theme.muted, borderWidth: 1.4, pointRadius: 0, data: pts(before) },
      { label: 'after (suggestion applied)', borderColor: theme.series[0], borderWidth: 2, pointRadius: 0, data: pts(after) },
    ] },
    options: { ...baseOptions(theme), scales: { ...baseOptions(theme).scales, y: logAxis(theme, 'loss (log)', range) } },
  });
}

