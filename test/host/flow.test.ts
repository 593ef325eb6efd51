// The editor flow's state (issue 18): a run whose config changed is marked stale at once in the panel and the sidebar,
// headers name the config, the sidebar follows the active config editor, and a refused Run leaves the panel alone.
// The webviews' DOM is not reachable from here: these tests read what the adapters sent them (the UI tests click).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunRecord } from '../../src/vscode/runController';
import type { CompareView, RunView, VerificationView } from '../../src/protocol';
import { api, waitFor, workspaceFile } from './util';

/** Two configs with the same name in two folders of the workspace: only their paths tell them apart. */
const DIRS = ['flow-a', 'flow-b'];
/** The text hash a run or a comparison keeps (src/vscode/textHash.ts), computed here independently. */
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** A trial that trained and did not diverge (rows without one, or diverged, are refused by the host). */
const TRAINED = { valLoss: 0.5, trainLoss: 0.5, lossCurve: [1, 0.5] };
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
    assert.equal(lens.panel.lastStale?.stale, false);
    await waitFor('the sidebar on config a, fresh', () => lens.sidebar.lastSent?.view?.configUri === a.toString() && lens.sidebar.lastSent.stale === false);

    await editor.edit(e => e.replace(doc.lineAt(doc.getText().split('\n').findIndex(l => l.includes('activation: tanh'))).range, '      activation: sigmoid'));
    await waitFor('the panel marked stale', () => lens.panel.lastStale?.stale);
    await waitFor('the sidebar marked stale', () => lens.sidebar.lastSent?.stale);
    // Undo brings back the text the run used (by hash, not document version): its numbers are of this text again.
    await vscode.commands.executeCommand('undo');
    assert.ok(!doc.getText().includes('sigmoid'));
    await waitFor('the panel fresh after the undo', () => lens.panel.lastStale?.stale === false);
    await waitFor('the sidebar fresh after the undo', () => lens.sidebar.lastSent?.stale === false);
    await editor.edit(e => e.insert(new vscode.Position(0, 0), '# edited\n'));
    await waitFor('the panel stale again', () => lens.panel.lastStale?.stale);
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

  /** Finished trials of dense_1 of the config's text now (so a row of them would apply), as compareLayer hands them over. */
  const trials = async (uri: vscode.Uri, ...activations: string[]): Promise<CompareView> => ({
    layer: 0, layerName: 'dense_1', status: 'done', uri: uri.toString(), textHash: sha256((await vscode.workspace.openTextDocument(uri)).getText()), layers: [0],
    results: activations.map(activation => ({ activation, init: 'he_normal', reason: 'a test row', trial: TRAINED })) });
  /** What the host posts to the panel's page from now until `stop()`. */
  const recordPosts = (webview: vscode.Webview) => {
    const posted: { type: string; compare?: CompareView; view?: RunView }[] = [];
    const post = webview.postMessage.bind(webview);
    webview.postMessage = (m: (typeof posted)[number]) => { posted.push(m); return post(m); };
    return { posted, stop: () => { webview.postMessage = post; } };
  };
  /** Each change of a file document's text, with the text after it. */
  const recordEdits = () => {
    const edits: { uri: string; text: string }[] = [];
    const sub = vscode.workspace.onDidChangeTextDocument(e => {
      if (e.contentChanges.length && e.document.uri.scheme === 'file') edits.push({ uri: e.document.uri.toString(), text: e.document.getText() });
    });
    return { edits, stop: () => sub.dispose() };
  };

  it('Compare trials are kept in the compared config (its run if it has one); trials of another config switch the panel to that config, named by its path', async () => {
    const lens = await api();
    for (const uri of [a, b]) if (lens.runs.latest(uri)?.view.status !== 'done') await vscode.commands.executeCommand('activationLens.run', uri);
    const [recA, recB] = [lens.runs.latest(a)!, lens.runs.latest(b)!];
    await vscode.commands.executeCommand('activationLens.showPanel');
    await waitFor('the panel on config b (the latest run)', () => lens.panel.lastView?.configUri === b.toString());
    const never = workspaceFile('flow-a/never-run.nn.yaml');
    fs.writeFileSync(never.fsPath, fs.readFileSync(a.fsPath, 'utf8'));
    const neverDoc = await vscode.workspace.openTextDocument(never);
    const { posted, stop } = recordPosts(lens.panel.webviewPanel!.webview);
    const events: { record?: RunRecord; compare: CompareView }[] = [];
    const sub = lens.runs.onDidChange(e => { if (e.kind === 'compare') events.push(e); });
    try {
      // Trials of the shown config b, then of a (not shown), then of a config that was never run.
      const onB = await trials(b, 'elu'), onA = await trials(a, 'gelu'), onNever = await trials(never, 'selu');
      lens.runs.setCompare(onB);
      assert.equal(recB.view.compare, onB);
      // The shown config's trials go into its view.
      assert.deepEqual(posted.map(m => m.type), ['compare', 'stale']);
      assert.equal(posted[0].compare, onB);
      lens.runs.setCompare(onA);
      assert.equal(recA.view.compare, onA, 'kept in a\'s run');
      // Trials of a: the panel switches to a's run, with them, and its title names a's path.
      assert.equal(posted[2].type, 'state');
      assert.equal(posted[2].view, recA.view);
      assert.equal(lens.panel.lastView?.compare, onA);
      assert.equal(lens.panel.webviewPanel?.title, 'Activation Lens: flow-a/same.nn.yaml');
      lens.runs.setCompare(onNever);
      assert.equal(lens.runs.latest(never), undefined, 'a config never run has no run to keep them in');
      // A config never run: its layers from the text, with the trials (before, the page dropped trials it had no view
      // for, and a Compare with no run behind it showed a blank panel).
      const shown = lens.panel.lastView!;
      assert.equal(posted.at(-2)?.type, 'state');
      assert.equal(shown.configUri, never.toString());
      assert.equal(shown.compare, onNever);
      assert.equal(shown.status, 'idle');
      assert.deepEqual(shown.layers.map(l => l.name), ['dense_1', 'dense_2', 'dense_3']);
      assert.equal(lens.panel.webviewPanel?.title, 'Activation Lens: flow-a/never-run.nn.yaml');
      // A page that loads now (Compare can create the panel) is sent the same.
      lens.panel.receive({ type: 'ready' });
      assert.equal(posted.filter(m => m.type === 'state').at(-1)?.view, shown);
      // Each announced with the record that keeps it (identity: the records are the controller's own), each with its
      // own identity, and named by its workspace path: the two same.nn.yaml are told apart.
      assert.ok(events.length === 3 && events[0].record === recB && events[1].record === recA && events[2].record === undefined
        && events[0].compare === onB && events[1].compare === onA && events[2].compare === onNever, 'the compare events');
      assert.equal(new Set([onA.id, onB.id, onNever.id]).size, 3);
      assert.deepEqual([onA.configLabel, onB.configLabel, onNever.configLabel], ['flow-a/same.nn.yaml', 'flow-b/same.nn.yaml', 'flow-a/never-run.nn.yaml']);
      // A run's state takes the panel back.
      await vscode.commands.executeCommand('activationLens.run', b);
      await waitFor('the panel on b again', () => lens.panel.lastView?.configUri === b.toString() && lens.panel.lastView.status === 'done');
    } finally {
      stop();
      sub.dispose();
      if (neverDoc.isDirty) await neverDoc.save();
    }
  });

  it('a trial row\'s Apply names its trials: the latest of their config apply whichever the host sent last; staleness follows each config', async () => {
    const lens = await api();
    await vscode.commands.executeCommand('activationLens.showPanel');
    await waitFor('the panel', () => lens.panel.webviewPanel);
    const [docA, docB] = await Promise.all([a, b].map(u => vscode.workspace.openTextDocument(u)));
    const { edits, stop } = recordEdits();
    try {
      // Compare a, then b (the panel shows b's), then run a again: the page keeps a's trials over a's new run (same
      // config), while the last trials the host sent were b's. The host used to guess b's, and dropped a row of a's.
      const onA = await trials(a, 'gelu'), onB = await trials(b, 'elu');
      lens.runs.setCompare(onA);
      lens.runs.setCompare(onB);
      await vscode.commands.executeCommand('activationLens.run', a);
      await waitFor('the panel on a\'s new run', () => lens.panel.lastView?.configUri === a.toString() && lens.panel.lastView.status === 'done');
      assert.ok(lens.panel.lastStale?.trials.includes(onA.id!) && lens.panel.lastStale.trials.includes(onB.id!), 'both current');
      // An edit of b makes b's trials out of date, not a's (which the page may show).
      const edit = new vscode.WorkspaceEdit();
      edit.insert(b, new vscode.Position(0, 0), '# edited\n');
      assert.ok(await vscode.workspace.applyEdit(edit));
      await waitFor('b\'s trials out of date', () => !lens.panel.lastStale?.trials.includes(onB.id!));
      assert.deepEqual(lens.panel.lastStale?.trials.filter(id => id === onA.id || id === onB.id), [onA.id]);
      // The row of a's trials applies to a.
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: a.toString(), trials: onA.id! });
      await waitFor('the row applied to a', () => edits.some(e => e.uri === a.toString()));
      assert.match(docA.getText(), /activation: gelu/);
      // Which makes a's trials out of date too.
      await waitFor('a\'s trials out of date', () => !lens.panel.lastStale?.trials.includes(onA.id!));
      // Trials that are no longer their config's latest are refused, with a word, and edit nothing.
      const again = await trials(a, 'selu');
      lens.runs.setCompare(again);
      const before = edits.length;
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: a.toString(), trials: onA.id! });
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: a.toString(), trials: again.id! });
      await waitFor('the latest row applied to a', () => /activation: selu/.test(docA.getText()));
      assert.equal(edits.length, before + 1, 'only the latest trials\' row applied');
      assert.ok(!edits.slice(before).some(e => /activation: gelu/.test(e.text) && !/selu/.test(e.text)));
    } finally {
      stop();
      for (const d of [docA, docB]) if (d.isDirty) await d.save();
    }
  });

  it('a forged trial Apply (a file outside the workspace, a non-config file, an id the host never made) edits nothing and breaks nothing', async () => {
    const lens = await api();
    await vscode.commands.executeCommand('activationLens.showPanel');
    await waitFor('the panel', () => lens.panel.webviewPanel);
    const outsideDir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-outside-'));
    const outside = vscode.Uri.file(path.join(outsideDir, 'same.nn.yaml'));
    const outsideText = fs.readFileSync(a.fsPath, 'utf8');
    fs.writeFileSync(outside.fsPath, outsideText);
    const csv = workspaceFile('tiny.csv');
    const csvText = fs.readFileSync(csv.fsPath, 'utf8');
    // Open, so an edit would show as a change event (an Apply edits the open document without saving).
    const [outsideDoc, csvDoc, docA] = await Promise.all([outside, csv, a].map(u => vscode.workspace.openTextDocument(u)));
    const onA = await trials(a, 'gelu', 'elu');
    lens.runs.setCompare(onA);
    const { edits, stop } = recordEdits();
    try {
      // The real trials' id (the page sees it) with another file; a made-up id with the real config; a made-up config.
      for (const config of [outside.toString(), csv.toString(), 'file:///etc/passwd', workspaceFile('nowhere.nn.yaml').toString()])
        lens.panel.receive({ type: 'applyTrial', rank: 0, config, trials: onA.id! });
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: a.toString(), trials: '00000000-0000-4000-8000-000000000000' });
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: outside.toString(), trials: '00000000-0000-4000-8000-000000000000' });
      // Then the page's own message, row 1: it applies (the panel still works), and it is the only edit.
      lens.panel.receive({ type: 'applyTrial', rank: 1, config: a.toString(), trials: onA.id! });
      await waitFor('the real row applied', () => /activation: elu/.test(docA.getText()), 120000);
      assert.deepEqual(edits.map(e => e.uri), [a.toString()], 'one edit, of a');
      assert.ok(!/activation: gelu/.test(edits[0].text), 'row 0 (the forged messages\' row) was not applied');
      assert.equal(outsideDoc.getText(), outsideText);
      assert.equal(csvDoc.getText(), csvText);
      assert.equal(fs.readFileSync(outside.fsPath, 'utf8'), outsideText);
      assert.equal(fs.readFileSync(csv.fsPath, 'utf8'), csvText);
      assert.ok(!outsideDoc.isDirty && !csvDoc.isDirty);
    } finally {
      stop();
      if (docA.isDirty) await docA.save();
      fs.rmSync(outsideDir, { recursive: true, force: true });
    }
  });

  it('a Verify is kept in its run by the controller and shown by the panel while that run is shown', async () => {
    const lens = await api();
    await vscode.commands.executeCommand('activationLens.run', a);
    await waitFor('the panel on a\'s run', () => lens.panel.lastView?.configUri === a.toString() && lens.panel.lastView.status === 'done');
    const [recA, recB] = [lens.runs.latest(a)!, lens.runs.latest(b)!];
    const { posted, stop } = recordPosts(lens.panel.webviewPanel!.webview);
    try {
      const onA: VerificationView = { status: 'running', title: 'init he_normal on dense_1 (a test)' };
      const onB: VerificationView = { status: 'running', title: 'init he_normal on dense_2 (a test)' };
      lens.runs.setVerification(recA, onA);
      lens.runs.setVerification(recB, onB);
      assert.equal(recA.view.verification, onA);
      assert.equal(recB.view.verification, onB, 'kept in b\'s run, though the panel shows a\'s');
      const sent = posted.filter(m => m.type === 'verification').map(m => (m as { verification?: VerificationView }).verification);
      assert.deepEqual(sent, [onA], 'the panel shows a\'s run: only a\'s Verify is sent');
    } finally {
      stop();
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
    const onKeras: CompareView = { layer: 0, layerName: 'dense', status: 'done', uri: keras.toString(), textHash: sha256(doc.getText()), layers: [0],
      results: [{ activation: 'tanh', init: 'glorot_uniform', reason: 'a test row', trial: TRAINED }] };
    lens.runs.setCompare(onKeras);
    try {
      // The page names the trials' own config and identity (trialApply); the controller knows them though the file has no run.
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: keras.toString(), trials: onKeras.id! });
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

  it('a Compare (and a Verify) of another config while a run trains never takes the panel from the run; Show Trials does', async () => {
    const lens = await api();
    for (const uri of [a, b]) if (lens.runs.latest(uri)?.view.status !== 'done') await vscode.commands.executeCommand('activationLens.run', uri);
    const recB = lens.runs.latest(b)!;
    // Long enough to be training through the synchronous part below (it is stopped at the end).
    const long = workspaceFile('flow-a/long.nn.yaml');
    fs.writeFileSync(long.fsPath, fs.readFileSync(a.fsPath, 'utf8').replace(/steps: \d+/, 'steps: 20000'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(long));
    const onB: CompareView = { ...(await trials(b, 'elu')), status: 'running' };
    const running = vscode.commands.executeCommand<RunRecord>('activationLens.run', long);
    try {
      await waitFor('the panel on the live run', () => lens.runs.running?.uri === long.toString()
        && lens.panel.lastView?.configUri === long.toString() && lens.panel.lastView.status === 'running');
      const { posted, stop } = recordPosts(lens.panel.webviewPanel!.webview);
      try {
        assert.ok(lens.runs.running, 'still training');
        // The trials as compareLayer announces them: started, the engine chosen, ended with a verdict.
        lens.runs.setCompare(onB);
        lens.runs.setCompare(onB);
        onB.status = 'done';
        onB.verdict = 'elu beats tanh';
        lens.runs.setCompare(onB);
        // A Verify of b's run (started from the panel before) updates too.
        lens.runs.setVerification(recB, { status: 'running', title: 'init he_normal on dense_1 (a test)' });
        assert.ok(lens.runs.running, 'still training after');
        assert.deepEqual(posted.filter(m => m.type === 'state' || m.type === 'compare' || m.type === 'verification').map(m => m.type), [],
          'nothing replaced the live run\'s view');
        assert.equal(lens.panel.lastView?.configUri, long.toString());
        assert.equal(recB.view.compare, onB, 'the controller keeps them in b\'s run');
        assert.equal(lens.panel.heldTrials, onB);
        // Said twice (started, ended), not at each update; the end with its verdict.
        assert.equal(lens.panel.heldNotices.length, 2, lens.panel.heldNotices.join(' | '));
        assert.match(lens.panel.heldNotices[0], /trials of dense_1 in flow-b\/same\.nn\.yaml are running; the panel stays on the run of flow-a\/long\.nn\.yaml/);
        assert.match(lens.panel.heldNotices[1], /are done: elu beats tanh/);
        // The live run's charts keep coming.
        await waitFor('stats of the live run drawn', () => posted.some(m => m.type === 'stats'));
        // Show Trials: the user asks, the panel switches.
        assert.ok(lens.panel.showHeldTrials());
        assert.equal(lens.panel.lastView, recB.view);
        assert.equal(lens.panel.lastView?.compare, onB);
        assert.equal(lens.panel.heldTrials, undefined);
      } finally {
        stop();
      }
    } finally {
      lens.runs.stop();
      await running;
    }
  });

  it('Show Trials of a notification shows the trials it named, though another config\'s were held after them', async () => {
    const lens = await api();
    for (const uri of [a, b]) if (lens.runs.latest(uri)?.view.status !== 'done') await vscode.commands.executeCommand('activationLens.run', uri);
    const recB = lens.runs.latest(b)!;
    const long = workspaceFile('flow-a/long.nn.yaml');
    fs.writeFileSync(long.fsPath, fs.readFileSync(a.fsPath, 'utf8').replace(/steps: \d+/, 'steps: 20000'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(long));
    const onB: CompareView = { ...(await trials(b, 'elu')), status: 'running' };
    const onA: CompareView = { ...(await trials(a, 'gelu')), status: 'running' };
    const running = vscode.commands.executeCommand<RunRecord>('activationLens.run', long);
    try {
      await waitFor('the panel on the live run', () => lens.runs.running?.uri === long.toString()
        && lens.panel.lastView?.configUri === long.toString() && lens.panel.lastView.status === 'running');
      // b's trials are said (a notification with Show Trials), then a's are held after them.
      lens.runs.setCompare(onB);
      lens.runs.setCompare(onA);
      assert.equal(lens.panel.heldTrials, onA);
      // The user clicks Show Trials on b's notification: b's trials, not a's.
      assert.ok(lens.panel.showHeldTrials(onB));
      assert.equal(lens.panel.lastView, recB.view);
      assert.equal(lens.panel.lastView?.compare, onB);
      assert.equal(lens.panel.heldTrials, onA, 'a\'s trials still held for their own Show Trials');
    } finally {
      lens.runs.stop();
      await running;
    }
  });

  it('a Verify update never re-sends the panel\'s view (it shows something else meanwhile)', async () => {
    const lens = await api();
    if (lens.runs.latest(a)?.view.status !== 'done') await vscode.commands.executeCommand('activationLens.run', a);
    const recA = lens.runs.latest(a)!;
    // A view with no config behind it, as a TensorBoard run's.
    const other: RunView = { configPath: '/logs/run1', configName: 'run1', layers: [], status: 'done', step: 0, totalSteps: 0, timeline: [], lossCurve: [] };
    lens.panel.showView(other);
    lens.runs.setVerification(recA, { status: 'running', title: 'init he_normal on dense_1 (a test)' });
    lens.runs.setVerification(recA, { status: 'done', title: 'init he_normal on dense_1 (a test)' });
    assert.equal(lens.panel.lastView, other);
  });

  it('a trial row applies only from trials that finished, and only if its trial trained without diverging', async () => {
    const lens = await api();
    await vscode.commands.executeCommand('activationLens.showPanel');
    await waitFor('the panel', () => lens.panel.webviewPanel);
    const docA = await vscode.workspace.openTextDocument(a);
    const onA = await trials(a, 'gelu', 'elu', 'selu');
    onA.results[1].trial = { ...TRAINED, valLoss: 1e11, diverged: true };
    onA.results[2].trial = { ...TRAINED, valLoss: NaN };
    const { edits, stop } = recordEdits();
    const refused = (re: RegExp) => { const t = lens.told.at(-1); assert.ok(t?.kind === 'refusal' && re.test(t.text), JSON.stringify(t)); };
    try {
      // The messages the page would send for these trials (config and id are the real ones).
      const apply = (rank: number) => lens.panel.receive({ type: 'applyTrial', rank, config: a.toString(), trials: onA.id! });
      for (const status of ['running', 'cancelled', 'error'] as const) {
        onA.status = status;
        lens.runs.setCompare(onA);
        apply(0);
        refused(new RegExp(`the comparison of dense_1 has not finished \\(${status}\\)`));
      }
      onA.status = 'done';
      lens.runs.setCompare(onA);
      apply(1);
      refused(/row 2 \(elu \+ he_normal\) diverged in its trial/);
      apply(2);
      refused(/row 3 \(selu \+ he_normal\) has no finite loss in its trial/);
      // The usable row of the finished trials applies, and it is the only edit.
      apply(0);
      await waitFor('row 1 applied', () => /activation: gelu/.test(docA.getText()));
      assert.deepEqual(edits.map(e => e.uri), [a.toString()]);
    } finally {
      stop();
      if (docA.isDirty) await docA.save();
    }
  });

  it('judges staleness by the text a run or comparison used (its hash), not the document version, which restarts on reopen', async () => {
    const lens = await api();
    if (lens.runs.latest(a)?.view.status !== 'done' || lens.runs.isStale(lens.runs.latest(a)!)) await vscode.commands.executeCommand('activationLens.run', a);
    const rec = lens.runs.latest(a)!;
    const docA = await vscode.workspace.openTextDocument(a);
    const text = docA.getText();
    // A file closed and changed on disk comes back at version 1, perhaps the version its run had: only the text tells.
    assert.equal(rec.textHash, sha256(text));
    assert.equal(lens.runs.isStale(rec), false);
    assert.equal(lens.runs.isStale({ ...rec, textHash: sha256(`${text}# changed on disk\n`) }), true);
    const onA = { ...(await trials(a, 'gelu')), textHash: sha256(`${text}# changed on disk\n`) };
    const { edits, stop } = recordEdits();
    try {
      lens.runs.setCompare(onA);
      assert.ok(!lens.runs.applicableTrials().includes(onA.id!), 'trials of other text are out of date');
      lens.panel.receive({ type: 'applyTrial', rank: 0, config: a.toString(), trials: onA.id! });
      await waitFor('the refusal', () => lens.told.at(-1)?.text.includes('the config changed since these trials'));
      // And the same for the trials of this text: they apply.
      const fresh = await trials(a, 'gelu');
      lens.runs.setCompare(fresh);
      assert.ok(lens.runs.applicableTrials().includes(fresh.id!));
      assert.deepEqual(edits, []);
    } finally {
      stop();
    }
  });

  it('a new run of a config starts with its latest trials (a panel reopened on that run shows them)', async () => {
    const lens = await api();
    const fresh = await trials(a, 'gelu');
    lens.runs.setCompare(fresh);
    const again = await vscode.commands.executeCommand<RunRecord>('activationLens.run', a);
    assert.notEqual(again, undefined);
    assert.equal(again?.view.compare, fresh);
  });

  it('keeps the latest trials of at most 32 configs, and none of a file that is gone', async () => {
    const lens = await api();
    const dir = workspaceFile('flow-b/many');
    fs.mkdirSync(dir.fsPath, { recursive: true });
    const unopened = (name: string): CompareView => {
      const uri = workspaceFile(`flow-b/many/${name}.nn.yaml`);
      fs.writeFileSync(uri.fsPath, fs.readFileSync(a.fsPath, 'utf8'));
      return { layer: 0, layerName: 'dense_1', status: 'done', uri: uri.toString(), textHash: 'x', layers: [0], results: [] };
    };
    try {
      const gone = unopened('gone');
      lens.runs.setCompare(gone);
      assert.ok(lens.runs.compared(gone.uri!));
      fs.rmSync(vscode.Uri.parse(gone.uri!).fsPath);
      const first = unopened('c0');
      lens.runs.setCompare(first);
      assert.ok(!lens.runs.compared(gone.uri!), 'trials of a deleted file dropped');
      const rest = Array.from({ length: 32 }, (_, i) => unopened(`c${i + 1}`));
      rest.slice(0, 31).forEach(c => lens.runs.setCompare(c));
      assert.ok(lens.runs.compared(first.uri!), '32 kept');
      // Compared again, c0 is the most recent: the next config drops the least recently compared (c1), not c0.
      lens.runs.setCompare(first);
      lens.runs.setCompare(rest[31]);
      assert.ok(lens.runs.compared(first.uri!) && !lens.runs.compared(rest[0].uri!) && rest.slice(1).every(c => lens.runs.compared(c.uri!)));
    } finally {
      fs.rmSync(dir.fsPath, { recursive: true, force: true });
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
