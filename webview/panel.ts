/** The diagnostics panel (WebviewPanel). Draws the run it is sent, live, at most 10 times a second. */
import type { HostToWebview, RunView } from '../src/protocol';
import { RunCharts } from './charts';
import { healthTable } from './healthTable';
import { onThemeChange } from './theme';
import { connect, el, throttle } from './vscodeApi';

interface PanelState { view: RunView }

const app = document.getElementById('app')!;
let view: RunView | undefined;
const vscode = connect<PanelState>(onMessage);
const header = el('header', { class: 'bar' });
const tableBox = el('div', { class: 'table-box' });
const chartsBox = el('div', { class: 'charts' });
app.replaceChildren(header, tableBox, chartsBox);
const charts = new RunCharts(chartsBox);
const redraw = throttle(draw, 100);

function onMessage(m: HostToWebview): void {
  if (m.type === 'state') {
    if (view?.configPath !== m.view.configPath || m.view.timeline.length < (view?.timeline.length ?? 0)) charts.reset();
    view = m.view;
  } else if (m.type === 'stats' && view) {
    view.step = m.step;
    view.timeline.push(...m.probes);
    view.lossCurve.push(...m.lossCurve);
  } else if (m.type === 'theme') { charts.reset(); }
  redraw();
}

function draw(): void {
  if (!view) {
    header.replaceChildren(el('h2', {}, 'Activation Lens'), el('p', { class: 'muted' }, 'Open a network config and run diagnostics.'),
      button('Run Diagnostics', 'run'));
    return;
  }
  vscode.setState({ view });
  const running = view.status === 'running';
  const status = running ? `training: step ${view.step} / ${view.totalSteps}`
    : view.status === 'done' ? `done: ${view.step} steps` : view.status === 'cancelled' ? `stopped at step ${view.step}`
    : view.status === 'error' ? `error: ${view.message ?? ''}` : 'not run yet';
  const progress = el('progress', { max: String(view.totalSteps), value: String(view.step), 'aria-label': 'training progress' });
  header.replaceChildren(el('h2', {}, view.configName), el('span', { id: 'status', class: `status ${view.status}` }, status), progress,
    running ? button('Stop', 'stop') : button('Run', 'run'));
  tableBox.replaceChildren(healthTable(view.layers, view.timeline.at(-1)));
  charts.update({ layers: view.layers, timeline: view.timeline, lossCurve: view.lossCurve });
}

function button(label: string, type: 'run' | 'stop'): HTMLButtonElement {
  const b = el('button', { type: 'button', id: `btn-${type}` }, label);
  b.addEventListener('click', () => vscode.postMessage({ type }));
  return b;
}

onThemeChange(() => { charts.reset(); redraw(); });
const saved = vscode.getState();
if (saved?.view) view = saved.view;
draw();
vscode.postMessage({ type: 'ready' });
