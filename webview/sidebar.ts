/** The sidebar view: the config's layers with health badges, Run/Stop, progress, Open Panel. */
import type { HostToWebview, RunView } from '../src/protocol';
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

function badge(text: string, level: 'ok' | 'warn' | 'bad'): HTMLElement {
  return el('span', { class: `badge ${level}` }, text);
}

function draw(): void {
  const running = view?.status === 'running';
  const actions = el('div', { class: 'actions' },
    action(running ? 'Stop' : 'Run', running ? 'stop' : 'run'), action('Open Panel', 'showPanel'));
  if (!view) {
    app.replaceChildren(el('p', { id: 'sidebar-title' }, 'No run yet. Open a *.nn.yaml config and press Run.'), actions);
    return;
  }
  vscode.setState({ view });
  const last = view.timeline.at(-1);
  const list = el('ul', { class: 'layers', 'aria-label': 'layers' });
  for (const l of view.layers) {
    const s = last?.layers[l.index];
    const badges: HTMLElement[] = [];
    if (s?.deadFraction !== null && s?.deadFraction !== undefined) {
      badges.push(badge(`dead ${formatNumber(100 * s.deadFraction, 2)}%`, s.deadFraction >= 0.5 ? 'bad' : s.deadFraction >= 0.25 ? 'warn' : 'ok'));
    }
    if (s?.saturatedFraction !== null && s?.saturatedFraction !== undefined) {
      badges.push(badge(`sat ${formatNumber(100 * s.saturatedFraction, 2)}%`, s.saturatedFraction >= 0.5 ? 'warn' : 'ok'));
    }
    list.append(el('li', { 'data-layer': String(l.index) }, el('span', { class: 'name' }, `${l.name}`),
      el('span', { class: 'muted' }, ` ${l.type}${l.activation ? ` · ${l.activation}` : ''}`), ...badges));
  }
  const status = running ? `step ${view.step} / ${view.totalSteps}` : view.status;
  app.replaceChildren(el('h2', { id: 'sidebar-title' }, view.configName), el('p', { id: 'sidebar-status' }, status),
    el('progress', { max: String(view.totalSteps), value: String(view.step), 'aria-label': 'training progress' }), actions, list);
}

function action(label: string, type: 'run' | 'stop' | 'showPanel'): HTMLButtonElement {
  const b = el('button', { type: 'button', id: `sb-${type}` }, label);
  b.addEventListener('click', () => vscode.postMessage({ type }));
  return b;
}

const saved = vscode.getState();
if (saved?.view) view = saved.view;
draw();
vscode.postMessage({ type: 'ready' });
