// The panel, the Activation Explorer and the sidebar in the real workbench (code-server): a panel that reads at 1200
// and at 420 px, charts that show every value, the Explorer's shares equal to a computation from the run's own
// histogram, axe-core (no serious or critical violations) in each webview, a keyboard-only Run -> findings -> Apply,
// and a high-contrast theme set through settings. Screenshots: panel-wide.png, panel-narrow.png, explorer.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { openWorkbench, startCodeServer, launchBrowser, waitForWorkbench, assertChartShowsData, SERIES, openFile, runCommand, webviewFrame, until, ROOT } from '../tools/harness.mjs';
import { assertAccessible, setWebviewWidth, contrast } from '../tools/a11y.mjs';
import { assertChartsReadable, assertKeyColumnsFit, chartSections, undrawnCharts, waitForAllCharts } from '../tools/charts.mjs';
import { regionFractions } from '../../src/core/regionFractions.ts';
import { ACTIVATION_NAMES } from '../../src/core/activations.ts';

// UI_SCREENSHOTS=docs/images refreshes the README's pictures from the same run.
const OUT = path.resolve(ROOT, process.env.UI_SCREENSHOTS || 'test-output/ui');
let wb, page, panel, cli;

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  // The run the panel will show, from the CLI (same config and seed give the same numbers: editor.test.mjs).
  cli = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'diagnose', path.join(ROOT, 'test/workspace/dying.nn.yaml'), '--json', '--fail-on', 'never'], { encoding: 'utf8' }));
  wb = await openWorkbench({ workspace: path.join(ROOT, 'test/workspace') });
  page = wb.page;
});
after(async () => { await wb?.close(); });
/** A failing test leaves a screenshot of the whole workbench behind (test-output/ui/panel-<n>-failure.png). */
const shotOnFailure = (n, fn) => async () => {
  try { await fn(); } catch (e) { await page?.screenshot({ path: path.join(ROOT, 'test-output/ui', `panel-${n}-failure.png`) }).catch(() => {}); throw e; }
};

const probed = () => cli.model.layers.filter(l => l.activation).map(l => l.name);
const zeroLayers = () => cli.model.layers.filter(l => l.activation && cli.timeline.at(-1).layers[l.index].gradRms === 0).map(l => l.name);
/** The webview's own document box, for a screenshot of just the panel. */
const shoot = async (frame, name) => (await frame.frameElement()).screenshot({ path: path.join(OUT, name) });

test('the panel at 1200 px: every column, charts with every layer, distinct ticks, axis titles, nothing sticky, accessible', shotOnFailure(1, async () => {
  await openFile(page, 'dying.nn.yaml');
  await runCommand(page, 'Activation Lens: Run Diagnostics');
  panel = await webviewFrame(page, '#panel-title', 'dying relu');
  await panel.locator('#status', { hasText: 'done' }).waitFor();
  await panel.locator('#findings li').first().waitFor();
  await setWebviewWidth(page, panel, 1200);
  for (const h of ['#', 'type', 'params', 'gradRms', 'update ratio']) assert.ok(await panel.locator('#health thead th', { hasText: new RegExp(`^${h}$`) }).isVisible(), `${h} at 1200 px`);
  await waitForAllCharts(panel);
  // The wait fails on a section whose chart never came (what a chart dropped from the panel's queue leaves behind).
  await panel.evaluate(() => {
    const box = document.querySelector('[data-chart]').cloneNode(true);
    box.dataset.chart = 'dropped';
    box.querySelector('canvas').removeAttribute('id');
    document.querySelector('.charts').append(box);
  });
  assert.deepEqual(undrawnCharts(await chartSections(panel)), ['dropped']);
  await panel.evaluate(() => document.querySelector('[data-chart="dropped"]').remove());
  await assertChartsReadable(panel, probed(), zeroLayers());
  const sticky = await panel.evaluate(() => [...document.querySelectorAll('*')].filter(e => /sticky|fixed/.test(getComputedStyle(e).position)).map(e => e.tagName));
  assert.deepEqual(sticky, [], 'no sticky or fixed element can cover a chart');
  const [a, b] = await panel.locator('.curves canvas').evaluateAll(cs => cs.slice(0, 2).map(c => c.getBoundingClientRect().toJSON()));
  assert.ok(Math.abs(a.top - b.top) < 2 && b.left > a.right, `per-layer curves stacked at 1200 px: ${JSON.stringify([a, b])}`);
  await assertAccessible(panel, 'panel');
  await shoot(panel, 'panel-wide.png');
}));

test('the panel at 420 px keeps layer, activation, dead, saturated and grad ratio in view, no sideways scrolling', shotOnFailure(2, async () => {
  await setWebviewWidth(page, panel, 420);
  await assertKeyColumnsFit(panel, '#health');
  await assertChartsReadable(panel, probed(), zeroLayers());
  await shoot(panel, 'panel-narrow.png');
  await page.setViewportSize({ width: 1400, height: 900 });
}));

test('keyboard only: Run, then the findings, then Apply edits the config', shotOnFailure(3, async () => {
  // The editor renders spaces as no-break spaces.
  const editorText = async () => (await page.locator('.editor-group-container .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
  const before = await editorText();
  // Into the panel's editor group with the keyboard (Ctrl+2: Focus Second Editor Group), then Tab through the panel.
  await page.keyboard.press('Control+2');
  await until('the keyboard focus in the panel', () => panel.evaluate(() => document.hasFocus()));
  const focused = () => panel.evaluate(() => { const e = document.activeElement; return e ? `${e.tagName.toLowerCase()}#${e.id}.${e.className}|${e.textContent}` : ''; });
  const tabTo = async (pattern, what) => {
    for (let i = 0; i < 80; i++) {
      if (pattern.test(await focused())) return focused();
      await page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${what}; focus is on ${await focused()}`);
  };
  await tabTo(/^button#btn-run/, 'Run');
  // The run is short: seen by the host's messages to the panel (a new run starts "running"), not by a redraw.
  await panel.evaluate(() => {
    window.runStates = [];
    addEventListener('message', e => {
      if (e.data?.type !== 'state') return;
      window.runStates.push(e.data.view.status);
      if (e.data.view.status === 'done') window.lastDoneView = e.data.view;   // the Explorer test's run
    });
  });
  await page.keyboard.press('Enter');
  await until('a new run started by the keyboard to finish', () => panel.evaluate(() => window.runStates.includes('running') && window.runStates.at(-1) === 'done'));
  await panel.locator('#status', { hasText: 'done' }).waitFor();
  await panel.locator('#findings li').first().waitFor();
  const apply = await tabTo(/^button#\.apply\|Apply /, 'an Apply button of a finding');
  const label = apply.split('|')[1];
  await page.keyboard.press('Enter');
  // "Apply lr 0.3" writes lr: 0.3, "Apply leaky_relu + he_normal" writes the activation.
  const expected = /^Apply lr (\S+)/.exec(label)?.[1] ?? /^Apply (\w+)/.exec(label)[1];
  await until(`the config to change after ${label}`, async () => { const t = await editorText(); return t !== before && t.includes(expected); });
  // The run is now of other text: the banner says so, every Apply is disabled with the reason beside it, and the
  // keyboard focus moves from the disabled Apply to the banner's Re-run.
  await until('the focus on the banner\'s Re-run', async () => /^button#btn-stale-rerun/.test(await focused()));
  const staleState = () => panel.evaluate(() => {
    const banner = document.getElementById('stale-banner');
    return { shown: !!banner && !banner.hidden && banner.getBoundingClientRect().height > 0, text: banner?.textContent ?? '',
      applies: [...document.querySelectorAll('button.apply, button.apply-trial, .suggestion button')].map(b => ({ label: b.textContent, disabled: b.disabled, title: b.title })),
      reasons: [...document.querySelectorAll('#findings .stale-reason, .suggestion .stale-reason')].map(r => r.getBoundingClientRect().width > 0 ? r.textContent : '') };
  });
  const stale = await staleState();
  assert.ok(stale.shown, 'the stale banner is shown');
  assert.match(stale.text, /Config changed since this run: re-run/);
  assert.ok(stale.applies.length > 0 && stale.applies.every(b => b.disabled && b.title === 'config changed: re-run first'), JSON.stringify(stale.applies));
  assert.ok(stale.reasons.length > 0 && stale.reasons.every(r => r === 'config changed: re-run first'), JSON.stringify(stale.reasons));
  // Re-run from the banner: the run of the new text, nothing stale, Apply enabled again.
  await page.keyboard.press('Enter');
  await until('the re-run to clear the banner', async () => { const s = await staleState(); return !s.shown && s.applies.length > 0 && s.applies.every(b => !b.disabled); });
}));

test('the Activation Explorer: every activation, and the dead/saturated shares computed from the picked layer\'s histogram', shotOnFailure(4, async () => {
  // The Explorer shows the latest run. After the keyboard test's Apply and Re-run that is the run of the changed text
  // the panel received last, not the CLI's run of dying.nn.yaml as saved (editor.test.mjs checks that those two agree).
  const lastLayers = (await panel.evaluate(() => window.lastDoneView?.timeline.at(-1).layers)) ?? cli.timeline.at(-1).layers;
  await runCommand(page, 'Activation Lens: Open Activation Explorer');
  const explorer = await webviewFrame(page, '#explorer-title', 'Activation Explorer');
  await explorer.locator('[data-shares="relu"][data-dead]').waitFor();
  assert.deepEqual((await explorer.locator('.candidate').evaluateAll(cs => cs.map(c => c.dataset.activation))).sort(), [...ACTIVATION_NAMES].sort());
  const layer = Number(await explorer.locator('#explorer-layer').inputValue());
  const hist = lastLayers[layer].preactHist;
  for (const name of ACTIVATION_NAMES.filter(n => n !== 'softmax')) {
    const want = regionFractions(hist, name);
    const got = await explorer.locator(`[data-shares="${name}"]`).evaluate(e => ({ dead: e.dataset.dead, saturated: e.dataset.saturated }));
    for (const k of ['dead', 'saturated']) {
      if (want[k] === null) assert.equal(got[k], '', `${name} ${k}`);
      else assert.ok(Math.abs(Number(got[k]) - want[k]) < 1e-12, `${name} ${k}: ${got[k]} vs ${want[k]}`);
    }
  }
  // relu on a relu layer's own inputs: the share at or below zero, which the probes count as the layer's dead region.
  assert.ok(Number(await explorer.locator('[data-shares="relu"]').getAttribute('data-dead')) > 0);
  // Parameters are adjustable: a new alpha redraws leaky_relu's curve (its negative side).
  const alpha = explorer.locator('#param-leaky_relu-alpha');
  await alpha.fill('0.3');
  assert.equal(await alpha.getAttribute('aria-invalid'), null);
  await alpha.fill('-1');
  assert.equal(await alpha.getAttribute('aria-invalid'), 'true', 'a negative alpha is refused, said on the input');
  await alpha.fill('0.3');
  await assertAccessible(explorer, 'Activation Explorer');
  await setWebviewWidth(page, explorer, 1200);
  await explorer.evaluate(() => window.scrollTo(0, 0));
  await shoot(explorer, 'explorer.png');
  await page.setViewportSize({ width: 1400, height: 900 });
}));

test('the sidebar is accessible', shotOnFailure(5, async () => {
  await page.locator('.activitybar [aria-label^="Activation Lens"]').first().click();
  const sidebar = await webviewFrame(page, '#sidebar-title', 'dying relu');
  await sidebar.locator('ul.layers li').first().waitFor();
  await assertAccessible(sidebar, 'sidebar');
}));

// Over the default memoryLimitMB: Run refuses it before any probe, so its run ends with layers but no data.
const REFUSED = `name: spiral relu
data: {source: spiral, samples: 600, classes: 3}
model:
  layers:
    - {type: dense, units: 9000, activation: relu, init: he_normal}
    - {type: dense, units: 9000, activation: sigmoid}
    - {type: dense, units: 16, activation: elu}
    - {type: dense, units: 3, activation: softmax}
train: {optimizer: adam, batch: 32, steps: 100}
`;

test('a re-run after a refused run of the same file draws its own charts, every one, and none of the refused run\'s', shotOnFailure(7, async () => {
  const file = path.join(wb.server.workspace, 'spiral.nn.yaml');
  const original = fs.readFileSync(file, 'utf8');
  const spiral = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'diagnose', file, '--json', '--fail-on', 'never'], { encoding: 'utf8' }));
  fs.writeFileSync(file, REFUSED);
  await openFile(page, 'spiral.nn.yaml');
  await runCommand(page, 'Activation Lens: Run Diagnostics');
  panel = await webviewFrame(page, '#panel-title', 'spiral relu');
  await panel.locator('#status', { hasText: 'error' }).waitFor();
  // The refused run's (empty) charts, one per layer of its four: what the re-run must not keep.
  await until('the refused run\'s charts laid out', async () => (await chartSections(panel)).sections.some(s => s.id === 'curve-3'));
  fs.writeFileSync(file, original);
  const editorText = async () => {
    await openFile(page, 'spiral.nn.yaml');
    // Only the lines in view are rendered: the top of the file, where the run left the editor scrolled to its end.
    await page.keyboard.press('Control+Home');
    return (await page.locator('.part.editor .editor-group-container.active .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
  };
  // The file watcher reloads the unmodified editor; Revert File reads the disk again if it has not yet.
  await until('the editor to show the file as written back', async () => {
    if ((await editorText()).includes('units: 32')) return true;
    await runCommand(page, 'File: Revert File');
    return false;
  });
  await runCommand(page, 'Activation Lens: Run Diagnostics');
  await panel.locator('#status', { hasText: 'done' }).waitFor();
  const sections = await waitForAllCharts(panel);
  const layers = spiral.model.layers.filter(l => l.activation);
  assert.deepEqual(sections.map(s => s.id), ['loss', 'gradflow', 'gradsteps', 'fractions', ...layers.map(l => `curve-${l.index}`)]);
  for (const l of layers) assert.ok(sections.find(s => s.id === `curve-${l.index}`).title.startsWith(`${l.name}: ${l.activation}`), JSON.stringify(sections));
  await assertChartShowsData(panel, '#chart-loss', SERIES.loss, 'the re-run\'s loss chart');
}));

test('a high-contrast theme picked in the Color Theme picker keeps text and chart lines visible', shotOnFailure(6, async () => {
  // A workbench of its own (the first one's panel stays as it is), switched to the theme the way a user does: the
  // Color Theme picker. Writing workbench.colorTheme into the user settings file instead relies on code-server
  // watching that file, and the project's CI (a fresh clone on another machine) never saw the change in 240 s.
  await wb.close(); wb = undefined;
  const server = await startCodeServer({ workspace: path.join(ROOT, 'test/workspace') });
  const browser = await launchBrowser();
  wb = { page: browser.page, async close() { await browser.close(); await server.stop(); } };
  page = browser.page;
  await page.goto(server.url({ extensionDevelopmentPath: ROOT }));
  await waitForWorkbench(page, 'Activation Lens');
  // The picker is opened again when a pick did not take (a palette opened while the workbench still settles).
  await until('the workbench in the high-contrast theme', async () => {
    await runCommand(page, 'Preferences: Color Theme');
    const input = page.locator('.quick-input-widget input');
    await input.fill('Dark High Contrast');
    // A click on the theme's row: Enter would take whichever row has the focus.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Dark High Contrast' }).first().click({ timeout: 30000 }).catch(() => {});
    if (await page.locator('.monaco-workbench.hc-black').waitFor({ timeout: 20000 }).then(() => true, () => false)) return true;
    await page.keyboard.press('Escape');
    return false;
  });
  await openFile(page, 'dying.nn.yaml');
  await runCommand(page, 'Activation Lens: Run Diagnostics');
  panel = await webviewFrame(page, '#panel-title', 'dying relu');
  await panel.locator('#status', { hasText: 'done' }).waitFor();
  assert.ok(await panel.evaluate(() => document.body.classList.contains('vscode-high-contrast')), 'the panel is in high contrast');
  await waitForAllCharts(panel);
  const colors = await panel.evaluate(() => {
    const rgb = c => c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
    const body = getComputedStyle(document.body);
    return { fg: rgb(body.color), bg: rgb(body.backgroundColor), h3: rgb(getComputedStyle(document.querySelector('h3')).color),
      line: rgb((() => { const c = document.createElement('canvas').getContext('2d'); c.fillStyle = getComputedStyle(document.body).getPropertyValue('--vscode-charts-blue').trim() || '#3794ff'; c.fillRect(0, 0, 1, 1); return `rgb(${[...c.getImageData(0, 0, 1, 1).data.slice(0, 3)]})`; })()) };
  });
  assert.ok(contrast(colors.fg, colors.bg) >= 7, `text contrast ${contrast(colors.fg, colors.bg)}`);
  assert.ok(contrast(colors.h3, colors.bg) >= 7, `heading contrast ${contrast(colors.h3, colors.bg)}`);
  assert.ok(contrast(colors.line, colors.bg) >= 3, `chart line contrast ${contrast(colors.line, colors.bg)}`);
  // The lines are drawn in that colour, spread over the chart (not just a legend swatch).
  await assertChartShowsData(panel, '#chart-loss', SERIES.loss, 'loss chart in high contrast');
  await assertChartShowsData(panel, '#chart-gradsteps', SERIES.loss, 'first layer\'s gradient line in high contrast');
  await assertAccessible(panel, 'panel in high contrast');
  await shoot(panel, 'panel-high-contrast.png');
}));
