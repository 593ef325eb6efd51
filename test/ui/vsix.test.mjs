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
  // The webviews and the HTML report's script bundle chart.js and its colour library (MIT): their full licence texts ship next to the bundles.
  for (const bundle of ['panel.js', 'explorer.js', 'report.js']) {
    const legal = fs.readFileSync(path.join(server.tmp, 'exts', installed[0], 'dist/webview', `${bundle}.LEGAL.txt`), 'utf8');
    for (const lib of ['chart.js', '@kurkle/color']) {
      const licence = fs.readFileSync(path.join(ROOT, 'node_modules', lib, 'LICENSE.md'), 'utf8').trim();
      assert.match(licence, /^The MIT License[\s\S]*Permission is hereby granted[\s\S]*WITHOUT WARRANTY OF ANY KIND/);
      assert.ok(legal.includes(licence), `${bundle}.LEGAL.txt holds the full licence of ${lib}`);
    }
  }
  // The extension host's bundle carries every other runtime dependency of package.json: their licences ship with it.
  const extensionLegal = fs.readFileSync(path.join(server.tmp, 'exts', installed[0], 'dist/extension.js.LEGAL.txt'), 'utf8');
  const { dependencies } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  for (const dep of Object.keys(dependencies).filter(d => d !== 'chart.js')) {
    const dir = path.join(ROOT, 'node_modules', dep);
    const licence = fs.readFileSync(path.join(dir, fs.readdirSync(dir).find(f => /^licen[cs]e/i.test(f))), 'utf8').trim();
    assert.ok(extensionLegal.includes(licence), `extension.js.LEGAL.txt holds the full licence of ${dep}`);
  }
  await openFile(page, 'spiral.nn.yaml');
  await runCommand(page, 'Activation Lens: Show Panel');   // two commands from the installed package
  await webviewFrame(page, '#panel-title', 'Activation Lens');
  await runCommand(page, 'Activation Lens: Run Diagnostics');
  const panel = await webviewFrame(page, '#panel-title', 'spiral relu');
  await panel.locator('#status', { hasText: 'done' }).waitFor();
  assert.ok(await panel.locator('#health tbody tr').count() === 3);
});
