/**
 * The torch engine in the real editor: with activationLens.engine = torch, Run trains the bundled deep sigmoid
 * example on PyTorch in the same panel, and its findings are the core's on the same example (the core run in
 * this window is the oracle: both start from the same weights and batches). Skipped, with one line, when no
 * interpreter imports torch. The Restricted Mode side is in restricted.test.ts.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { api, EXTENSION_ID, markerPython, waitFor } from './util';
import { findTorchPythonAsync, pythonCandidates } from '../../src/engine/torch/python';
import type { RunView } from '../../src/protocol';

const settings = () => vscode.workspace.getConfiguration('activationLens');
const key = (findings: { kind: string; severity: string; layer?: number }[]) => findings.map(f => `${f.kind}:${f.severity}:${f.layer ?? '-'}`).sort();

describe('the torch engine in the editor', function () {
  let python = '';
  before(async function () {
    const found = await findTorchPythonAsync(pythonCandidates({ setting: '/usr/bin/python3' }));
    if ('attempts' in found) {
      console.log(`    torch engine host tests skipped: no Python interpreter imports torch (tried ${found.attempts.map(a => `${a.candidate.command}: ${a.problem}`).join('; ')})`);
      this.skip();
    }
    python = (found as { command: string }).command;
  });
  after(async () => {
    await settings().update('engine', undefined, vscode.ConfigurationTarget.Workspace);
    await settings().update('pythonPath', undefined, vscode.ConfigurationTarget.Global).then(undefined, () => undefined);
    delete process.env.ACTIVATION_LENS_PYTHON;
  });

  it('Run with activationLens.engine = torch trains on PyTorch in the same panel and finds what the core finds', async () => {
    const lens = await api();
    const example = vscode.Uri.joinPath(vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri, 'examples', 'deep-sigmoid-spiral.nn.yaml');
    const doc = await vscode.workspace.openTextDocument(example);
    await vscode.window.showTextDocument(doc);

    // The oracle: the core's run of the same file in this window.
    await settings().update('engine', 'core', vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('activationLens.run', doc.uri);
    const core = lens.runs.latest(doc.uri)!;
    assert.equal(core.view.status, 'done', core.view.message);
    assert.equal(core.engine, 'core');
    assert.ok(key(core.findings).some(k => k.startsWith('vanishing-gradient:')), key(core.findings).join(', '));

    await settings().update('engine', 'torch', vscode.ConfigurationTarget.Workspace);
    // pythonPath is machine-scoped (a workspace cannot name a program to run); the user settings can.
    try { await settings().update('pythonPath', python, vscode.ConfigurationTarget.Global); } catch { process.env.ACTIVATION_LENS_PYTHON = python; }
    await vscode.commands.executeCommand('activationLens.showPanel');
    const webview = (await waitFor('the panel', () => lens.panel.webviewPanel)).webview;
    const sent: RunView[] = [];
    const post = webview.postMessage.bind(webview);
    webview.postMessage = (m: { type: string; view?: RunView }) => { if (m.type === 'state' && m.view) sent.push(JSON.parse(JSON.stringify(m.view))); return post(m); };
    try {
      await vscode.commands.executeCommand('activationLens.run', doc.uri);
    } finally { webview.postMessage = post; }
    const torch = lens.runs.latest(doc.uri)!;
    assert.notEqual(torch, core);
    assert.equal(torch.view.status, 'done', torch.view.message);
    assert.equal(torch.engine, 'torch');
    assert.match(torch.view.engine ?? '', new RegExp(`^engine torch \\(${python.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, torch \\d`));
    // The same panel got the run: its last state names the engine and carries the torch run's findings.
    const last = sent.at(-1);
    assert.equal(last?.status, 'done', `states sent: ${sent.map(v => v.status).join(', ')}`);
    assert.match(last!.engine ?? '', /^engine torch/);
    assert.equal(last!.step, core.view.step);
    assert.deepEqual(key(last!.findings ?? []), key(core.findings));
    assert.deepEqual(key(torch.findings), key(core.findings));
    // Same weights and batches: the first losses agree (parity spec: 1e-4 relative over 20 SGD steps).
    for (let i = 0; i < 20; i++) {
      const [a, b] = [torch.view.lossCurve[i][1], core.view.lossCurve[i][1]];
      assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(b), `step ${i + 1}: torch ${a} vs core ${b}`);
    }
  });
});

describe('the torch engine runs an interpreter (control for the Restricted Mode test)', () => {
  it('in a trusted workspace, Run with engine torch runs the interpreter ACTIVATION_LENS_PYTHON names', async function () {
    if (!vscode.workspace.isTrusted) this.skip();
    const lens = await api();
    const fake = markerPython();
    process.env.ACTIVATION_LENS_PYTHON = fake.command;
    await settings().update('engine', 'torch', vscode.ConfigurationTarget.Workspace);
    try {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'dying.nn.yaml'));
      const run = vscode.commands.executeCommand('activationLens.run', doc.uri);
      await waitFor('the stand-in interpreter to run', () => fs.existsSync(fake.marker));
      // Only the interpreter check matters here: a real one found after the stand-in need not train.
      lens.runs.stop();
      await run;
      assert.ok(lens.runs.latest(doc.uri), 'the run was started');
    } finally {
      delete process.env.ACTIVATION_LENS_PYTHON;
      await settings().update('engine', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
