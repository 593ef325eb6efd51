/**
 * Script of the self-contained HTML report (inlined by src/report/html.ts): reads the §6.1 JSON report from
 * <script type="application/json" id="report-data"> and draws the same charts as the panel into #charts.
 */
import type { ProbePoint } from '../src/core/types';
import { RunCharts } from './charts';
import { layerColorMap } from './theme';

interface ReportLike {
  model: { layers: { index: number; name: string; type: string; activation?: string | null }[] };
  timeline?: ProbePoint[];
}

const data = document.getElementById('report-data');
const root = document.getElementById('charts');
if (data && root) {
  const report = JSON.parse(data.textContent ?? '{}') as ReportLike;
  const timeline = report.timeline ?? [];
  const charts = new RunCharts(root);
  // Plot areas, ticks and bars of the charts, for the UI tests (test/ui/report.test.mjs).
  (window as unknown as { activationLensCharts: () => unknown }).activationLensCharts = () => charts.describe();
  const layers = report.model.layers.map(l => ({ index: l.index, name: l.name, type: l.type, activation: l.activation ?? undefined }));
  // Each layer's chart colour as a swatch in the layer table, as in the panel (CSSOM: the CSP allows no inline styles).
  for (const [index, color] of layerColorMap(layers)) {
    const th = document.querySelector(`#layers tr[data-layer="${index}"] th`);
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.setAttribute('aria-hidden', 'true');
    swatch.style.background = color;
    th?.prepend(swatch);
  }
  charts.update({
    layers,
    timeline,
    lossCurve: timeline.map(p => [p.step, p.trainLoss] as [number, number]),
  });
  root.dataset.rendered = 'true';
}
