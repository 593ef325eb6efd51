// The sidebar of a workspace with no network config (a new user's first look): it says there is none, Run is
// disabled with the reason beside it, and New Network Config is offered and opens the template picker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openWorkbench, webviewFrame, ROOT } from '../tools/harness.mjs';

let wb, page;
before(async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'al-empty-'));
  fs.writeFileSync(path.join(empty, 'notes.txt'), 'no network config here\n');
  wb = await openWorkbench({ workspace: empty });
  page = wb.page;
});
after(async () => { await wb?.close(); });

test('an empty workspace: the sidebar offers New Network Config, and Run is disabled with the reason shown', async () => {
  try {
    await page.locator('.activitybar [aria-label^="Activation Lens"]').first().click();
    const sidebar = await webviewFrame(page, '#sidebar-title', 'No network config');
    await sidebar.locator('#sidebar-status', { hasText: 'No network config (*.nn.yaml, *.nn.json) in this workspace yet.' }).waitFor();
    assert.equal(await sidebar.locator('#sb-run').isDisabled(), true, 'Run has nothing to run');
    assert.equal(await sidebar.locator('#sb-run').getAttribute('title'), 'Run needs a config: open or create one');
    assert.equal(await sidebar.locator('#sb-run-reason').isVisible(), true, 'the reason is shown, not only in a tooltip');
    assert.equal(await sidebar.locator('#stale-banner').isVisible(), false);
    const create = sidebar.locator('#sb-newConfig');
    assert.equal(await create.isVisible(), true);
    await create.click();
    // The template picker of "New Network Config".
    await page.locator('.quick-input-widget', { hasText: 'New Network Config from a template' }).waitFor();
    await page.keyboard.press('Escape');
  } catch (e) {
    fs.mkdirSync(path.join(ROOT, 'test-output/ui'), { recursive: true });
    await page?.screenshot({ path: path.join(ROOT, 'test-output/ui', 'sidebar-empty-failure.png') }).catch(() => {});
    throw e;
  }
});
