/** The sidebar view: the config's layers with health badges, Run/Stop, progress, Open Panel. */
import type { RunView, WebviewToHost } from '../src/protocol';
import { formatNumber } from '../src/format';
import { connect, el, throttle } from './vscodeApi';

const app = document.getElementById('app')!;
let view: RunView | undefined;
const vscode = connect<{ view: RunView }>(m => {
  if (m.type === 'state') view = m.view;
  else if (m.type === 'stats' && view) { view.step = m.step; view.timeline.push(...m.probes); }
  redraw();
});
const redraw = throttle(draw, 100);

// Persistent controls: redraws update them in place, so a click is never lost to a re-render mid-run.
const title = el('h2', { id: 'sidebar-title' });
const status = el('p', { id: 'sidebar-status' });
const progress = el('progress', { 'aria-label': 'training progress', max: '1', value: '0' });
const runButton = action('Run', 'run', 'sb-run');
const stopButton = action('Stop', 'stop', 'sb-stop');
const list = el('ul', { class: 'layers', 'aria-label': 'layers' });
app.replaceChildren(title, status, progress, el('div', { class: 'actions' }, runButton, stopButton, action('Open Panel', 'showPanel', 'sb-showPanel')), list);

function action(label: string, type: 'run' | 'stop' | 'showPanel', id: string): HTMLButtonElement {
  const b = el('button', { type: 'button', id }, label);
  b.addEventListener('click', () => vscode.postMessage({ type } as WebviewToHost));
  return b;
}

function badge(text: string, level: 'ok' | 'warn' | 'bad'): HTMLElement {
  return el('span', { class: `badge ${level}` }, text);
}

function draw(): void {
  const running = view?.status === 'running';
  runButton.hidden = running;
  stopButton.hidden = !running;
  if (!view) {
    title.textContent = 'No run yet';
    status.textContent = 'Open a *.nn.yaml config and press Run.';
    progress.hidden = true;
    return;
  }
  vscode.setState({ view });
  title.textContent = view.configName;
  status.textContent = running ? `step ${view.step} / ${view.totalSteps}` : view.status === 'error' ? `error: ${view.message ?? ''}` : view.status;
  progress.hidden = false;
  progress.max = view.totalSteps;
  progress.value = view.step;
  const last = view.timeline.at(-1);
  const findings = view.findings ?? [];
  list.replaceChildren(...view.layers.map(l => {
    const s = last?.layers[l.index];
    const badges: HTMLElement[] = [];
    if (s?.deadFraction !== null && s?.deadFraction !== undefined) {
      badges.push(badge(`dead ${formatNumber(100 * s.deadFraction, 2)}%`, s.deadFraction >= 0.5 ? 'bad' : s.deadFraction >= 0.25 ? 'warn' : 'ok'));
    }
    if (s?.saturatedFraction !== null && s?.saturatedFraction !== undefined) {
      badges.push(badge(`sat ${formatNumber(100 * s.saturatedFraction, 2)}%`, s.saturatedFraction >= 0.5 ? 'warn' : 'ok'));
    }
    const worst = findings.filter(f => f.layer === l.index).map(f => f.severity).sort()[0];
    if (worst === 'error' || worst === 'warning') badges.push(badge(worst, worst === 'error' ? 'bad' : 'warn'));
    return el('li', { 'data-layer': String(l.index) }, el('span', { class: 'name' }, l.name),
      el('span', { class: 'muted' }, ` ${l.type}${l.activation ? ` · ${l.activation}` : ''}`), ...badges);
  }));
}

const saved = vscode.getState();
if (saved?.view) view = saved.view;
draw();
vscode.postMessage({ type: 'ready' });
