/** The sidebar view: the config's layers with health badges, Run/Stop, progress, Open Panel. */
import type { RunView, TbRunsView, WebviewToHost } from '../src/protocol';
import { formatNumber, layerLabel } from '../src/format';
import { outputLayerIndex } from './healthTable';
import { applyMessage, fromSaved, toSaved, type SavedState } from './runState';
import { connect, el, throttle } from './vscodeApi';

const app = document.getElementById('app')!;
let view: RunView | undefined;
let tb: TbRunsView | undefined;
let stale = false;
/** Why there is no config to show (no folder, none in the workspace, none open). */
let empty: string | undefined;
const vscode = connect<SavedState>(m => {
  view = applyMessage(view, m).view;   // the panel's fold: the sidebar draws no charts, so it has nothing to reset
  if (m.type === 'state') empty = undefined;
  else if (m.type === 'stale') stale = m.stale;
  else if (m.type === 'empty') { empty = m.message; stale = false; }
  else if (m.type === 'tbRuns') tb = m.tb;
  redraw();
});
const redraw = throttle(draw, 100);

// Persistent controls: redraws update them in place, so a click is never lost to a re-render mid-run.
const title = el('h2', { id: 'sidebar-title' });
const configLabel = el('p', { id: 'sidebar-config', class: 'muted config-label' });
const status = el('p', { id: 'sidebar-status' });
const progress = el('progress', { 'aria-label': 'training progress', max: '1', value: '0' });
const runButton = action('Run', 'run', 'sb-run');
const runReason = el('span', { id: 'sb-run-reason', class: 'stale-reason' }, 'Run needs a config: open or create one');
const stopButton = action('Stop', 'stop', 'sb-stop');
const newConfig = action('New Network Config', 'newConfig', 'sb-newConfig');
const staleBanner = el('div', { id: 'stale-banner', class: 'stale-banner', role: 'status' },
  el('span', {}, 'Config changed since this run: re-run'), action('Re-run', 'run', 'sb-stale-rerun'));
const list = el('ul', { class: 'layers', 'aria-label': 'layers' });
const tbBox = el('section', { id: 'tb-runs', 'aria-label': 'TensorBoard runs' });
app.replaceChildren(title, configLabel, staleBanner, status, progress,
  el('div', { class: 'actions' }, runButton, stopButton, action('Open Panel', 'showPanel', 'sb-showPanel'), newConfig, runReason), list, tbBox);

/** The runs of a watched TensorBoard log directory: click one to show it in the panel. */
function drawTbRuns(): void {
  if (!tb) { tbBox.replaceChildren(); return; }
  tbBox.replaceChildren(el('h3', {}, `TensorBoard: ${tb.logdir}`), el('ul', { class: 'layers' }, ...tb.runs.map((r, i) => {
    const b = el('button', { type: 'button', class: i === tb!.shown ? 'secondary shown' : 'secondary', 'data-run': r.name }, r.name);
    b.addEventListener('click', () => vscode.postMessage({ type: 'showTbRun', run: i }));
    const badges = [r.errors ? badge(`${r.errors} error`, 'bad') : undefined, r.warnings ? badge(`${r.warnings} warning`, 'warn') : undefined]
      .filter((x): x is HTMLElement => !!x);
    return el('li', {}, b, el('span', { class: 'muted' }, ` ${r.steps} steps · ${r.layers} layers`), ...badges);
  })));
}

function action(label: string, type: 'run' | 'stop' | 'showPanel' | 'newConfig', id: string): HTMLButtonElement {
  const b = el('button', { type: 'button', id }, label);
  b.addEventListener('click', () => vscode.postMessage({ type } as WebviewToHost));
  return b;
}

function badge(text: string, level: 'ok' | 'warn' | 'bad'): HTMLElement {
  return el('span', { class: `badge ${level}` }, text);
}

function draw(): void {
  drawTbRuns();
  const running = view?.status === 'running';
  runButton.hidden = running;
  stopButton.hidden = !running;
  // No config to show: Run has nothing to run (disabled, saying why); New Network Config is the way in.
  runButton.disabled = !view;
  runButton.title = view ? '' : runReason.textContent!;
  runReason.hidden = !!view;
  newConfig.hidden = !!view;
  staleBanner.hidden = !view || !stale;
  configLabel.textContent = view?.configLabel ?? '';
  configLabel.hidden = !view?.configLabel;
  if (!view) {
    title.textContent = 'No network config';
    status.textContent = empty ?? 'Open a *.nn.yaml config and press Run.';
    progress.hidden = true;
    list.replaceChildren();
    return;
  }
  vscode.setState(toSaved(view, tb));
  title.textContent = view.configName;
  const notRun = view.status === 'idle' && !view.timeline.length;
  status.textContent = running ? `step ${view.step} / ${view.totalSteps}` : view.status === 'error' ? `error: ${view.message ?? ''}`
    : view.parseErrors ? `${view.parseErrors} error${view.parseErrors === 1 ? '' : 's'} in this config (see Problems): fix ${view.parseErrors === 1 ? 'it' : 'them'} to list its layers and run`
    : notRun ? `not run yet: ${view.layers.length} layer${view.layers.length === 1 ? '' : 's'}` : view.status;
  progress.hidden = notRun;
  progress.max = view.totalSteps;
  progress.value = view.step;
  const last = view.timeline.at(-1);
  const findings = view.findings ?? [];
  const outputIndex = outputLayerIndex(view.layers);
  list.replaceChildren(...view.layers.map(l => {
    const s = l.index >= outputIndex ? undefined : last?.layers[l.index];   // outputs are not judged for dead/saturated
    const badges: HTMLElement[] = [];
    if (l.index === outputIndex) badges.push(el('span', { class: 'badge' }, 'output'));
    if (s?.deadFraction !== null && s?.deadFraction !== undefined) {
      badges.push(badge(`dead ${formatNumber(100 * s.deadFraction, 2)}%`, s.deadFraction >= 0.5 ? 'bad' : s.deadFraction >= 0.25 ? 'warn' : 'ok'));
    }
    if (s?.saturatedFraction !== null && s?.saturatedFraction !== undefined) {
      badges.push(badge(`sat ${formatNumber(100 * s.saturatedFraction, 2)}%`, s.saturatedFraction >= 0.5 ? 'warn' : 'ok'));
    }
    const worst = findings.filter(f => f.layer === l.index).map(f => f.severity).sort()[0];
    if (worst === 'error' || worst === 'warning') badges.push(badge(worst, worst === 'error' ? 'bad' : 'warn'));
    // A dense layer's units; other layers' output shape (a conv's [h, w, filters]).
    const size = !l.outputShape.length ? '' : l.type === 'dense' ? ` · ${l.outputShape.at(-1)} units` : ` · [${l.outputShape.join(', ')}]`;
    return el('li', { 'data-layer': String(l.index) }, el('span', { class: 'name' }, layerLabel(l)),
      el('span', { class: 'muted' }, ` ${l.type}${l.activation ? ` · ${l.activation}` : ''}${size}`), ...badges);
  }));
}

// Another version's state, or a malformed one, is dropped: the host sends the view after 'ready'.
const saved = fromSaved(vscode.getState());
if (saved) { view = saved.view; tb = saved.tb; }
draw();
vscode.postMessage({ type: 'ready' });
