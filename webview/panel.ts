/** The diagnostics panel (WebviewPanel). Draws the run it is sent, live, at most 10 times a second. */
import type { Chart } from 'chart.js';
import type { CompareView, HostToWebview, RunView, VerificationView, WebviewToHost } from '../src/protocol';
import { formatNumber } from '../src/format';
import { ACTIVATION_NAMES } from '../src/core/activations';
import { RunCharts, drawCompare, drawVerification } from './charts';
import { healthTable } from './healthTable';
import { applyMessage, configNamed, fromSaved, isRunView, toSaved, trialApply, trialsStale, trialsTitle, type SavedState } from './runState';
import { onThemeChange } from './theme';
import { connect, el, throttle } from './vscodeApi';

const app = document.getElementById('app')!;
let view: RunView | undefined;
let compareChart: Chart | undefined;
let verifyChart: Chart | undefined;
const vscode = connect<SavedState>(onMessage);
// The header's controls persist across redraws (updated in place), so clicks during a live run are never lost.
const title = el('h2', { id: 'panel-title' }, 'Activation Lens');
const statusText = el('span', { id: 'status', class: 'status' }, 'Open a network config and run diagnostics.');
const progress = el('progress', { 'aria-label': 'training progress', max: '1', value: '0' });
const runButton = button('Run', { type: 'run' }, { id: 'btn-run' });
const stopButton = button('Stop', { type: 'stop' }, { id: 'btn-stop' });
const compareAll = button('Compare all hidden layers', { type: 'compare', layer: 'all' }, { id: 'btn-compare-all', class: 'secondary' });
const header = el('header', { class: 'bar' }, title, statusText, progress, runButton, stopButton, compareAll);
const configLabel = el('p', { id: 'panel-config', class: 'muted config-label' });
configLabel.hidden = true;
// The config changed since the shown run: said at once, with the one action that helps (Apply is disabled meanwhile).
const staleRerun = button('Re-run', { type: 'run' }, { id: 'btn-stale-rerun' });
const staleBanner = el('div', { id: 'stale-banner', class: 'stale-banner', role: 'status' },
  el('span', {}, 'Config changed since this run: re-run'), staleRerun);
staleBanner.hidden = true;
/** Why Apply is disabled, shown next to each disabled button (a tooltip alone is not where the user looks). */
const STALE_REASON = 'config changed: re-run first';
const STALE_TRIALS = 'trials out of date (config changed or compared again): compare again';
/** `trials`: the ids of the trials the host would apply a row of (undefined until it says). */
let stale: { stale: boolean; trials?: string[] } = { stale: false };
// Why a Run or an Apply was refused, an error, news (src/vscode/feedback.ts): here, where the user is looking.
const noticeText = el('span', { id: 'notice-text' });
const noticeBox = el('p', { id: 'notice', class: 'notice', role: 'status' }, noticeText,
  el('button', { type: 'button', class: 'secondary dismiss', 'aria-label': 'Dismiss this notice', title: 'Dismiss' }, '×'));
noticeBox.hidden = true;
noticeBox.querySelector('button')!.addEventListener('click', () => { noticeBox.hidden = true; });
const noteBox = el('p', { class: 'data-note', role: 'note' });
noteBox.hidden = true;
const tableBox = el('div', { class: 'table-box' });
const findingsBox = el('section', { class: 'findings-box', 'aria-label': 'findings' });
const compareBox = el('section', { class: 'compare-box', 'aria-label': 'activation trials' });
const activationBox = el('section', { class: 'activation-box', id: 'tb-activations', 'aria-label': 'activations of logged layers' });
const verifyBox = el('section', { class: 'verify-box', id: 'verify', 'aria-label': 'verification of a suggestion' });
const chartsBox = el('div', { class: 'charts' });
app.replaceChildren(header, configLabel, staleBanner, noticeBox, noteBox, tableBox, findingsBox, activationBox, verifyBox, compareBox, chartsBox);
const charts = new RunCharts(chartsBox, { progressive: true });
const redraw = throttle(draw, 100);

function onMessage(m: HostToWebview): void {
  received(m);
  // A run starting or ending, and its first probes (the first chart), are drawn at once; the stream in between waits
  // its turn (a loaded machine stretches the interval to 3x a draw, which had put the first chart 0.8 s late).
  const urgent = (m.type === 'state' && m.view.status !== view?.status) || (m.type === 'stats' && !!view && !view.timeline.length && m.probes.length > 0);
  if (m.type === 'notice') {
    noticeBox.className = `notice ${m.notice.kind}`;
    noticeText.textContent = m.notice.text;
    noticeBox.hidden = false;
    return;
  }
  const next = applyMessage(view, m);
  if (next.newRun) noticeBox.hidden = true;   // old news
  if (next.resetCharts) charts.reset();
  view = next.view;
  if (m.type === 'stale') stale = { stale: m.stale, trials: m.trials };
  else if (m.type === 'theme') charts.reset();   // the colours changed, not the run
  if (urgent) redraw.now(); else redraw();
}

/** Run, Compare and Apply name the config they act on (configNamed): the active editor may hold another one. */
function post(m: WebviewToHost): void {
  const config = configNamed(m, view);
  vscode.postMessage(config ? { ...m, config } as WebviewToHost : m);
}

function button(label: string, message: WebviewToHost, attrs: Record<string, string> = {}): HTMLButtonElement {
  const b = el('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', () => post(message));
  return b;
}

/** An Apply or Verify of a run whose config changed since: disabled, the reason in its tooltip too. */
function disableStale<B extends HTMLButtonElement>(b: B, reason = STALE_REASON): B {
  b.disabled = true;
  b.title = reason;
  b.classList.add('stale');
  return b;
}

function staleReason(text: string): HTMLElement {
  return el('span', { class: 'stale-reason' }, text);
}

/**
 * What the page drew and when (Date.now()), for bench/ui-first-chart.mjs (Run -> first chart) and tests of the
 * order: 'script' when this script starts, 'shown' at the first draw of a view, 'chart' at the first draw of each
 * run's charts with data, 'end' when that run's final state is drawn.
 */
const marks: { what: 'script' | 'shown' | 'chart' | 'end' | 'recv'; t: number; status?: string; step?: number; config?: string; drawMs?: number }[] = [{ what: 'script', t: Date.now() }];
(window as unknown as { activationLensMarks: typeof marks }).activationLensMarks = marks;
let lastReceived = '';
/** 'recv' when a state arrives, and the first stats after it: the time between the host and the draw. */
function received(m: HostToWebview): void {
  if (m.type !== 'state' && (m.type !== 'stats' || lastReceived === 'stats')) return;
  lastReceived = m.type;
  marks.push({ what: 'recv', t: Date.now(), status: m.type === 'state' ? m.view.status : 'stats' });
  if (marks.length > 400) marks.splice(1, 100);   // a long session's runs: the page's first marks and the latest
}
let drawStarted = 0;
let marked: { run: string; probes: number } | undefined, markedChart = false, markedEnd = false;
function mark(v: RunView): void {
  const at = (what: 'shown' | 'chart' | 'end') => marks.push({ what, t: Date.now(), status: v.status, step: v.step, config: v.configPath, drawMs: Date.now() - drawStarted });
  if (!marks.some(m => m.what === 'shown')) at('shown');
  // The host's marks of the run drawn (when it got the command, heard from the worker), same clock.
  (window as unknown as { activationLensHostMarks?: RunView['marks'] }).activationLensHostMarks = v.marks;
  // A new run: another config or command (a whole short run can fall between two draws), or a state that starts over.
  const run = `${v.configPath}\n${v.marks?.[0]?.t ?? ''}`;
  if (marked && (marked.run !== run || v.timeline.length < marked.probes || (v.status === 'running' && markedEnd))) { markedChart = false; markedEnd = false; }
  marked = { run, probes: v.timeline.length };
  if (!markedChart && v.timeline.length) { markedChart = true; at('chart'); }
  if (!markedEnd && v.status !== 'running' && v.status !== 'idle' && v.timeline.length) { markedEnd = true; at('end'); }
}

function draw(): void {
  drawStarted = Date.now();
  const logs = view?.source === 'tensorboard';
  // Logs are written by another process: nothing here trains them or can stop them.
  const running = view?.status === 'running' && !logs;
  runButton.hidden = running || logs;
  stopButton.hidden = !running;
  compareAll.hidden = !view || logs;
  progress.hidden = !view || logs;
  if (!view) return;
  vscode.setState(toSaved(view));
  title.textContent = view.configName;
  // Two configs may share a name: the path tells them apart.
  configLabel.textContent = view.configLabel ?? '';
  configLabel.hidden = !view.configLabel;
  staleBanner.hidden = !stale.stale || logs;
  staleRerun.hidden = running;
  statusText.className = `status ${logs ? 'done' : view.status}`;
  const first = view.timeline[0]?.step, unit = view.stepUnit === 'epoch' ? 'epoch' : 'step';
  statusText.textContent = logs
    ? (view.timeline.length ? `event log: ${view.timeline.length} logged ${unit}${view.timeline.length === 1 ? '' : 's'} (${first}..${view.step}); updates when the files grow` : 'event log: no logged steps with layer data')
      + (view.message ? ` · ${view.message}` : '')
    : running ? `training: step ${view.step} / ${view.totalSteps}`
    : view.status === 'done' ? `done: ${view.step} steps` : view.status === 'cancelled' ? `stopped at step ${view.step}`
    : view.status === 'error' ? `error: ${view.message ?? ''}` : 'not run yet';
  // Which engine trained (and why): a torch run and a core run look alike otherwise.
  if (!logs && view.engine) statusText.textContent += ` · ${view.engine}`;
  noteBox.textContent = view.dataNote ?? '';
  noteBox.hidden = !view.dataNote;
  progress.max = view.totalSteps;
  progress.value = view.step;
  tableBox.replaceChildren(healthTable(view.layers, view.timeline.at(-1)));
  const focusInResults = findingsBox.contains(document.activeElement) || compareBox.contains(document.activeElement);
  drawFindings(view);
  drawActivationChoice(view);
  drawVerifyBox(view.verification);
  drawCompareBox(view.compare);
  // The Apply just pressed changed the config: its button is now disabled, so the keyboard goes to the one action left.
  if (focusInResults && (stale.stale || (!!view.compare && trialsStale(view.compare, stale.trials))) && !findingsBox.contains(document.activeElement) && !compareBox.contains(document.activeElement)
    && !staleBanner.hidden && !staleRerun.hidden) staleRerun.focus();
  // A run that is starting has nothing to chart yet: its empty charts (seven or more) cost more than the rest of the
  // page (0.13-0.17 s in a busy workbench), holding back the page's first paint and then the first probes' chart.
  if (view.timeline.length || !running || charts.drawn) charts.update({ layers: view.layers, timeline: view.timeline, lossCurve: view.lossCurve });
  mark(view);
}

let findingsKey = '';
function drawFindings(v: RunView): void {
  // Rebuilt only when they change: a redraw (any message) must not take the keyboard focus off an Apply button.
  const key = JSON.stringify([v.configUri, v.source, v.findings, v.suggestions, v.missing, stale.stale]);
  if (key === findingsKey) return;
  findingsKey = key;
  if (!v.findings) { findingsBox.replaceChildren(); return; }
  const list = el('ul', { class: 'findings', id: 'findings' });
  v.findings.forEach((f, fi) => {
    const actions = f.suggestions.map((s, si) => {
      const label = [s.activation, s.init, s.lr !== undefined ? `lr ${formatNumber(s.lr)}` : '', s.clip !== undefined ? `clip ${formatNumber(s.clip)}` : ''].filter(Boolean).join(' + ');
      return label ? [button(`Apply ${label}`, { type: 'applyFinding', finding: fi, suggestion: si }, { title: s.reason, class: 'apply' }),
        button('Verify', { type: 'verifyFinding', finding: fi, suggestion: si }, { title: `Run the config with ${label} applied (same seed and data) and show before/after`, class: 'secondary verify' })] : [];
    }).flat();
    const extra: HTMLElement[] = [];
    if (v.source === 'tensorboard') actions.length = 0;   // logs have no config to edit and no trainer to compare with
    else {
      if (stale.stale && actions.length) { actions.forEach(b => disableStale(b)); extra.push(staleReason(STALE_REASON)); }
      if (f.layer >= 0) extra.push(button('Compare', { type: 'compare', layer: f.layer }, { class: 'secondary' }));
    }
    list.append(el('li', { class: f.severity, 'data-kind': f.kind },
      el('strong', {}, `${f.severity} · ${f.kind}`), ` ${f.layerName ? `(${f.layerName}) ` : ''}${f.message}`,
      el('div', { class: 'actions' }, ...actions, ...extra)));
  });
  const suggestions = el('div', { class: 'suggestions' });
  for (const s of v.suggestions ?? []) {
    const layer = v.layers.find(l => l.index === s.layer);
    const top = s.ranked.slice(0, 3);
    if (!layer || !top.length) continue;
    suggestions.append(el('div', { class: 'suggestion', 'data-layer': String(s.layer) },
      el('span', { class: 'name' }, `${layer.name} (${s.current}): `),
      ...top.flatMap((r, rank) => [button(`${rank + 1}. ${r.activation} + ${r.init}`, { type: 'applyRanked', layer: s.layer, rank }, { title: r.reason, class: 'secondary' }),
        ...(v.source === 'tensorboard' || r.activation === s.current ? [] : [button('Verify', { type: 'verifyRanked', layer: s.layer, rank }, { title: `Run with ${r.activation} + ${r.init} on ${layer.name} and show before/after`, class: 'secondary verify' })])]),
      ...(stale.stale && v.source !== 'tensorboard' ? [staleReason(STALE_REASON)] : [])));
    if (stale.stale && v.source !== 'tensorboard') suggestions.lastElementChild!.querySelectorAll('button').forEach(b => disableStale(b));
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
  const title = el('h3', { id: 'compare-title' }, trialsTitle(c));
  const outOfDate = trialsStale(c, stale.trials);
  const lowered = c.results.some(r => r.lr !== undefined);
  const head = el('tr', {}, ...['#', 'activation + init', 'lr', 'val loss', 'val acc', ''].map(h => el('th', { scope: 'col' }, h)));
  const rows = c.results.map((r, rank) => el('tr', { class: r.trial?.diverged ? 'diverged' : '', 'data-activation': r.activation },
    el('td', {}, String(rank + 1)),
    el('td', { title: r.reason }, `${r.activation} + ${r.init}${r.trial?.diverged ? ' (diverged)' : ''}`),
    el('td', {}, r.trial?.lr !== undefined ? `${formatNumber(r.trial.lr)}${r.lr !== undefined ? '*' : ''}` : '–'),
    el('td', {}, formatNumber(r.trial?.valLoss)),
    el('td', {}, r.trial?.valAccuracy !== undefined ? `${Math.round(100 * r.trial.valAccuracy)}%` : '–'),
    el('td', {}, ...applyCell(c, rank, outOfDate))));
  const ranking = el('table', { class: 'ranking', id: 'compare-ranking' }, el('thead', {}, head), el('tbody', {}, ...rows));
  const notes = el('p', { class: 'rule' }, `Ranking: ${c.rule ?? 'by validation loss'}.`,
    ...(c.retryRule ? [el('br'), `Fair trials: ${c.retryRule}.`] : []),
    ...(lowered ? [el('br'), `* a lower learning rate than the config's ${formatNumber(c.configLr)}: the rate is global, so Apply sets train.lr for the whole network, not only ${c.layerName}.`] : []));
  const verdict = c.verdict ? el('p', { class: 'verdict', id: 'compare-verdict' }, c.verdict) : '';
  const wrap = el('div', { class: 'canvas-wrap' });
  wrap.style.height = '220px';   // CSSOM, not a style attribute: the CSP allows no inline styles
  const canvas = el('canvas', { id: 'chart-compare', role: 'img', 'aria-label': 'trial loss curves' });
  wrap.append(canvas);
  compareBox.replaceChildren(title, verdict, ranking, notes, wrap);
  if (c.results.length) compareChart = drawCompare(canvas, c.results, compareChart);
}

/** A done, usable (trained, not diverged, finite loss) row's Apply: it names the trials drawn (trialApply), disabled with the reason when they are out of date. */
function applyCell(c: CompareView, rank: number, outOfDate: boolean): HTMLElement[] {
  const r = c.results[rank];
  // The host refuses the same rows (trialRowRefusal): a diverged or lossless trial ranks last and is no fix.
  if (c.status !== 'done' || !r.trial || r.trial.diverged || !Number.isFinite(r.trial.valLoss)) return [];
  const message = trialApply(c, rank);
  // Disabled: never clicked (trials that cannot name themselves get a harmless 'ready' behind the disabled button).
  if (!message || outOfDate) return [disableStale(button('Apply', message ?? { type: 'ready' }, { class: 'secondary apply-trial' }), STALE_TRIALS), staleReason(STALE_TRIALS)];
  return [button('Apply', message, { class: 'secondary apply-trial',
    title: `Set ${r.activation} + ${r.init} on ${c.layerName}${r.lr !== undefined ? ` and train.lr ${r.lr} (global: the whole network's rate)` : ''}` })];
}

function drawVerifyBox(v: VerificationView | undefined): void {
  if (!v) { verifyBox.replaceChildren(); return; }
  const r = v.result;
  const title = el('h3', { id: 'verify-title' }, `Verify ${v.title}: ${v.status === 'done' ? (r?.improved ? 'helps' : 'does not help') : v.status}${v.engine ? ` · ${v.engine}` : ''}`);
  if (!r) { verifyBox.replaceChildren(title, ...(v.message ? [el('p', {}, v.message)] : [])); return; }
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${formatNumber(100 * x, 2)}%`);
  const pair = (a: string, b: string) => `${a} → ${b}`;
  const rows = r.before.layers.map((b, i) => {
    const a = r.after.layers[i];
    return el('tr', {}, el('td', {}, b.name), el('td', {}, pair(formatNumber(b.gradRatio ?? undefined), formatNumber(a?.gradRatio ?? undefined))),
      el('td', {}, pair(pct(b.deadFraction), pct(a?.deadFraction))), el('td', {}, pair(pct(b.saturatedFraction), pct(a?.saturatedFraction))));
  });
  const table = el('table', { class: 'verify-table' },
    el('thead', {}, el('tr', {}, ...['layer', 'grad ratio', 'dead', 'saturated'].map(h => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows));
  const summary = el('p', { class: r.improved ? 'verdict helps' : 'verdict no-help', id: 'verify-message' }, r.message);
  const finding = r.suggestion.finding ? el('p', {}, `${r.suggestion.finding.kind} on ${view?.layers[r.suggestion.finding.layer]?.name ?? 'the network'}: ${r.findingGone ? 'gone' : 'still there'} · findings before: ${r.before.findings.length || 'none'}, after: ${r.after.findings.length ? r.after.findings.join(', ') : 'none'}`) : '';
  const wrap = el('div', { class: 'canvas-wrap' });
  wrap.style.height = '200px';
  const canvas = el('canvas', { id: 'chart-verify', role: 'img', 'aria-label': 'loss before and after the suggestion' });
  wrap.append(canvas);
  verifyBox.replaceChildren(title, summary, finding, table, wrap);
  verifyChart = drawVerification(canvas, r.before.lossCurve, r.after.lossCurve, verifyChart);
}

onThemeChange(() => { charts.reset(); redraw(); });
// Plot areas, ticks and bars of the charts, for the UI tests (test/ui/panel.test.mjs).
(window as unknown as { activationLensCharts: () => unknown }).activationLensCharts = () => charts.describe();
// How many charts are still to come (they are created one per task): the tests wait for 0 before reading them all.
(window as unknown as { activationLensChartsPending: () => number }).activationLensChartsPending = () => charts.pending;
// The host writes the view it has into the page (the run that is starting, with its layer list, or the last one):
// drawn at once, before any message. It is newer than this webview's own saved state, which is the fallback.
view = readInitial() ?? fromSaved(vscode.getState())?.view;
draw();
post({ type: 'ready' });

/** The host's view written into the page; it may come from workspaceState, written by an older version: checked too. */
function readInitial(): RunView | undefined {
  const text = document.getElementById('initial-state')?.textContent;
  if (!text) return undefined;
  try {
    const initial = JSON.parse(text) as { view?: unknown } | null;
    return isRunView(initial?.view) ? initial.view : undefined;
  } catch { return undefined; }
}
