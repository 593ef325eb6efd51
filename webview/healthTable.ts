/** The per-layer health table, shared by the panel and the HTML report. */
import type { ProbePoint } from '../src/core/types';
import { formatNumber } from '../src/format';
import { el } from './vscodeApi';
import { layerColorMap } from './theme';

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

/**
 * The table. Columns of class "opt" give way on a narrow panel (media/layout.css): layer, activation, dead,
 * saturated and grad ratio stay, the rest moves to a detail line under each layer's name (inside its cell, so the
 * table keeps one row per layer).
 */
export function healthTable(layers: TableLayer[], last: ProbePoint | undefined): HTMLTableElement {
  const outputIndex = outputLayerIndex(layers);
  const outGrad = last?.layers[outputIndex]?.gradRms;
  const colors = layerColorMap(layers);
  const head: [string, boolean][] = [['#', true], ['layer', false], ['type', true], ['activation', false], ['output', true], ['params', true],
    ['dead', false], ['saturated', false], ['gradRms', true], ['grad ratio', false], ['update ratio', true]];
  const table = el('table', { id: 'health', class: 'health' });
  table.append(el('caption', {}, last ? `Layer health at step ${last.step}` : 'Layers (no run yet)'));
  table.append(el('thead', {}, el('tr', {}, ...head.map(([h, opt]) => el('th', { scope: 'col', ...(opt ? { class: 'opt' } : {}) }, h)))));
  const body = el('tbody');
  for (const l of layers) {
    const s = last?.layers[l.index];
    const ratio = s && outGrad ? s.gradRms / outGrad : undefined;
    const output = l.outputShape ? `[${l.outputShape.join(', ')}]` : '';
    const params = l.params !== undefined && Number.isFinite(l.params) ? String(l.params) : '';
    const gradRms = s ? formatNumber(s.gradRms) : '–';
    const update = updateRatioText(s);
    const name = el('th', { scope: 'row' });
    const color = colors.get(l.index);
    if (color) {
      // The layer's colour in every chart (CSSOM, not a style attribute: the CSP allows no inline styles).
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.background = color;
      name.append(swatch);
    }
    name.append(l.name);
    const row = el('tr', { 'data-layer': String(l.index) },
      el('td', { class: 'opt' }, String(l.index)), name, el('td', { class: 'opt' }, l.type), el('td', {}, l.activation ?? ''),
      el('td', { class: 'opt' }, output), el('td', { class: 'num opt' }, params),
      el('td', { class: 'num', 'data-stat': 'dead' }, pct(s?.deadFraction)),
      el('td', { class: 'num', 'data-stat': 'saturated' }, pct(s?.saturatedFraction)),
      el('td', { class: 'num opt', 'data-stat': 'gradRms' }, gradRms),
      el('td', { class: 'num', 'data-stat': 'ratio' }, ratio !== undefined ? formatNumber(ratio) : '–'),
      el('td', { class: 'num opt', 'data-stat': 'updateRatio' }, update));
    // An output sigmoid/softmax fused with its loss saturates on a confident classifier: not a problem to flag.
    const judged = l.index < outputIndex;   // the output layer and what follows it (an activation layer) are not judged
    const bad = s && (s.nonFinite > 0 || (judged && ((s.deadFraction ?? 0) >= 0.5 || (s.saturatedFraction ?? 0) >= 0.5)));
    if (bad) row.classList.add('bad');
    name.append(el('div', { class: 'detail' }, [`#${l.index}`, l.type, output && `output ${output}`, params && `${params} params`,
      `gradRms ${gradRms}`, `update ratio ${update}`].filter(Boolean).join(' · ')));
    body.append(row);
  }
  table.append(body);
  return table;
}
