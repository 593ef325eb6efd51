import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, hoverText, openConfig, plainHover, positionOf, waitFor } from './util';

const COMMANDS = ['run', 'stop', 'showPanel', 'compare', 'exportHtml', 'newConfig', 'importKeras', 'importOnnx', 'diagnoseTensorBoard', 'openExplorer'].map(c => `activationLens.${c}`);

describe('extension in the real VS Code extension host', () => {
  it('registers every command of the manifest', async () => {
    await api();
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = COMMANDS.filter(c => !all.has(c));
    assert.deepEqual(missing, [], `not registered: ${missing.join(', ')}`);
    const manifest = vscode.extensions.getExtension('activation-lens.activation-lens')!.packageJSON as { contributes: { commands: { command: string }[] } };
    assert.deepEqual(manifest.contributes.commands.map(c => c.command).sort(), [...COMMANDS].sort());
  });

  it('Show Panel opens the diagnostics webview panel', async () => {
    const lens = await api();
    await vscode.commands.executeCommand('activationLens.showPanel');
    const panel = await waitFor('the panel', () => lens.panel.webviewPanel);
    assert.match(panel.title, /^Activation Lens/);
    assert.ok(panel.webview.html.includes("script-src 'nonce-"), 'the panel HTML carries a nonce CSP');
    assert.ok(!/https?:\/\//.test(panel.webview.html.replace(/https:\/\/[^"]*vscode-cdn\.net[^"]*/g, '')), 'no remote content');
  });

  it('answers a hover on an activation name with its formula and derivative', async () => {
    const editor = await openConfig('spiral.nn.yaml');
    const pos = positionOf(editor.document, 'relu', 'activation:');
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', editor.document.uri, pos);
    const text = hoverText(hovers);
    assert.match(plainHover(text), /\*\*relu\*\* on dense_1 \(#0\)/);
    assert.match(text, /max\(0, ?x\)/);
    assert.match(text, /he_normal/);
    // Its one command link opens the Activation Explorer on this activation and layer.
    const link = /command:activationLens\.openExplorer\?([^)\s]+)/.exec(text);
    assert.ok(link, text);
    assert.deepEqual(JSON.parse(decodeURIComponent(link[1])), ['relu', editor.document.uri.toString(), 0]);
    const lens = await api();
    await vscode.commands.executeCommand('activationLens.openExplorer', ...JSON.parse(decodeURIComponent(link[1])));
    const explorer = await waitFor('the Activation Explorer', () => lens.explorer.webviewPanel);
    assert.equal(explorer.title, 'Activation Explorer');
    explorer.dispose();
  });

  it('runs diagnostics in a worker and keeps the probe timeline', async () => {
    const lens = await api();
    const editor = await openConfig('spiral.nn.yaml');
    const record = await vscode.commands.executeCommand<{ view: { status: string; timeline: unknown[]; step: number; totalSteps: number } }>('activationLens.run', editor.document.uri);
    assert.ok(record, 'the run returned its record');
    assert.equal(record.view.status, 'done');
    assert.equal(record.view.step, record.view.totalSteps);
    assert.ok(record.view.timeline.length >= 10, `probes: ${record.view.timeline.length}`);
    assert.equal(lens.runs.running, undefined);
  });
});
