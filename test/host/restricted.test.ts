/**
 * Restricted Mode in the real editor: run-host-tests.mjs runs this file in a second code-server with workspace
 * trust enabled and the folder untrusted (the first pass, trusted, skips it). Static checks and hovers work;
 * Run, Compare, TensorBoard and reading CSVs do not; the workspace cannot lift the limits through its settings.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, hoverText, markerPython, openConfig, positionOf, waitFor, workspaceFile } from './util';
import { editorPythonCandidates } from '../../src/vscode/engine';

const ours = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter(d => d.source === 'Activation Lens');

describe('Restricted Mode (untrusted workspace)', function () {
  before(function () { if (vscode.workspace.isTrusted) this.skip(); });

  it('static findings and hovers work', async () => {
    await api();
    const doc = (await openConfig('deep-lecun.nn.yaml')).document;
    const d = await waitFor('init-mismatch', () => ours(doc.uri).find(x => x.code === 'init-mismatch'));
    assert.equal(doc.getText(d.range), 'lecun_normal');
    const hover = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, positionOf(doc, 'lecun_normal', 'init:')));
    assert.match(hover, /Var\(w\) = 1 ?\/ ?fan_in/);
  });

  it('the linter does not open the CSV a config names, and says so', async () => {
    const doc = (await openConfig('csv-target.nn.yaml')).document;
    const d = await waitFor('the Restricted Mode note', () => ours(doc.uri).find(x => /Restricted Mode/.test(x.message)));
    assert.equal(d.severity, vscode.DiagnosticSeverity.Warning);
    assert.equal(doc.getText(d.range), 'tiny.csv');
    // The wrong target is only found by reading the CSV: a trusted workspace reports it, this one cannot.
    assert.ok(!ours(doc.uri).some(x => /target column/.test(x.message)));
  });

  it('Run, Compare and Diagnose TensorBoard Run refuse; CodeLens offers no Run', async () => {
    const lens = await api();
    const doc = (await openConfig('spiral.nn.yaml')).document;
    const tryCommand = async (id: string, ...args: unknown[]) => { try { return await vscode.commands.executeCommand(id, ...args); } catch (e) { return e; } };
    const run = await tryCommand('activationLens.run', doc.uri);
    assert.ok(run === undefined || run instanceof Error, String(run));
    assert.equal(lens.runs.latest(doc.uri), undefined, 'no run was started');
    assert.equal(lens.runs.running, undefined);
    // The check inside the command holds even when the caller bypasses enablement (the API entry point).
    assert.equal(await lens.runs.run(doc), undefined);
    assert.equal(lens.runs.latest(doc.uri), undefined);
    const compare = await tryCommand('activationLens.compare', 0, doc.uri);
    assert.ok(compare === undefined || compare instanceof Error, String(compare));
    const tb = await tryCommand('activationLens.diagnoseTensorBoard', workspaceFile('.'));
    assert.ok(tb === false || tb === undefined || tb instanceof Error, String(tb));
    assert.equal(lens.tensorboard.view, undefined);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const titles = lenses.map(l => l.command?.title ?? '');
    assert.ok(titles.some(t => t.startsWith('dense_1 (#0):')), titles.join(' | '));
    assert.ok(!titles.some(t => /Run diagnostics/.test(t)), titles.join(' | '));
  });

  it('with activationLens.engine = torch, no Python interpreter is ever run (Run, Compare, or the interpreter search called directly)', async () => {
    const lens = await api();
    // engine.test.ts shows the same stand-in being run in a trusted workspace: here nothing may run it.
    const fake = markerPython();
    process.env.ACTIVATION_LENS_PYTHON = fake.command;
    const dir = path.join(workspaceFile('.').fsPath, '.vscode');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ 'activationLens.engine': 'torch' }));
    try {
      await waitFor('the workspace settings', () => vscode.workspace.getConfiguration('activationLens').get('engine') === 'torch', 30000);
      const doc = (await openConfig('dying.nn.yaml')).document;
      const tryCommand = async (id: string, ...args: unknown[]) => { try { return await vscode.commands.executeCommand(id, ...args); } catch (e) { return e; } };
      await tryCommand('activationLens.run', doc.uri);
      assert.equal(await lens.runs.run(doc), undefined);
      await tryCommand('activationLens.compare', 0, doc.uri);
      assert.equal(lens.runs.latest(doc.uri), undefined, 'no run was started');
      // The editor's interpreter discovery itself refuses in Restricted Mode, whichever caller asks.
      await assert.rejects(editorPythonCandidates(doc.uri, ''), /only in a trusted workspace/);
      assert.ok(!fs.existsSync(fake.marker), `the interpreter was run: ${fs.existsSync(fake.marker) ? fs.readFileSync(fake.marker, 'utf8') : ''}`);
    } finally {
      delete process.env.ACTIVATION_LENS_PYTHON;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the workspace settings cannot raise maxSteps, memoryLimitMB or probeEvery', async () => {
    const dir = path.join(workspaceFile('.').fsPath, '.vscode');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({
      'activationLens.maxSteps': 5000000, 'activationLens.memoryLimitMB': 65536, 'activationLens.probeEvery': 3, 'activationLens.lintOnType': false,
    }));
    const c = () => vscode.workspace.getConfiguration('activationLens');
    // The file was read (an unrestricted setting takes effect) ...
    await waitFor('the workspace settings', () => c().get('lintOnType') === false, 30000);
    // ... and the restricted ones keep their defaults (VS Code drops their workspace values altogether).
    assert.equal(c().get('maxSteps'), 20000);
    assert.equal(c().get('memoryLimitMB'), 1024);
    assert.equal(c().get('probeEvery'), null);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
