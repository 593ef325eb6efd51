// The UI tests' chart check (assertChartShowsData in test/tools/harness.mjs) fails on a chart without data: the
// report page is drawn from a real run, from the same run with no probes, and with every loss and gradient zero.
// No workbench needed: the exported report draws the panel's charts (webview/charts.ts) in a plain page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { launchBrowser, assertChartShowsData, seriesPixels, SERIES, ROOT } from '../tools/harness.mjs';
import { renderHtmlReport } from '../../src/report/html.ts';

let browser, real;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-chartcheck-'));

before(async () => {
  real = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'diagnose', path.join(ROOT, 'test/workspace/spiral.nn.yaml'), '--json'], { encoding: 'utf8' }));
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); fs.rmSync(dir, { recursive: true, force: true }); });

/** Opens the report of `report` and returns the page once its charts are drawn. */
async function open(name, report) {
  const file = path.join(dir, `${name}.html`);
  fs.writeFileSync(file, renderHtmlReport(report, { script: fs.readFileSync(path.join(ROOT, 'dist/webview/report.js'), 'utf8') }));
  const page = await browser.context.newPage();
  await page.goto(`file://${file}`);
  await page.locator('#charts[data-rendered="true"]').waitFor();
  return page;
}

/** Every pixel that is not fully transparent: the check the UI tests used before, for comparison. */
const painted = (page, sel) => page.locator(sel).evaluate(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  return n;
});

test('the chart check passes on the charts of a real run', async () => {
  assert.ok(real.timeline.length >= 10 && real.timeline.every(p => p.trainLoss > 0));
  const page = await open('real', real);
  const loss = await assertChartShowsData(page, '#chart-loss', SERIES.loss, 'loss chart');
  const grad = await assertChartShowsData(page, '#chart-gradflow', SERIES.gradient, 'gradient flow chart');
  console.log(`real run: loss ${JSON.stringify(loss)}, gradient flow ${JSON.stringify(grad)}`);
  await page.close();
});

test('the chart check fails on empty charts (a run with no probes), which still paint axes and legend', async () => {
  const page = await open('empty', { ...real, timeline: [] });
  for (const [sel, series] of [['#chart-loss', SERIES.loss], ['#chart-gradflow', SERIES.gradient]]) {
    console.log(`empty ${sel}: ${await painted(page, sel)} px painted in all, ${JSON.stringify(await seriesPixels(page, sel, series))}`);
    await assert.rejects(assertChartShowsData(page, sel, series), /no data drawn/);
  }
  assert.ok(await painted(page, '#chart-loss') > 1000, 'the old "painted pixels > 1000" check passed this empty chart');
  await page.close();
});

test('the chart check fails when every loss and gradient is zero (nothing to draw on a log axis)', async () => {
  const zero = { ...real, timeline: real.timeline.map(p => ({ ...p, trainLoss: 0, valLoss: 0, layers: p.layers.map(l => ({ ...l, gradRms: 0 })) })) };
  const page = await open('zero', zero);
  for (const [sel, series] of [['#chart-loss', SERIES.loss], ['#chart-gradflow', SERIES.gradient]]) {
    console.log(`all-zero ${sel}: ${await painted(page, sel)} px painted in all, ${JSON.stringify(await seriesPixels(page, sel, series))}`);
    await assert.rejects(assertChartShowsData(page, sel, series), /no data drawn/);
  }
  await page.close();
});
