// UI tests: the real VS Code workbench (code-server) in Debian's chromium, driven by playwright-core.
// Screenshots go to test-output/ui/ (git-ignored) and are kept on failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { openWorkbench, assertChartShowsData, SERIES, waitForWorkbench, runCommand, openFile, webviewFrame, hoverText, ROOT } from '../tools/harness.mjs';

// UI_SCREENSHOTS=docs/images refreshes the README's pictures from the same run.
const OUT = path.resolve(ROOT, process.env.UI_SCREENSHOTS || 'test-output/ui');
let wb, server, browser, page;


before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  wb = await openWorkbench({ workspace: path.join(ROOT, 'test/workspace') });
  ({ server, browser, page } = wb);
});
after(async () => { await wb?.close(); });

test('hover on an activation name shows its formula', async () => {
  await openFile(page, 'spiral.nn.yaml');
  const text = await hoverText(page, 'tanh', 'activation');
  assert.match(text, /tanh/);
  assert.match(text, /f'\(x\)/);
  await page.screenshot({ path: path.join(OUT, 'hover.png') });
});

test('command palette runs diagnostics and the panel draws the charts', async () => {
  await openFile(page, 'spiral.nn.yaml');
  await runCommand(page, 'Activation Lens: Run Diagnostics');
  const panel = await webviewFrame(page, '#panel-title', 'spiral relu');
  await panel.locator('#status', { hasText: 'done' }).waitFor();
  await assertChartShowsData(panel, '#chart-loss', SERIES.loss, 'loss chart');
  await assertChartShowsData(panel, '#chart-gradflow', SERIES.gradient, 'gradient flow chart');
  const rows = await panel.locator('#health tbody tr').count();
  assert.equal(rows, 3);
  await page.screenshot({ path: path.join(OUT, 'panel.png') });
});

test('the sidebar view shows the layers and opens the panel', async () => {
  await page.locator('.activitybar [aria-label^="Activation Lens"]').first().click();
  const sidebar = await webviewFrame(page, '#sidebar-title', 'spiral relu');
  assert.equal(await sidebar.locator('ul.layers li').count(), 3);
  assert.match(await sidebar.locator('ul.layers li').first().innerText(), /dead \d/);
  await sidebar.locator('#sb-showPanel').click();
  await webviewFrame(page, '#panel-title', 'spiral relu');
  await page.screenshot({ path: path.join(OUT, 'sidebar.png') });
});

test('the panel is restored with its charts after a window reload', async () => {
  // The web workbench saves its editor layout as the page unloads, and a busy machine can lose that save: then the
  // panel reopens itself from workspaceState (src/vscode/panel.ts). Either way the panel comes back with its run.
  // (#panel-title, not any h2: the sidebar's title names the same config.)
  await page.reload();
  await waitForWorkbench(page, 'Activation Lens');
  const panel = await webviewFrame(page, '#panel-title', 'spiral relu');
  await panel.locator('#status', { hasText: 'done' }).waitFor();
  await panel.locator('#health tbody tr').first().waitFor();
  assert.equal(await panel.locator('#health tbody tr').count(), 3);
  await assertChartShowsData(panel, '#chart-loss', SERIES.loss, 'restored loss chart');
  await assertChartShowsData(panel, '#chart-gradflow', SERIES.gradient, 'restored gradient flow chart');
  // One panel, not the workbench's restored one and a reopened one.
  assert.equal(await page.locator('.tabs-container .tab', { hasText: 'Activation Lens' }).count(), 1);
});

