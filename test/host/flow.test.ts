// The editor flow's state (issue 18): a run whose config changed is marked stale at once in the panel and the sidebar,
// headers name the config, the sidebar follows the active config editor, and a refused Run leaves the panel alone.
// The webviews' DOM is not reachable from here: these tests read what the adapters sent them (the UI tests click).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunRecord } from '../../src/vscode/runController';
import type { CompareView } from '../../src/protocol';
import { api, waitFor, workspaceFile } from './util';

/** Two configs with the same name in two folders of the workspace: only their paths tell them apart. */
const DIRS = ['flow-a', 'flow-b'];
const small = (text: string) => text.replace(/steps: \d+/, 'steps: 60').replace(/samples: \d+/, 'samples: 300');

describe('state that never lies: stale runs, headers, the sidebar', () => {
  let a: vscode.Uri, b: vscode.Uri;
  before(async () => {
    const spiral = fs.readFileSync(workspaceFile('spiral.nn.yaml').fsPath, 'utf8');
    [a, b] = DIRS.map(d => {
      fs.mkdirSync(workspaceFile(d).fsPath, { recursive: true });
      fs.writeFileSync(workspaceFile(`${d}/same.nn.yaml`).fsPath, small(spiral));
      return workspaceFile(`${d}/same.nn.yaml`);
    });
    // Two mistakes: an unknown activation, and units that are not a number.
    fs.writeFileSync(workspaceFile('flow-b/broken.nn.yaml').fsPath, small(spiral).replace('activation: softmax', 'activation: sofmax').replace('units: 3', 'units: three'));
    // The sidebar's webview exists only once its view is shown.
    await vscode.commands.executeCommand('activationLens.sidebar.focus');
    const lens = await api();
    await waitFor('the sidebar to be sent something', () => lens.sidebar.lastSent);
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const d of DIRS) fs.rmSync(workspaceFile(d).fsPath, { recursive: true, force: true });
  });

  it('marks the run stale in the panel and the sidebar after an edit and after its undo; re-running clears it', async () => {
    const lens = await api();
    const doc = await vscode.workspace.openTextDocument(a);
    const editor = await vscode.window.showTextDocument(doc);
    const record = await vscode.commands.executeCommand<RunRecord>('activationLens.run', a);
    assert.equal(record?.view.status, 'done');
    await waitFor('the panel on config a', () => lens.panel.lastView?.configUri === a.toString());
    assert.deepEqual(lens.panel.lastStale, { stale: false, compare: false });
    await waitFor('the sidebar on config a, fresh', () => lens.sidebar.lastSent?.view?.configUri === a.toString() && lens.sidebar.lastSent.stale === false);

    await editor.edit(e => e.replace(doc.lineAt(doc.getText().split('\n').findIndex(l => l.includes('activation: tanh'))).range, '      activation: sigmoid'));
    await waitFor('the panel marked stale', () => lens.panel.lastStale?.stale);
    await waitFor('the sidebar marked stale', () => lens.sidebar.lastSent?.stale);
    // Undo brings the text back, but the numbers are still of a run of other versions: any change counts.
    await vscode.commands.executeCommand('undo');
    assert.ok(!doc.getText().includes('sigmoid'));
    assert.equal(lens.panel.lastStale?.stale, true);
    assert.equal(lens.sidebar.lastSent?.stale, true);
    // The banner's Re-run: the run of the current text is fresh again.
    lens.panel.receive({ type: 'run', config: a.toString() });
    await waitFor('the re-run to end', () => lens.runs.latest(a) !== record && lens.runs.latest(a)?.view.status === 'done');
    await waitFor('the panel fresh again', () => lens.panel.lastStale?.stale === false && lens.panel.lastView !== record.view);
    await waitFor('the sidebar fresh again', () => lens.sidebar.lastSent?.stale === false);
    await doc.save();
  });

  it('names the config by its workspace path in the panel and sidebar headers, distinct for two configs of one name', async () => {
    const lens = await api();
    const shown: string[] = [];
    for (const uri of [a, b]) {
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
      await vscode.commands.executeCommand('activationLens.run', uri);
      await waitFor(`the panel on ${uri.path}`, () => lens.panel.lastView?.configUri === uri.toString());
      const label = lens.panel.lastView?.configLabel ?? '';
      assert.equal(lens.panel.webviewPanel?.title, `Activation Lens: ${label}`);
      await waitFor('the sidebar on the same config', () => lens.sidebar.lastSent?.view?.configLabel === label);
      shown.push(label);
    }
    assert.deepEqual(shown, ['flow-a/same.nn.yaml', 'flow-b/same.nn.yaml']);
    // Both configs carry the same name: it is the path that tells the two headers apart.
    assert.equal(lens.runs.latest(a)?.view.configName, lens.runs.latest(b)?.view.configName);
  });

  it('follows the active config editor and lists its layers before its first run; with errors says how many', async () => {
    const lens = await api();
    // A config never run: the sidebar lists it from the text.
    const fresh = workspaceFile('flow-a/fresh.nn.yaml');
    fs.writeFileSync(fresh.fsPath, fs.readFileSync(a.fsPath, 'utf8'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(fresh));
    const view = await waitFor('the sidebar on fresh.nn.yaml', () => lens.sidebar.lastSent?.view?.configUri === fresh.toString() && lens.sidebar.lastSent.view);
    assert.equal(view.status, 'idle');
    assert.equal(view.configLabel, 'flow-a/fresh.nn.yaml');
    assert.equal(lens.sidebar.lastSent?.stale, false);
    // As spiral.nn.yaml says: dense layers of 32, 32 and 3 units with relu, tanh, softmax, named by the defaults.
    assert.deepEqual(view.layers.map(l => [l.index, l.name, l.type, l.activation, l.outputShape.at(-1)]),
      [[0, 'dense_1', 'dense', 'relu', 32], [1, 'dense_2', 'dense', 'tanh', 32], [2, 'dense_3', 'dense', 'softmax', 3]]);

    // A config that does not parse: no layers, and the number of errors Problems shows for it.
    const broken = workspaceFile('flow-b/broken.nn.yaml');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(broken));
    const bad = await waitFor('the sidebar on the broken config', () => lens.sidebar.lastSent?.view?.configUri === broken.toString() && lens.sidebar.lastSent.view);
    const errors = await waitFor('its errors in Problems', () => {
      const n = vscode.languages.getDiagnostics(broken).filter(d => d.severity === vscode.DiagnosticSeverity.Error).length;
      return n || undefined;
    });
    assert.equal(bad.layers.length, 0);
    assert.equal(bad.parseErrors, errors);
    assert.equal(errors, 2, 'two mistakes written: an unknown activation and units that are not a number');
  });

  it('Compare trials are kept in the compared config\'s run, shown whichever run the panel shows; a config never run keeps none', async () => {
    const lens = await api();
    for (const uri of [a, b]) if (lens.runs.latest(uri)?.view.status !== 'done') await vscode.commands.executeCommand('activationLens.run', uri);
    const [recA, recB] = [lens.runs.latest(a)!, lens.runs.latest(b)!];
    await vscode.commands.executeCommand('activationLens.showPanel');
    await waitFor('the panel on config b (the latest run)', () => lens.panel.lastView?.configUri === b.toString());
    const never = workspaceFile('flow-a/never-run.nn.yaml');
    fs.writeFileSync(never.fsPath, fs.readFileSync(a.fsPath, 'utf8'));
    // Finished trials of dense_1, of the config's text now (so a row of them would apply), as compareLayer hands them over.
    const trials = async (uri: vscode.Uri, activation: string): Promise<CompareView> => ({
      layer: 0, layerName: 'dense_1', status: 'done', uri: uri.toString(), version: (await vscode.workspace.openTextDocument(uri)).version, layers: [0],
      results: [{ activation, init: 'he_normal', reason: 'a test row' }] });
    const webview = lens.panel.webviewPanel!.webview;
    const posted: { type: string; compare?: CompareView }[] = [];
    const post = webview.postMessage.bind(webview);
    webview.postMessage = (m: (typeof posted)[number]) => { posted.push(m); return post(m); };
    const events: { record?: RunRecord; compare: CompareView }[] = [];
    const sub = lens.runs.onDidChange(e => { if (e.kind === 'compare') events.push(e); });
    const edits: string[] = [];
    const edited = vscode.workspace.onDidChangeTextDocument(e => { if (e.contentChanges.length && e.document.uri.scheme === 'file') edits.push(e.document.uri.toString()); });
    try {
      // Trials of the shown config b, then of a (not shown), then of a config that was never run.
      const onB = await trials(b, 'elu'), onA = await trials(a, 'gelu'), onNever = await trials(never, 'selu');
      lens.runs.setCompare(onB);
      lens.runs.setCompare(onA);
      lens.runs.setCompare(onNever);
      assert.equal(recB.view.compare, onB);
      assert.equal(recA.view.compare, onA, 'kept in a\'s run, though the panel shows b\'s');
      assert.equal(lens.runs.latest(never), undefined);
      // Each announced with the record that keeps it (identity: the records are the controller's own).
      assert.ok(events.length === 3 && events[0].record === recB && events[1].record === recA && events[2].record === undefined
        && events[0].compare === onB && events[1].compare === onA && events[2].compare === onNever, 'the compare events');
      // The panel was sent each, in order, though it shows b's run: the last sent is what it shows.
      const sent = posted.filter(m => m.type === 'compare').map(m => m.compare);
      assert.ok(sent.length === 3 && sent[0] === onB && sent[1] === onA && sent[2] === onNever, `compare messages: ${sent.length}`);
      assert.equal(lens.panel.lastView, recB.view);
      // A row Apply from the page names the config it shows (b); the trials on screen are never-run's: refused, not b's
      // own trials applied. Named by their own config, the row applies (an edit, not saved), after the refusal would have.
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: b.toString() });
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: never.toString() });
      await waitFor('the row applied to never-run.nn.yaml', () => edits.includes(never.toString()));
      assert.deepEqual(edits, [never.toString()], 'only never-run.nn.yaml edited');
      assert.match((await vscode.workspace.openTextDocument(never)).getText(), /activation: selu/);
    } finally {
      webview.postMessage = post;
      sub.dispose();
      edited.dispose();
      await (await vscode.workspace.openTextDocument(never)).save();
    }
  });

  it('a row of trials on a Keras model.json (never run, not a *.nn file) applies to that file', async () => {
    const lens = await api();
    await vscode.commands.executeCommand('activationLens.showPanel');
    await waitFor('the panel', () => lens.panel.webviewPanel);
    const keras = workspaceFile('keras-moons-model.json');
    const doc = await vscode.workspace.openTextDocument(keras);
    const before = doc.getText();
    assert.equal(lens.runs.latest(keras), undefined, 'no run of the Keras file');
    // The importer skips the InputLayer: layer 0 is the first Dense (sigmoid).
    lens.runs.setCompare({ layer: 0, layerName: 'dense', status: 'done', uri: keras.toString(), version: doc.version, layers: [0],
      results: [{ activation: 'tanh', init: 'glorot_uniform', reason: 'a test row' }] });
    try {
      // The page names the trials' own config (configNamed): before, the host knew no such config and dropped the Apply.
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: keras.toString() });
      await waitFor('the row applied to the Keras file', () => doc.getText() !== before);
      assert.match(doc.getText(), /"activation":\s*"tanh"/);
    } finally {
      // Back to the file's text for the tests after (keras-ref.nn.yaml imports it); the document is opened again, since
      // the workbench may have closed it while a failing wait ran.
      const now = await vscode.workspace.openTextDocument(keras);
      if (now.getText() !== before) {
        const all = new vscode.WorkspaceEdit();
        all.replace(keras, new vscode.Range(now.positionAt(0), now.positionAt(now.getText().length)), before);
        await vscode.workspace.applyEdit(all);
      }
      if (now.isDirty) await now.save();
    }
  });

  it('a Run refused for errors does not bring another config\'s panel to the front', async () => {
    const lens = await api();
    const panel = await waitFor('the panel', () => lens.panel.webviewPanel);
    const shownBefore = lens.panel.lastView?.configUri;
    assert.ok(shownBefore && shownBefore !== workspaceFile('flow-b/broken.nn.yaml').toString());
    // Put an editor over the panel in its own group, so the panel is hidden behind it.
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(workspaceFile('flow-b/broken.nn.yaml')), { viewColumn: panel.viewColumn });
    await waitFor('the panel hidden', () => !panel.visible);
    const record = await vscode.commands.executeCommand('activationLens.run', workspaceFile('flow-b/broken.nn.yaml'));
    assert.equal(record, undefined);
    // A round trip through the workbench: a reveal sent during the run has reached the panel's view state by then.
    await vscode.commands.executeCommand('vscode.executeCodeLensProvider', workspaceFile('flow-b/broken.nn.yaml'));
    await vscode.commands.executeCommand('vscode.executeCodeLensProvider', workspaceFile('flow-b/broken.nn.yaml'));
    assert.equal(panel.visible, false, 'the refused run revealed the panel of another config');
    assert.equal(lens.panel.lastView?.configUri, shownBefore);
  });
});
