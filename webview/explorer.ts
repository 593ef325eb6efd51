/**
 * The Activation Explorer: every activation of the table side by side, f and f' on shared axes with the table's
 * properties, cost, dead and saturated regions, paired initializer and when to use it; alpha and beta adjustable.
 * With a layer of the latest run picked, that layer's pre-activation histogram is drawn under every candidate with
 * the share of those same values each one would put in its dead and saturated regions (src/core/regionFractions).
 */
import { Chart } from 'chart.js';
import type { ActivationName } from '../src/model';
import type { Histogram } from '../src/core/types';
import type { HostToWebview, RunView } from '../src/protocol';
import { ACTIVATIONS, ACTIVATION_NAMES, resolveActivation, type ActivationParams } from '../src/core/activations';
import { ACTIVATION_COST } from '../src/core/activationCost';
import { regionFractions } from '../src/core/regionFractions';
import { formatNumber } from '../src/format';
import { axisTitle, linearAxis, regionPlugin, shadedRegions } from './charts';
import { onThemeChange, readTheme, withAlpha } from './theme';
import { connect, el, throttle } from './vscodeApi';

interface ExplorerState { view?: RunView; layer?: number; focus?: string; params: Partial<Record<ActivationName, ActivationParams>> }

const app = document.getElementById('app')!;
const vscode = connect<ExplorerState>(onMessage);
const state: ExplorerState = vscode.getState() ?? { params: {} };
const charts = new Map<ActivationName, Chart>();
const redraw = throttle(draw, 100);

const picker = el('select', { id: 'explorer-layer' });
picker.addEventListener('change', () => { state.layer = picker.value === '' ? undefined : Number(picker.value); redraw(); });
const pickerLabel = el('label', { for: 'explorer-layer' }, 'Pre-activations of ');
const summary = el('p', { id: 'explorer-summary', class: 'muted' });
const grid = el('div', { class: 'explorer-grid', id: 'candidates' });
app.replaceChildren(
  el('header', { class: 'explorer-head' }, el('h2', { id: 'explorer-title' }, 'Activation Explorer'), el('div', {}, pickerLabel, picker)),
  el('p', { class: 'muted' }, "Each card draws f (solid) and f' (dashed) on the same axes, the dead (red) and saturated (yellow) regions shaded, and "
    + 'the picked layer\'s measured pre-activations (grey histogram) with the share of them that would land in each region.'),
  summary, grid);

function onMessage(m: HostToWebview): void {
  if (m.type === 'state') {
    if (state.view?.configPath !== m.view.configPath) state.layer = undefined;
    state.view = m.view;
  } else if (m.type === 'explorerFocus') {
    if (m.activation) state.focus = resolveActivation(m.activation);
    if (m.layer !== undefined) state.layer = m.layer;
  } else if (m.type === 'theme') { resetCharts(); }
  redraw();
}

/** Layers of the run whose pre-activations were measured (a histogram at the latest probe). */
function measuredLayers(v: RunView | undefined): { index: number; name: string; activation: string; hist: Histogram }[] {
  const last = v?.timeline.at(-1);
  if (!v || !last) return [];
  return v.layers.flatMap(l => {
    const hist = last.layers[l.index]?.preactHist;
    return hist && l.activation ? [{ index: l.index, name: l.name, activation: l.activation, hist }] : [];
  });
}

function resetCharts(): void {
  for (const c of charts.values()) c.destroy();
  charts.clear();
  grid.replaceChildren();
}

/** The candidates in table order, the focused one (from a hover) first. */
function order(): ActivationName[] {
  const f = state.focus as ActivationName | undefined;
  return f && ACTIVATIONS[f] ? [f, ...ACTIVATION_NAMES.filter(n => n !== f)] : [...ACTIVATION_NAMES];
}

function draw(): void {
  vscode.setState(state);
  const layers = measuredLayers(state.view);
  const options = [el('option', { value: '' }, layers.length ? 'no layer (curves only)' : 'no run yet: run diagnostics to compare on real inputs'),
    ...layers.map(l => el('option', { value: String(l.index) }, `${l.name} (${l.activation})`))];
  picker.replaceChildren(...options);
  if (state.layer !== undefined && !layers.some(l => l.index === state.layer)) state.layer = undefined;
  if (state.layer === undefined && layers.length && state.view) state.layer = layers[0].index;
  picker.value = state.layer === undefined ? '' : String(state.layer);
  const layer = layers.find(l => l.index === state.layer);
  summary.textContent = layer && state.view
    ? `${layer.name} of "${state.view.configName}" at step ${state.view.timeline.at(-1)?.step}: ${layer.hist.counts.reduce((a, b) => a + b, 0)} values from ${formatNumber(layer.hist.edges[0])} to ${formatNumber(layer.hist.edges.at(-1))}. Shares are of (sample, unit) values; a unit is dead only when all its values are.`
    : '';
  const names = order();
  // Cards are kept (their charts too) and only re-ordered when the focus moves.
  if (grid.children.length !== names.length || names.some((n, i) => (grid.children[i] as HTMLElement).dataset.activation !== n)) {
    const existing = new Map(Array.from(grid.children).map(c => [(c as HTMLElement).dataset.activation, c]));
    grid.replaceChildren(...names.map(n => existing.get(n) ?? card(n)));
  }
  // Whole numbers at the ends, so the axis' end ticks read -4 and 4, not -3.224961376.
  const lo = Math.floor(Math.min(layer?.hist.edges[0] ?? -5, -3)), hi = Math.ceil(Math.max(layer?.hist.edges.at(-1) ?? 5, 3));
  for (const n of names) drawCard(n, layer, lo, hi);
}

function yesNo(b: boolean): string { return b ? 'yes' : 'no'; }

/** A card's static part: name, properties, parameter inputs; its chart is (re)drawn by drawCard. */
function card(name: ActivationName): HTMLElement {
  const a = ACTIVATIONS[name];
  const cost = ACTIVATION_COST[name];
  const canvas = el('canvas', { id: `explorer-chart-${name}`, role: 'img', 'aria-label': `${name}: f(z) and f'(z)` });
  const wrap = el('div', { class: 'canvas-wrap' }, canvas);
  wrap.style.height = '170px';   // CSSOM, not a style attribute: the CSP allows no inline styles
  const facts: [string, string][] = [
    ['f(z)', a.formula], ["f'(z)", a.derivative], ['range', a.range], ['zero-centred', yesNo(a.zeroCentered)],
    ['monotonic', yesNo(a.monotonic)], ['smooth', yesNo(a.smooth)],
    ['relative cost', `${cost.relative === 0 ? 'free' : `≈ ${cost.relative}× relu`} (${cost.ops})`],
    ['dead region', a.deadRegion ?? 'none'], ['saturated region', a.saturationRegion ?? (name === 'softmax' ? 'not judged (vector function)' : 'none')],
    ['initializer', a.recommendedInit], ['use it', a.useWhen],
  ];
  const params = el('div', { class: 'params' }, ...paramInputs(name));
  const article = el('article', { class: 'candidate', 'data-activation': name, 'aria-labelledby': `cand-${name}` },
    el('h3', { id: `cand-${name}` }, name),
    wrap,
    el('p', { class: 'shares', 'data-shares': name }),
    params,
    el('dl', {}, ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
  if (a.notes) article.append(el('p', { class: 'muted' }, a.notes));
  return article;
}

/** Inputs for the parameters the activation takes (alpha, beta, gelu's approximation), with the table's defaults. */
function paramInputs(name: ActivationName): HTMLElement[] {
  const d = ACTIVATIONS[name].defaults;
  const out: HTMLElement[] = [];
  for (const key of ['alpha', 'beta'] as const) {
    if (d[key] === undefined) continue;
    const id = `param-${name}-${key}`;
    const input = el('input', { id, type: 'number', step: key === 'alpha' && d.alpha! < 0.1 ? '0.01' : '0.05', min: '0.001', max: '10',
      value: String(state.params[name]?.[key] ?? d[key]) });
    input.addEventListener('input', () => {
      const v = Number(input.value);
      // Only positive values: alpha 0 would make leaky relu a relu whose dead region the table does not mark.
      if (!(v > 0 && v <= 10)) { input.setAttribute('aria-invalid', 'true'); return; }
      input.removeAttribute('aria-invalid');
      state.params[name] = { ...state.params[name], [key]: v };
      redraw();
    });
    out.push(el('label', { for: id }, `${key} `), input);
  }
  if (d.approximate !== undefined) {
    const id = `param-${name}-approximate`;
    const select = el('select', { id }, el('option', { value: 'none' }, 'exact (erf)'), el('option', { value: 'tanh' }, 'tanh approximation'));
    select.value = state.params[name]?.approximate ?? d.approximate;
    select.addEventListener('change', () => { state.params[name] = { ...state.params[name], approximate: select.value as 'tanh' | 'none' }; redraw(); });
    out.push(el('label', { for: id }, 'form '), select);
  }
  return out;
}

const pct = (x: number | null) => (x === null ? 'none' : `${formatNumber(100 * x, 3)}%`);

function drawCard(name: ActivationName, layer: ReturnType<typeof measuredLayers>[number] | undefined, lo: number, hi: number): void {
  const t = readTheme();
  const a = ACTIVATIONS[name];
  const p = { ...a.defaults, ...state.params[name] };
  const article = grid.querySelector<HTMLElement>(`[data-activation="${name}"]`)!;
  const current = layer && resolveActivation(layer.activation) === name;
  article.classList.toggle('current', !!current);
  article.querySelector('h3')!.textContent = current ? `${name} (current for ${layer!.name})` : name;
  const shares = article.querySelector<HTMLElement>('.shares')!;
  if (layer && name !== 'softmax') {
    const r = regionFractions(layer.hist, name);
    shares.textContent = `On ${layer.name}'s inputs: ${r.dead === null ? 'no dead region' : `dead ${pct(r.dead)}`} · ${r.saturated === null ? 'no saturated region' : `saturated ${pct(r.saturated)}`}`;
    shares.dataset.dead = r.dead === null ? '' : String(r.dead);
    shares.dataset.saturated = r.saturated === null ? '' : String(r.saturated);
  } else {
    shares.textContent = name === 'softmax' && layer ? 'softmax acts on a whole row of logits: no per-value share' : '';
    delete shares.dataset.dead; delete shares.dataset.saturated;
  }
  const xs = Array.from({ length: 161 }, (_, k) => lo + ((hi - lo) * k) / 160);
  const canvas = article.querySelector('canvas')!;
  let chart = charts.get(name);
  const color = t.series[0], deriv = t.series[1];
  if (!chart) {
    chart = new Chart(canvas, {
      type: 'line',
      data: { datasets: [
        { label: 'f', data: [], borderColor: color, borderWidth: 1.8, pointRadius: 0, yAxisID: 'y' },
        { label: "f'", data: [], borderColor: deriv, borderDash: [4, 3], borderWidth: 1.4, pointRadius: 0, yAxisID: 'y' },
        { label: 'z histogram', data: [], borderColor: withAlpha(t.muted, 0.8), backgroundColor: withAlpha(t.muted, 0.25), fill: 'origin', stepped: 'middle', borderWidth: 1, pointRadius: 0, yAxisID: 'h' },
      ] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true, color: t.fg,
        plugins: { legend: { labels: { color: t.fg, boxWidth: 8, font: { size: 10 } } }, regions: { bands: [] } } as never,
        // Shared axes: every card has the same x and y range, so curves compare at a glance.
        scales: { x: { ...linearAxis(t, 'z (pre-activation)', 7), min: lo, max: hi },
          y: { min: -2, max: 3, ticks: { color: t.muted, maxTicksLimit: 6 }, grid: { color: t.grid }, title: axisTitle(t, "f(z), f'(z)") },
          h: { position: 'right', display: false, min: 0 } },
      },
      plugins: [regionPlugin],
    });
    charts.set(name, chart);
  }
  const x = chart.options.scales!.x as { min: number; max: number };
  x.min = lo; x.max = hi;
  chart.data.datasets[0].data = xs.map(z => ({ x: z, y: a.f(z, p) }));
  chart.data.datasets[1].data = xs.map(z => ({ x: z, y: a.df(z, p) }));
  chart.data.datasets[2].data = layer ? layer.hist.counts.map((n, k) => ({ x: (layer.hist.edges[k] + layer.hist.edges[k + 1]) / 2, y: n })) : [];
  (chart.options.plugins as { regions: { bands: unknown[] } }).regions.bands = shadedRegions(name, lo, hi)
    .map(r => ({ ...r, color: withAlpha(r.kind === 'dead' ? t.dead : t.saturated, 0.18) }));
  chart.update('none');
}

onThemeChange(() => { resetCharts(); redraw(); });
draw();
vscode.postMessage({ type: 'ready' });
