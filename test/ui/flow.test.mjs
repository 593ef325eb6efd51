// The editor flow a new user expects (issue 18), end to end in the real workbench: the walkthrough's New Network Config
// writes a template into a normal tab and checks its step off, then template -> hover -> run -> quick fix -> stale
// banner -> re-run -> undo, each point asserted where the user sees it. Screenshots flow-*.png at each step
// (UI_SCREENSHOTS=docs/images refreshes the README's). The steps build on each other: one workbench, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { runCommand, webviewFrame, hoverText, assertChartShowsData, SERIES, until, goTo, focusActiveEditor, workbenchPerFile, SHOTS, ROOT } from '../tools/harness.mjs';
// node runs the UI tests with --import tsx: the panel's own formatter, from its TypeScript source.
import { formatNumber } from '../../src/format.ts';

const ctx = workbenchPerFile();
const TEMPLATE = 'deep-sigmoid-spiral.nn.yaml';
const ORIGINAL = fs.readFileSync(path.join(ROOT, 'examples', TEMPLATE), 'utf8');
let panel;

const shot = name => ctx.page.screenshot({ path: path.join(SHOTS, `flow-${name}.png`) });
/** Runs `fn`, keeping a screenshot of the workbench when it fails. */
const step = (name, fn) => async () => {
  try { await fn(ctx.page); } catch (e) { await ctx.page?.screenshot({ path: path.join(SHOTS, `flow-${name}-failure.png`) }).catch(() => {}); throw e; }
};
/** The walkthrough's checkbox of step `id` (open, run, fix): VS Code sets aria-checked when its completion event fires. */
const stepBox = (page, id) => page.locator(`.gettingStartedContainer [data-done-step-id$="#${id}"]`).first();
/** A line of the visible config editor (Monaco renders spaces as U+00A0, which \s matches). */
const line = (page, re) => page.locator('.part.editor .editor-group-container .monaco-editor .view-line:visible', { hasText: re }).first();


/** New Network Config's two questions: the template (by its title) and where to save it (the proposed name). */
async function pickTemplate(page, title, file) {
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click();
  const input = page.locator('.quick-input-widget input');
  await until('the save dialog to propose the template\'s name', () => input.inputValue().then(v => v.endsWith(file)).catch(() => false));
  await input.fill(path.join(ctx.server.workspace, file));
  await input.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: file }).waitFor();
}

test('the walkthrough: New Network Config writes a template into a normal tab and checks the first step off', step('walkthrough', async page => {
  await until('the walkthrough command', async () => {
    try { await runCommand(page, 'Welcome: Open Walkthrough...'); return true; } catch { await page.keyboard.press('Escape'); return false; }
  });
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Diagnose a network with Activation Lens' }).first().click();
  await stepBox(page, 'open').waitFor();
  assert.equal(await stepBox(page, 'open').getAttribute('aria-checked'), 'false', 'not done before the user did it');
  await shot('walkthrough');
  // The step's own button, as a new user clicks it (again if the extension was still starting and missed the click).
  const template = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Deep sigmoid on a spiral' }).first();
  await until('the template quick pick', async () => {
    await page.locator('.gettingStartedContainer').getByRole('button', { name: 'New Network Config' }).first().click();
    try { await template.waitFor({ timeout: 45000 }); return true; } catch { await page.keyboard.press('Escape'); return false; }
  });
  await pickTemplate(page, 'Deep sigmoid on a spiral', TEMPLATE);
  assert.equal(fs.readFileSync(path.join(ctx.server.workspace, TEMPLATE), 'utf8'), ORIGINAL, 'the template, byte for byte');
  // A second template opens beside it: the first tab stays (a preview tab would have been replaced), neither in italics.
  await until('the New Network Config command', async () => {
    try { await runCommand(page, 'Activation Lens: New Network Config'); return true; } catch { await page.keyboard.press('Escape'); return false; }
  });
  await pickTemplate(page, 'Healthy ReLU + he_normal', 'healthy-relu-he.nn.yaml');
  for (const name of [TEMPLATE, 'healthy-relu-he.nn.yaml']) {
    const tab = page.locator('.tabs-container .tab', { hasText: name });
    assert.equal(await tab.count(), 1, `${name} has a tab`);
    assert.equal(await tab.locator('.monaco-icon-label.italic').count(), 0, `${name} is not a preview`);
  }
  // The walkthrough's tab is titled "Welcome" (a click on a "Walkthrough" tab that does not exist waited out the
  // whole UI timeout, 4 minutes of every CI run, before falling back).
  await page.locator('.tabs-container .tab', { hasText: 'Welcome' }).first().click();
  await until('the walkthrough\'s first step checked off', async () => (await stepBox(page, 'open').getAttribute('aria-checked')) === 'true');
  await shot('walkthrough-done');
}));

test('hover: before a run the curve; after it the layer\'s numbers first, then the curve', step('hover', async page => {
  await page.locator('.tabs-container .tab', { hasText: TEMPLATE }).first().click();
  const before = await hoverText(page, 'sigmoid', 'f\'(x)');
  assert.doesNotMatch(before, /Latest run/, 'no numbers before a run');
  await page.mouse.move(0, 0);
  // Independent numbers: the CLI on the same file and seed.
  const cli = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'diagnose', path.join(ROOT, 'examples', TEMPLATE), '--json', '--fail-on', 'never'], { encoding: 'utf8' }));
  panel = await runAndWait(page);
  await page.locator('.tabs-container .tab', { hasText: TEMPLATE }).first().click();
  const hover = page.locator('.monaco-hover-content', { hasText: 'Latest run' }).first();
  await hoverText(page, 'sigmoid', 'Latest run');
  const last = cli.timeline.at(-1).layers[0];
  const html = await hover.innerHTML();
  const numbers = html.indexOf('Latest run'), curve = html.indexOf('<img');
  assert.ok(numbers >= 0 && curve > numbers, 'the layer\'s numbers come before the curve');
  assert.ok(html.indexOf('f(x)') > curve, 'the textbook table after the curve');
  assert.match(await hover.innerText(), new RegExp(`gradRms ${formatNumber(last.gradRms).replace(/[.+]/g, '\\$&')}`), 'dense_1\'s gradRms as the CLI computes it');
  await shot('hover');
  await page.mouse.move(0, 0);
}));

/** Run Diagnostics from the palette (retried until the command is listed) and the panel showing the finished run. */
async function runAndWait(page) {
  await until('the Run Diagnostics command', async () => {
    try { await runCommand(page, 'Activation Lens: Run Diagnostics'); return true; } catch { await page.keyboard.press('Escape'); return false; }
  });
  const p = await webviewFrame(page, '#panel-title', 'deep sigmoid on spiral');
  await p.locator('#status', { hasText: 'done' }).waitFor({ timeout: 180000 });
  return p;
}

test('run: the panel draws the run (six layers, the loss and the gradient flow)', step('run', async page => {
  assert.equal(await panel.locator('#health tbody tr').count(), 6);
  await assertChartShowsData(panel, '#chart-loss', SERIES.loss, 'loss chart');
  await assertChartShowsData(panel, '#chart-gradflow', SERIES.gradient, 'gradient flow chart');
  await panel.locator('#findings li[data-kind="vanishing-gradient"]').first().waitFor();
  assert.equal(await panel.locator('#stale-banner:visible').count(), 0, 'a fresh run is not stale');
  await shot('run');
}));

test('quick fix: relu + he_normal from the vanishing-gradient finding edits the file (unsaved), and the panel says it is stale', step('quickfix', async page => {
  await page.locator('.tabs-container .tab', { hasText: TEMPLATE }).first().click();
  const fix = page.locator('.action-widget .monaco-list-row', { hasText: /activation: relu, init: he_normal/ }).first();
  // At the finding's place in the editor (dense_1's init, 18:13, where the CLI prints it too), the quick fix menu
  // (retried: it needs the run's diagnostics).
  for (let i = 0; ; i++) {
    await goTo(page, 18, 14);
    await page.keyboard.press('Control+.');
    try { await fix.waitFor({ timeout: 20000 }); break; } catch (e) { await shot(`quickfix-menu-${i}`); await page.keyboard.press('Escape'); if (i === 3) throw e; }
  }
  await shot('quickfix');
  await fix.click();
  await line(page, /^\s*activation:\srelu$/).waitFor();
  await line(page, /^\s*init:\she_normal$/).waitFor();
  assert.equal(fs.readFileSync(path.join(ctx.server.workspace, TEMPLATE), 'utf8'), ORIGINAL, 'nothing saved behind the user\'s back');
  await page.locator('.tabs-container .tab.dirty', { hasText: TEMPLATE }).waitFor();
  // The panel still shows the sigmoid run: it says so at once.
  await panel.locator('#stale-banner').waitFor({ state: 'visible' });
  await shot('stale');
}));

test('re-run clears the stale banner', step('rerun', async page => {
  await panel.locator('#btn-run').click();
  await panel.locator('#status', { hasText: 'training' }).waitFor().catch(() => {});   // a short run can be done before this looks
  await panel.locator('#status', { hasText: 'done' }).waitFor({ timeout: 180000 });
  await panel.locator('#stale-banner').waitFor({ state: 'hidden' });
  // The run of the fixed file: relu layers (the health table names each layer's activation).
  await panel.locator('#health tbody tr', { hasText: 'relu' }).first().waitFor();
  await shot('rerun');
}));

test('Export HTML Report: the status bar keeps the written report one click away', step('report', async page => {
  await page.locator('.tabs-container .tab', { hasText: TEMPLATE }).first().click();
  await runCommand(page, 'Activation Lens: Export HTML Report');
  const input = page.locator('.quick-input-widget input');
  await until('the save dialog to propose the report\'s name', () => input.inputValue().then(v => v.endsWith('.report.html')).catch(() => false));
  const report = path.join(ctx.server.workspace, 'deep-sigmoid-spiral.report.html');
  await input.fill(report);
  await input.press('Enter');
  await until('the report written', () => fs.existsSync(report));
  const item = page.locator('.part.statusbar .statusbar-item', { hasText: 'report: deep-sigmoid-spiral.report.html' }).first();
  await item.waitFor();
  // Still there after the news: not a toast that goes away.
  await panel.locator('#notice.info', { hasText: 'report written to deep-sigmoid-spiral.report.html' }).waitFor();
  await shot('report');
  // Not clicked: its action is the desktop browser (env.openExternal of the file), which a remote workbench
  // (code-server, this test) has no way to reach.
}));

test('undo restores the template exactly, and the walkthrough has checked off every step', step('undo', async page => {
  await page.keyboard.press('Escape');   // a quick input the last step left open would take the keys
  // The editor's tab by its resource: the panel's tab title names the config too.
  await page.locator(`.tabs-container .tab[data-resource-name="${TEMPLATE}"]`).click();
  await line(page, /^\s*activation:\srelu$/).waitFor();
  await focusActiveEditor(page);   // undo acts on the focused editor's file, wherever its cursor is
  await page.keyboard.press('Control+Z');
  await until('the quick fix undone', async () => (await line(page, /^\s*activation:\srelu$/).count()) === 0);
  await page.keyboard.press('Control+S');
  const file = path.join(ctx.server.workspace, TEMPLATE);
  await until('the undone text saved', () => fs.readFileSync(file, 'utf8') === ORIGINAL, 60000)
    .catch(() => assert.equal(fs.readFileSync(file, 'utf8'), ORIGINAL, 'the text after undo'));
  await shot('undo');
  await page.locator('.tabs-container .tab', { hasText: /Walkthrough|Welcome/ }).first().click();
  for (const id of ['open', 'run', 'fix']) {
    await until(`the walkthrough step ${id} checked`, async () => (await stepBox(page, id).getAttribute('aria-checked')) === 'true');
  }
}));

test('a refused Run says why in the panel and the status bar, not only in a notification', step('refusal', async page => {
  await page.keyboard.press('Escape');   // a quick input the last step left open would take the keys
  // The editor's tab by its resource: the panel's tab title names the config too.
  await page.locator(`.tabs-container .tab[data-resource-name="${TEMPLATE}"]`).click();
  await goTo(page, 40, 1);   // train.lr, below the fold
  await page.keyboard.press('End');
  await page.keyboard.type('x');   // lr: 0.1x, not a number
  await line(page, /^\s*lr:\s0\.1x$/).waitFor();
  await runCommand(page, 'Activation Lens: Run Diagnostics');
  // The place of the mistake: file:line:col (train.lr is line 40).
  const notice = panel.locator('#notice.refusal', { hasText: /cannot run: deep-sigmoid-spiral\.nn\.yaml:40:\d+/ });
  await notice.waitFor();
  await page.locator('.part.statusbar', { hasText: 'cannot run: deep-sigmoid-spiral.nn.yaml:40' }).waitFor();
  await shot('refusal');
  await notice.locator('button.dismiss').click();
  await notice.waitFor({ state: 'hidden' });
  await page.keyboard.press('Escape');   // a quick input the last step left open would take the keys
  // The editor's tab by its resource: the panel's tab title names the config too.
  await page.locator(`.tabs-container .tab[data-resource-name="${TEMPLATE}"]`).click();
  await page.keyboard.press('Control+Z');
  await line(page, /^\s*lr:\s0\.1$/).waitFor();
}));
