/** The per-layer health table, shared by the panel and the HTML report. */
import type { ProbePoint } from '../src/core/types';
import { formatNumber } from '../src/format';
import { el } from './vscodeApi';

export interface TableLayer { index: number; name: string; type: string; activation?: string; outputShape?: number[]; params?: number }

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${formatNumber(100 * x)}%`);

/** The core's measured ratio, or for logs the lower bound from the weight histograms ("≥ x"; "0" when unchanged). */
function updateRatioText(s: ProbePoint['layers'][number] | undefined): string {
  if (s?.updateRatio !== null && s?.updateRatio !== undefined) return formatNumber(s.updateRatio);
  const w = s?.weights;
  if (!w || w.updateRatioLower === null) return '–';
  return w.unchanged ? '0 (unchanged)' : w.updateRatioLower > 0 ? `≥ ${formatNumber(w.updateRatioLower)}` : '≥ 0 (below bucket resolution)';
}

// The output layer is the rules' (the last weighted layer), so the panel's ratios are the CLI's.
export { outputLayerIndex } from '../src/diagnosis/layers';
import { outputLayerIndex } from '../src/diagnosis/layers';

export function healthTable(layers: TableLayer[], last: ProbePoint | undefined): HTMLTableElement {
  const outputIndex = outputLayerIndex(layers);
  const outGrad = last?.layers[outputIndex]?.gradRms;
  const head = ['#', 'layer', 'type', 'activation', 'output', 'params', 'dead', 'saturated', 'gradRms', 'grad ratio', 'update ratio'];
  const table = el('table', { id: 'health', class: 'health' });
  table.append(el('caption', {}, last ? `Layer health at step ${last.step}` : 'Layers (no run yet)'));
  table.append(el('thead', {}, el('tr', {}, ...head.map(h => el('th', { scope: 'col' }, h)))));
  const body = el('tbody');
  for (const l of layers) {
    const s = last?.layers[l.index];
    const ratio = s && outGrad ? s.gradRms / outGrad : undefined;
    const row = el('tr', { 'data-layer': String(l.index) },
      el('td', {}, String(l.index)), el('th', { scope: 'row' }, l.name), el('td', {}, l.type), el('td', {}, l.activation ?? ''),
      el('td', {}, l.outputShape ? `[${l.outputShape.join(', ')}]` : ''), el('td', { class: 'num' }, l.params !== undefined && Number.isFinite(l.params) ? String(l.params) : ''),
      el('td', { class: 'num', 'data-stat': 'dead' }, pct(s?.deadFraction)),
      el('td', { class: 'num', 'data-stat': 'saturated' }, pct(s?.saturatedFraction)),
      el('td', { class: 'num', 'data-stat': 'gradRms' }, s ? formatNumber(s.gradRms) : '–'),
      el('td', { class: 'num', 'data-stat': 'ratio' }, ratio !== undefined ? formatNumber(ratio) : '–'),
      el('td', { class: 'num', 'data-stat': 'updateRatio' }, updateRatioText(s)));
    // An output sigmoid/softmax fused with its loss saturates on a confident classifier: not a problem to flag.
    const judged = l.index < outputIndex;   // the output layer and what follows it (an activation layer) are not judged
    if (s && (s.nonFinite > 0 || (judged && ((s.deadFraction ?? 0) >= 0.5 || (s.saturatedFraction ?? 0) >= 0.5)))) row.classList.add('bad');
    body.append(row);
  }
  table.append(body);
  return table;
}
