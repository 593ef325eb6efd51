// Compare in the real workbench (issue 12): the ranking states its rule and verdict, and a row applies to the config.
// Its own workbench: on a shared one, other runs' CodeLens updates keep the editor moving under the clicks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { runCommand, webviewFrame, runToDone as runIn, workbenchPerFile, SHOTS as OUT } from '../tools/harness.mjs';

const ctx = workbenchPerFile();
// ctx.page and ctx.server are set by workbenchPerFile's before hook; read them when used, not copied in a hook of our own.
const runToDone = (file, title) => runIn(ctx.page, file, title);

test('compare states its ranking rule and verdict, and a row applies its activation (and found lr) to the config', async () => {
  await runToDone('spiral.nn.yaml', 'spiral relu');
  const file = path.join(ctx.server.workspace, 'spiral.nn.yaml');
  const before = fs.readFileSync(file, 'utf8');
  await runCommand(ctx.page, 'Activation Lens: Compare Activations for Layer');
  // spiral's dense_2 is the tanh layer: its row says so (the quick pick lists the active config's layers).
  const pick = ctx.page.locator('.quick-input-list .monaco-list-row', { hasText: /dense_2.*tanh/ }).first();
  await pick.waitFor().catch(async e => { await ctx.page.screenshot({ path: path.join(OUT, 'compare-pick-failure.png') }); throw e; });
  await pick.click();
  const panel = await webviewFrame(ctx.page, '#compare-title', 'dense_2', 120000);
  await panel.locator('#compare-title', { hasText: 'done' }).waitFor({ timeout: 240000 });
  assert.match(await panel.locator('.compare-box .rule').innerText(), /near-tie/);
  assert.match(await panel.locator('#compare-verdict').innerText(), /best for dense_2|no candidate beats the current tanh|the current tanh ranks first/);
  const rows = panel.locator('#compare-ranking tbody tr');
  assert.equal(await rows.count(), 7, 'the 7 default candidates (tanh, the current one, is among them)');
  const first = await rows.first().getAttribute('data-activation');
  await rows.first().locator('button.apply-trial').click();
  // Applied as an undoable edit in the editor (not saved): dense_2 gets the row's activation, or, when the current tanh
  // ranks first, its init (spiral's dense_2 has none, so glorot_uniform is inserted).
  const expected = first === 'tanh' ? /^\s*init:\sglorot_uniform/ : new RegExp(`activation:\\s${first}(\\s|$)`);
  await ctx.page.locator('.part.editor .view-line', { hasText: expected }).first().waitFor()
    .catch(async e => { await ctx.page.screenshot({ path: path.join(OUT, 'compare-apply-failure.png') }); throw e; });
  assert.equal(fs.readFileSync(file, 'utf8'), before, 'nothing saved behind the user\'s back');
  await ctx.page.keyboard.press('Control+Z');
  await ctx.page.screenshot({ path: path.join(OUT, 'compare-apply.png') });
});

