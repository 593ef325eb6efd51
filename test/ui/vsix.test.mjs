// The packed .vsix installs into code-server with --install-extension and its commands work without the sources.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { openWorkbench, runCommand, openFile, webviewFrame, ROOT } from '../tools/harness.mjs';

const VSIX = path.join(ROOT, 'activation-lens.vsix');
let wb, server, page;

before(async () => {
  assert.ok(fs.existsSync(VSIX), 'npm test packs activation-lens.vsix before the UI tests');
  // Installed with --install-extension, loaded without the sources: no extensionDevelopmentPath.
  wb = await openWorkbench({ workspace: path.join(ROOT, 'test/workspace'), vsix: VSIX, dev: false });
  ({ server, page } = wb);
});
after(async () => { await wb?.close(); });

test('the installed .vsix is small and runs diagnostics from the palette', async () => {
  const size = fs.statSync(VSIX).size;
  assert.ok(size < 3 * 1024 * 1024, `vsix is ${size} bytes`);
  const installed = fs.readdirSync(path.join(server.tmp, 'exts')).filter(d => d.startsWith('activation-lens.activation-lens'));
  assert.equal(installed.length, 1, 'installed into the extensions dir');
  const files = fs.readdirSync(path.join(server.tmp, 'exts', installed[0], 'dist'));
  assert.ok(!files.some(f => f.endsWith('.map')), 'no source maps in the package');
  // Every worker the extension starts (Run, Compare and its trials, TensorBoard) ships with it.
  for (const f of ['extension.js', 'worker.js', 'trialWorker.js', 'compareWorker.js', 'tensorboardWorker.js', 'gemm.wasm', 'gemm-mt.wasm']) assert.ok(files.includes(f), `dist/${f} is in the package`);
  assert.ok(!fs.existsSync(path.join(server.tmp, 'exts', installed[0], 'src')), 'no sources in the package');
  await openFile(page, 'spiral.nn.yaml');
  await runCommand(page, 'Activation Lens: Show Panel');   // two commands from the installed package
  await webviewFrame(page, '#panel-title', 'Activation Lens');
  await runCommand(page, 'Activation Lens: Run Diagnostics');
  const panel = await webviewFrame(page, '#panel-title', 'spiral relu');
  await panel.locator('#status', { hasText: 'done' }).waitFor();
  assert.ok(await panel.locator('#health tbody tr').count() === 3);
});
