/** The diagnostics panel (WebviewPanel). Draws the run it is sent, live, at most 10 times a second. */
import type { Chart } from 'chart.js';
import type { CompareView, HostToWebview, RunView, WebviewToHost } from '../src/protocol';
import { formatNumber } from '../src/format';
import { ACTIVATION_NAMES } from '../src/core/activations';
import { RunCharts, drawCompare } from './charts';
import { healthTable } from './healthTable';
import { onThemeChange } from './theme';
import { connect, el, throttle } from './vscodeApi';

interface PanelState { view: RunView }

const app = document.getElementById('app')!;
let view: RunView | undefined;
let compareChart: Chart | undefined;
const vscode = connect<PanelState>(onMessage);
// The header's controls persist across redraws (updated in place), so clicks during a live run are never lost.
const title = el('h2', { id: 'panel-title' }, 'Activation Lens');
const statusText = el('span', { id: 'status', class: 'status' }, 'Open a network config and run diagnostics.');
const progress = el('progress', { 'aria-label': 'training progress', max: '1', value: '0' });
const runButton = button('Run', { type: 'run' }, { id: 'btn-run' });
const stopButton = button('Stop', { type: 'stop' }, { id: 'btn-stop' });
const compareAll = button('Compare all hidden layers', { type: 'compare', layer: 'all' }, { id: 'btn-compare-all', class: 'secondary' });
const header = el('header', { class: 'bar' }, title, statusText, progress, runButton, stopButton, compareAll);
const noteBox = el('p', { class: 'data-note', role: 'note' });
noteBox.hidden = true;
const tableBox = el('div', { class: 'table-box' });
const findingsBox = el('section', { class: 'findings-box', 'aria-label': 'findings' });
const compareBox = el('section', { class: 'compare-box', 'aria-label': 'activation trials' });
const activationBox = el('section', { class: 'activation-box', id: 'tb-activations', 'aria-label': 'activations of logged layers' });
const chartsBox = el('div', { class: 'charts' });
app.replaceChildren(header, noteBox, tableBox, findingsBox, activationBox, compareBox, chartsBox);
const charts = new RunCharts(chartsBox);
const redraw = throttle(draw, 100);

function onMessage(m: HostToWebview): void {
  if (m.type === 'state') {
    if (view?.configPath !== m.view.configPath || m.view.timeline.length < (view?.timeline.length ?? 0)) charts.reset();
    const compare = m.view.compare ?? (view?.configPath === m.view.configPath ? view?.compare : undefined);
    view = { ...m.view, compare };
  } else if (m.type === 'stats' && view) {
    view.step = m.step;
    view.timeline.push(...m.probes);
    view.lossCurve.push(...m.lossCurve);
  } else if (m.type === 'compare' && view) {
    view.compare = m.compare;
  } else if (m.type === 'theme') { charts.reset(); }
  redraw();
}

/** Run, Compare and Apply name the config this panel shows: the active editor may hold another one. */
function post(m: WebviewToHost): void {
  const config = view?.source === 'tensorboard' ? undefined : view?.configUri;
  vscode.postMessage(config && (m.type === 'run' || m.type === 'compare' || m.type === 'applyFinding' || m.type === 'applyRanked') ? { ...m, config } : m);
}

function button(label: string, message: WebviewToHost, attrs: Record<string, string> = {}): HTMLButtonElement {
  const b = el('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', () => post(message));
  return b;
}

function draw(): void {
  const logs = view?.source === 'tensorboard';
  // Logs are written by another process: nothing here trains them or can stop them.
  const running = view?.status === 'running' && !logs;
  runButton.hidden = running || logs;
  stopButton.hidden = !running;
  compareAll.hidden = !view || logs;
  progress.hidden = !view || logs;
  if (!view) return;
  vscode.setState({ view });
  title.textContent = view.configName;
  statusText.className = `status ${logs ? 'done' : view.status}`;
  const first = view.timeline[0]?.step, unit = view.stepUnit === 'epoch' ? 'epoch' : 'step';
  statusText.textContent = logs
    ? (view.timeline.length ? `event log: ${view.timeline.length} logged ${unit}${view.timeline.length === 1 ? '' : 's'} (${first}..${view.step}); updates when the files grow` : 'event log: no logged steps with layer data')
      + (view.message ? ` · ${view.message}` : '')
    : running ? `training: step ${view.step} / ${view.totalSteps}`
    : view.status === 'done' ? `done: ${view.step} steps` : view.status === 'cancelled' ? `stopped at step ${view.step}`
    : view.status === 'error' ? `error: ${view.message ?? ''}` : 'not run yet';
  noteBox.textContent = view.dataNote ?? '';
  noteBox.hidden = !view.dataNote;
  progress.max = view.totalSteps;
  progress.value = view.step;
  tableBox.replaceChildren(healthTable(view.layers, view.timeline.at(-1)));
  drawFindings(view);
  drawActivationChoice(view);
  drawCompareBox(view.compare);
  charts.update({ layers: view.layers, timeline: view.timeline, lossCurve: view.lossCurve });
}

function drawFindings(v: RunView): void {
  if (!v.findings) { findingsBox.replaceChildren(); return; }
  const list = el('ul', { class: 'findings', id: 'findings' });
  v.findings.forEach((f, fi) => {
    const actions = f.suggestions.map((s, si) => {
      const label = [s.activation, s.init, s.lr !== undefined ? `lr ${formatNumber(s.lr)}` : '', s.clip !== undefined ? `clip ${formatNumber(s.clip)}` : ''].filter(Boolean).join(' + ');
      return label ? button(`Apply ${label}`, { type: 'applyFinding', finding: fi, suggestion: si }, { title: s.reason, class: 'apply' }) : undefined;
    }).filter((b): b is HTMLButtonElement => !!b);
    if (v.source === 'tensorboard') actions.length = 0;   // logs have no config to edit and no trainer to compare with
    else if (f.layer >= 0) actions.push(button('Compare', { type: 'compare', layer: f.layer }, { class: 'secondary' }));
    list.append(el('li', { class: f.severity, 'data-kind': f.kind },
      el('strong', {}, `${f.severity} · ${f.kind}`), ` ${f.layerName ? `(${f.layerName}) ` : ''}${f.message}`,
      el('div', { class: 'actions' }, ...actions)));
  });
  const suggestions = el('div', { class: 'suggestions' });
  for (const s of v.suggestions ?? []) {
    const layer = v.layers.find(l => l.index === s.layer);
    const top = s.ranked.slice(0, 3);
    if (!layer || !top.length) continue;
    suggestions.append(el('div', { class: 'suggestion', 'data-layer': String(s.layer) },
      el('span', { class: 'name' }, `${layer.name} (${s.current}): `),
      ...top.map((r, rank) => button(`${rank + 1}. ${r.activation} + ${r.init}`, { type: 'applyRanked', layer: s.layer, rank }, { title: r.reason, class: 'secondary' }))));
  }
  if (v.source === 'tensorboard') {
    // A log tells only what it holds: never call a run healthy when part of it could not be measured.
    const missing = v.missing ?? [];
    const heading = v.findings.length ? `Findings (${v.findings.length})`
      : missing.length ? 'Findings: none in what the log holds' : 'Findings: none';
    const notMeasured = missing.length
      ? [el('h3', {}, 'Not measured'), el('ul', { class: 'missing', id: 'missing' }, ...missing.map(m => el('li', {}, m)))] : [];
    findingsBox.replaceChildren(el('h3', {}, heading), list, ...notMeasured);
    return;
  }
  findingsBox.replaceChildren(el('h3', {}, v.findings.length ? `Findings (${v.findings.length})` : 'Findings: none, the network looks healthy'),
    list, el('h3', {}, 'Suggested activations per layer (click to apply)'), suggestions);
}

/** Logged layers whose activation the log does not say: a choice per layer, re-read with it. */
function drawActivationChoice(v: RunView): void {
  const names = v.source === 'tensorboard' ? v.needsActivation ?? [] : [];
  if (!names.length) { activationBox.replaceChildren(); return; }
  const rows = names.map(name => {
    const layer = v.layers.find(l => l.name === name);
    const current = layer?.activationSource === 'inferred' ? '' : layer?.activation ?? '';
    const select = el('select', { 'data-layer': name, 'aria-label': `activation of ${name}` },
      el('option', { value: '' }, layer?.activationSource === 'inferred' ? `${layer.activation} (inferred)` : 'unknown'),
      ...ACTIVATION_NAMES.map(a => el('option', { value: a }, a)));
    select.value = current;
    select.addEventListener('change', () => post({ type: 'setTbActivation', layer: name, activation: select.value }));
    return el('li', {}, el('label', {}, `${name}: `, select),
      layer?.inferred ? el('span', { class: 'muted' }, ` inferred from its outputs (${layer.inferred})`) : '');
  });
  activationBox.replaceChildren(el('h3', {}, 'Activations of logged layers (dead/saturated fractions depend on them)'), el('ul', { class: 'layers' }, ...rows));
}

function drawCompareBox(c: CompareView | undefined): void {
  if (!c) { compareBox.replaceChildren(); return; }
  const title = el('h3', { id: 'compare-title' }, `Activation trials for ${c.layerName}: ${c.status}${c.message ? ` (${c.message})` : ''}`);
  const ranking = el('ol', { class: 'ranking' }, ...c.results.map(r =>
    el('li', {}, `${r.activation} + ${r.init}: val loss ${formatNumber(r.trial?.valLoss)}${r.trial?.valAccuracy !== undefined ? `, accuracy ${formatNumber(r.trial.valAccuracy)}` : ''}`)));
  const wrap = el('div', { class: 'canvas-wrap' });
  wrap.style.height = '220px';   // CSSOM, not a style attribute: the CSP allows no inline styles
  const canvas = el('canvas', { id: 'chart-compare', role: 'img', 'aria-label': 'trial loss curves' });
  wrap.append(canvas);
  compareBox.replaceChildren(title, ranking, wrap);
  if (c.results.length) compareChart = drawCompare(canvas, c.results, compareChart);
}

onThemeChange(() => { charts.reset(); redraw(); });
const saved = vscode.getState();
if (saved?.view) view = saved.view;
draw();
post({ type: 'ready' });
