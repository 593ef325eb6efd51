// Checks of what the charts show, from their own description (window.activationLensCharts(), webview/charts.ts:
// plot area, tick labels, axis titles, gradient bars and zero markers), shared by the panel and report UI tests.
import assert from 'node:assert/strict';
import { until } from './harness.mjs';

/**
 * The page's chart sections ([data-chart], laid out at once) and whether each has its chart: its canvas carries the
 * chart's id and the chart describes itself. The panel creates its charts one per task after the first paint
 * (webview/charts.ts), so "none pending" alone would pass with a chart dropped from that queue.
 */
export async function chartSections(frame) {
  return frame.evaluate(() => {
    const described = new Set((window.activationLensCharts?.() ?? []).map(c => c.id));
    return { pending: window.activationLensChartsPending?.() ?? 0,
      sections: [...document.querySelectorAll('[data-chart]')].map(s => ({ id: s.dataset.chart, title: s.querySelector('h3')?.textContent ?? '',
        drawn: described.has(s.dataset.chart) && s.querySelector('canvas')?.id === `chart-${s.dataset.chart}` })) };
  });
}

/** The ids of the sections in `chartSections`' answer whose chart is not drawn. */
export const undrawnCharts = state => state.sections.filter(s => !s.drawn).map(s => s.id);

/** Waits until the page has at least `min` chart sections, each with its chart drawn and none still queued. */
export async function waitForAllCharts(frame, min = 4) {
  let last;
  try {
    return await until('every chart section to have its chart', async () => {
      last = await chartSections(frame);
      return last.sections.length >= min && last.pending === 0 && !undrawnCharts(last).length && last.sections;
    });
  } catch (e) {
    throw new Error(`${e.message}: ${last ? `sections ${last.sections.map(s => s.id)}, without a chart ${undrawnCharts(last)}, ${last.pending} pending` : 'no answer from the page'}`);
  }
}

/**
 * Every chart has x and y axis titles and tick labels that differ from one another; the gradient-flow chart has a
 * bar inside its plot area for every layer with a gradient, and a "0 (...)" marker for each layer in `zeroLayers`.
 */
export async function assertChartsReadable(frame, layerNames, zeroLayers = []) {
  const charts = await frame.evaluate(() => window.activationLensCharts());
  assert.ok(charts.length >= 4, `charts: ${charts.map(c => c.id)}`);
  for (const c of charts) {
    assert.ok(c.xTitle && c.yTitle, `${c.id}: axis titles ${c.xTitle} / ${c.yTitle}`);
    for (const axis of ['xTicks', 'yTicks']) {
      assert.ok(c[axis].length >= 2, `${c.id}: ${axis} ${c[axis]}`);
      assert.equal(new Set(c[axis]).size, c[axis].length, `${c.id}: repeated ${axis} labels ${c[axis].join(', ')}`);
    }
  }
  const flow = charts.find(c => c.id === 'gradflow');
  assert.deepEqual(flow.bars.map(b => b.label), layerNames);
  const { area } = flow;
  for (const b of flow.bars) {
    if (zeroLayers.includes(b.label)) {
      assert.equal(b.value, null, `${b.label} has gradRms 0: no bar`);
      continue;
    }
    assert.ok(b.value > 0, `${b.label}: bar value ${b.value}`);
    assert.ok(b.top >= area.top - 0.5 && b.bottom <= area.bottom + 0.5 && b.left >= area.left - 0.5 && b.right <= area.right + 0.5,
      `${b.label}: bar ${JSON.stringify(b)} outside the plot area ${JSON.stringify(area)}`);
    assert.ok(b.bottom - b.top >= 3, `${b.label}: a bar of ${b.bottom - b.top} px`);
  }
  assert.deepEqual(flow.zeros.map(z => flow.bars[z.index].label), zeroLayers);
  for (const z of flow.zeros) assert.match(z.label, /^0 \((dead|no gradient)\)$/);
  if (zeroLayers.length) assert.equal(flow.yTicks[0], '0', `the floor tick: ${flow.yTicks}`);
  return charts;
}

/** The layer table shows layer, activation, dead, saturated and grad ratio inside the window, with no horizontal scroll. */
export async function assertKeyColumnsFit(frame, tableSelector) {
  const r = await frame.evaluate(sel => {
    const table = document.querySelector(sel);
    const box = table.closest('.table-box') ?? table.parentElement;
    const heads = [...table.querySelectorAll('thead th')].map(th => ({ text: th.textContent.trim(), right: th.getBoundingClientRect().right,
      left: th.getBoundingClientRect().left, shown: th.getClientRects().length > 0 && getComputedStyle(th).display !== 'none' }));
    const detail = table.querySelector('tbody .detail');
    const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
      .slice(0, 5).map(e => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className && typeof e.className === 'string' ? `.${e.className}` : ''} to ${Math.round(e.getBoundingClientRect().right)} px`);
    return { heads, wide, width: document.documentElement.clientWidth, boxScroll: box.scrollWidth, boxClient: box.clientWidth,
      pageScroll: document.documentElement.scrollWidth, detail: detail ? getComputedStyle(detail).display : 'none' };
  }, tableSelector);
  for (const name of ['layer', 'activation', 'dead', 'saturated', 'grad ratio']) {
    const h = r.heads.find(x => x.text === name);
    assert.ok(h?.shown, `${name} column hidden: ${JSON.stringify(r.heads)}`);
    assert.ok(h.left >= 0 && h.right <= r.width + 0.5, `${name} column at ${h.left}..${h.right} in a ${r.width} px window`);
  }
  assert.ok(r.boxScroll <= r.boxClient, `the table scrolls sideways (${r.boxScroll} > ${r.boxClient})`);
  assert.ok(r.pageScroll <= r.width, `the page scrolls sideways (${r.pageScroll} > ${r.width}): ${r.wide.join(', ')}`);
  assert.notEqual(r.detail, 'none', 'the other columns moved to the detail line');
  return r;
}
