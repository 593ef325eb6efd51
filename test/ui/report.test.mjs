// The exported HTML report in a plain browser (no workbench): accessible (axe-core: no serious or critical
// violations, light and dark), charts that show every value with distinct ticks and axis titles, and a layer table
// that keeps its key columns without horizontal scrolling in a 420 px window. Screenshot: report-charts.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { launchBrowser, ROOT } from '../tools/harness.mjs';
import { renderHtmlReport } from '../../src/report/html.ts';
import { assertAccessible } from '../tools/a11y.mjs';
import { assertChartsReadable, assertKeyColumnsFit } from '../tools/charts.mjs';

// UI_SCREENSHOTS=docs/images refreshes the README's pictures from the same run.
const OUT = path.resolve(ROOT, process.env.UI_SCREENSHOTS || 'test-output/ui');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-report-'));
let browser, report;
const files = {};

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  // The dying-relu example (relu layers dying, a softmax output), as it ran, and with its last probe as the issue
  // saw it: both relu layers fully dead, their gradient exactly 0 (the evidence of the finding).
  report = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'diagnose', 'examples/dying-relu-high-lr.nn.yaml',
    '--json', '--fail-on', 'never'], { encoding: 'utf8', cwd: ROOT }));
  const dead = structuredClone(report);
  const last = dead.timeline.at(-1);
  for (const l of dead.model.layers) if (l.activation === 'relu') Object.assign(last.layers[l.index], { gradRms: 0, deadFraction: 1 });
  const script = fs.readFileSync(path.join(ROOT, 'dist/webview/report.js'), 'utf8');
  for (const [name, r] of Object.entries({ real: report, dead })) {
    files[name] = { file: path.join(dir, `${name}.html`), report: r };
    fs.writeFileSync(files[name].file, renderHtmlReport(r, { script }));
  }
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); fs.rmSync(dir, { recursive: true, force: true }); });

async function open(width, colorScheme, which = 'real') {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width, height: 1000 });
  await page.emulateMedia({ colorScheme });
  await page.goto(`file://${files[which].file}`);
  await page.locator('#charts[data-rendered="true"]').waitFor();
  return page;
}

test('the report is accessible in light and dark (axe-core: no serious or critical violations)', async () => {
  for (const scheme of ['light', 'dark']) {
    const page = await open(1200, scheme);
    await assertAccessible(page, `report (${scheme})`);
    await page.close();
  }
});

const zeroLayers = r => r.model.layers.filter(l => l.activation && r.timeline.at(-1).layers[l.index].gradRms === 0).map(l => l.name);
const probed = r => r.model.layers.filter(l => l.activation).map(l => l.name);

test('gradients of exactly 0 are drawn as "0 (dead)" on the floor of the log axis, not left out', async () => {
  const { report: r } = files.dead;
  assert.deepEqual(zeroLayers(r), ['dense_1', 'dense_2']);
  const page = await open(1200, 'dark', 'dead');
  const charts = await assertChartsReadable(page, probed(r), ['dense_1', 'dense_2']);
  assert.deepEqual(charts.find(c => c.id === 'gradflow').zeros.map(z => z.label), ['0 (dead)', '0 (dead)']);
  await page.close();
});

test('the report charts draw every layer with distinct ticks and axis titles, softmax as a distribution, curves side by side', async () => {
  const page = await open(1200, 'dark');
  await assertChartsReadable(page, probed(report), zeroLayers(report));
  // softmax is not elementwise: its layer shows the distribution of its outputs, not a curve.
  const out = report.model.layers.find(l => l.activation === 'softmax');
  assert.match(await page.locator(`[data-chart="curve-${out.index}"] h3`).innerText(), /softmax output distribution/);
  // The per-layer curves share the width: at 1200 px the first two sit side by side.
  const [a, b] = await page.locator('.curves canvas').evaluateAll(cs => cs.slice(0, 2).map(c => c.getBoundingClientRect().toJSON()));
  assert.ok(Math.abs(a.top - b.top) < 2 && b.left > a.right, `curves stacked: ${JSON.stringify([a, b])}`);
  await page.locator('#charts').screenshot({ path: path.join(OUT, 'report-charts.png') });
  await page.close();
});

test('in a 420 px window the layer table keeps layer, activation, dead, saturated and grad ratio without scrolling', async () => {
  const page = await open(420, 'light');
  await assertKeyColumnsFit(page, '#layers');
  await page.close();
});
