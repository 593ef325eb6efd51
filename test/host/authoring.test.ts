import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, EXTENSION_ID, waitFor, workspaceFile } from './util';

/** Completion labels VS Code itself gathers at a position (every provider, ours among them). */
async function labelsAt(uri: vscode.Uri, pos: vscode.Position): Promise<Map<string, vscode.CompletionItem>> {
  const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', uri, pos);
  return new Map(list.items.map(i => [typeof i.label === 'string' ? i.label : i.label.label, i]));
}

describe('completions in config files (no YAML extension installed)', () => {
  before(async () => { await api(); });

  it('completes activation names with their formula in a *.nn.yaml, and the edit yields a valid config', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-complete-'));
    const file = path.join(dir, 'typing.nn.yaml');
    fs.writeFileSync(file, 'data: {source: spiral}\nmodel:\n  layers:\n    - type: dense\n      units: 8\n      activation: re\n    - {type: dense, units: 3, activation: softmax}\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const items = await labelsAt(doc.uri, new vscode.Position(5, 20));
    const relu = items.get('relu');
    assert.ok(relu, `labels: ${[...items.keys()].slice(0, 40).join(', ')}`);
    assert.match(String(relu.detail), /max\(0, ?x\)/);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, relu.range instanceof vscode.Range ? relu.range : (relu.range as { replacing: vscode.Range }).replacing, String(relu.insertText));
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(doc.lineAt(5).text, '      activation: relu');
  });

  it('completes layer keys from the layer type in a *.nn.json', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-complete-'));
    const file = path.join(dir, 'typing.nn.json');
    const text = '{"model": {"layers": [{"type": "conv2d", }]}}';
    fs.writeFileSync(file, text);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const items = await labelsAt(doc.uri, doc.positionAt(text.indexOf(', }') + 2));
    for (const k of ['filters', 'kernel', 'padding']) assert.ok(items.has(k), `${k} in ${[...items.keys()].join(', ')}`);
    assert.ok(!items.has('units'), 'a conv layer has no units');
  });
});

describe('quick fixes for typos and repeated suggestions', () => {
  before(async () => { await api(); });
  const ours = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter(d => d.source === 'Activation Lens');

  it('offers "did you mean" as a quick fix for an activation, a key and a layer type, editing only the word', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-typo-'));
    const file = path.join(dir, 'typo.nn.yaml');
    fs.writeFileSync(file, 'data: {source: spiral}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: rleu}\n    - {type: dnese, units: 3, activation: softmax}\ntrian: {steps: 10}\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    for (const [typo, word] of [['rleu', 'relu'], ['dnese', 'dense'], ['trian', 'train']]) {
      const diag = await waitFor(`a diagnostic on ${typo}`, () => ours(doc.uri).find(d => doc.getText(d.range) === typo));
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, diag.range);
      const fix = actions.find(a => a.title === `Change to "${word}"`);
      assert.ok(fix?.edit, `actions for ${typo}: ${actions.map(a => a.title).join(' | ')}`);
      assert.ok(await vscode.workspace.applyEdit(fix.edit));
    }
    assert.equal(doc.getText(), 'data: {source: spiral}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: relu}\n    - {type: dense, units: 3, activation: softmax}\ntrain: {steps: 10}\n');
    await waitFor('no errors left', () => !ours(doc.uri).some(d => d.severity === vscode.DiagnosticSeverity.Error));
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});

describe('quick fixes after a run', () => {
  const ours = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter(d => d.source === 'Activation Lens');

  it('lists each fix once on a layer with both a static and a run finding, and names the layers a fix changes', async () => {
    const lens = await api();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-dedupe-'));
    const file = path.join(dir, 'deep-sigmoid.nn.yaml');
    const example = fs.readFileSync(path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'examples/deep-sigmoid-spiral.nn.yaml'), 'utf8');
    fs.writeFileSync(file, example.replace(/steps: \d+/, 'steps: 300').replace(/samples: \d+/, 'samples: 600'));
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    await lens.runs.run(doc);
    const diags = await waitFor('a run finding', () => { const d = ours(doc.uri).filter(x => x.code === 'vanishing-gradient'); return d.length ? d : undefined; });
    let sawSeveral = false;
    for (const diag of diags) {
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, diag.range);
      const titles = actions.filter(a => a.title.startsWith('Activation Lens: set')).map(a => a.title);
      assert.ok(titles.length > 0, 'a vanishing-gradient finding offers fixes');
      assert.equal(new Set(titles).size, titles.length, `duplicates in: ${titles.join(' | ')}`);
      for (const a of actions) {
        // A fix whose edit touches several layers' lines says "on N layers (...)" in its title, and only such a fix.
        const linesEdited = new Set(a.edit?.entries().flatMap(([, edits]) => edits.map(e => e.range.start.line)) ?? []);
        const says = / on \d+ layers \(/.test(a.title);
        if (says) { sawSeveral = true; assert.ok(linesEdited.size > 1, a.title); }
      }
    }
    assert.ok(sawSeveral, 'the deep sigmoid finding proposes a change to several layers, and says so');
    // Once the text changes, the run's findings are dimmed and say they are from the run before the edit.
    const editor = await vscode.window.showTextDocument(doc);
    await editor.edit(b => b.insert(new vscode.Position(0, 0), '# edited\n'));
    const stale = await waitFor('stale run findings', () => {
      const d = ours(doc.uri).filter(x => x.code === 'vanishing-gradient');
      return d.length && d.every(x => x.tags?.includes(vscode.DiagnosticTag.Unnecessary)) ? d : undefined;
    });
    assert.match(stale[0].message, /^\(config changed since this run: re-run to refresh\)/);
    assert.equal(stale[0].severity, vscode.DiagnosticSeverity.Hint);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});

describe('CodeLens that stays short and honest', () => {
  it('says the run is stale once the config changed, and drops the old numbers', async () => {
    const lens = await api();
    // A copy: editor.test.ts needs spiral.nn.yaml never run in this window.
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'al-stale-')), 'spiral.nn.yaml');
    fs.copyFileSync(workspaceFile('spiral.nn.yaml').fsPath, copy);
    const doc = await vscode.workspace.openTextDocument(copy);
    const editor = await vscode.window.showTextDocument(doc);
    await lens.runs.run(doc);
    const titles = async () => (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)).map(l => l.command?.title ?? '');
    assert.ok((await titles()).some(t => /^dense_1 \(#0\): dead/.test(t)));
    await editor.edit(b => b.insert(new vscode.Position(0, 0), '# edited\n'));
    const after = await titles();
    assert.ok(after.includes('$(warning) Config changed since the run: re-run'), after.join(' | '));
    assert.ok(!after.some(t => /dead|grad ×/.test(t)), after.join(' | '));
    assert.ok(after.some(t => t.startsWith('dense_1 (#0): [32] · 96 params')), after.join(' | '));   // 2*32 + 32
    await vscode.commands.executeCommand('undo');
    await doc.save();
  });

  it('gives layers imported from a Keras model one lens on the reference line, not all on one cut-off line', async () => {
    await api();
    const file = workspaceFile('imported-moons.nn.yaml');
    fs.writeFileSync(file.fsPath, 'name: imported\ndata: {source: moons}\nmodel:\n  keras: keras-moons-model.json\n');
    try {
      const doc = await vscode.workspace.openTextDocument(file);
      await vscode.window.showTextDocument(doc);
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
      const onRef = lenses.filter(l => l.range.start.line === 3).map(l => l.command?.title ?? '');
      assert.ok(onRef.some(t => /^\d+ imported layers · [\d.e]+ params$/.test(t)), onRef.join(' | '));
      assert.ok(onRef.every(t => t.length <= 60), onRef.join(' | '));
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    } finally { fs.rmSync(file.fsPath, { force: true }); }
  });
});

describe('activation hovers', () => {
  const hoverAt = async (doc: vscode.TextDocument, needle: string) => {
    const at = doc.positionAt(doc.getText().indexOf(needle) + 1);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, at);
    return hovers.flatMap(h => h.contents.map(c => typeof c === 'string' ? c : (c as vscode.MarkdownString).value)).join('\n');
  };
  const svgOf = (md: string) => Buffer.from(/data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/.exec(md)![1], 'base64').toString();

  it('defines every symbol of the formulas, and draws the curve in the colours of a light theme', async () => {
    await api();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-hover-'));
    const file = path.join(dir, 'sig.nn.yaml');
    fs.writeFileSync(file, 'data: {source: spiral}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: sigmoid}\n    - {type: dense, units: 3, activation: softmax}\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const md = await hoverAt(doc, 'sigmoid');
    assert.match(md, /s\(x\)\(1-s\(x\)\)/);
    assert.match(md, /where s = sigmoid\(x\) = 1\/\(1\+e\^-x\)/);
    assert.match(svgOf(md), /font-size="11"/);
    assert.ok(!/fill="#1e1e1e"/.test(svgOf(md)), 'no hard-coded dark background');
    const workbench = vscode.workspace.getConfiguration('workbench');
    const before = workbench.inspect<string>('colorTheme')?.globalValue;
    try {
      await workbench.update('colorTheme', 'Default Light Modern', vscode.ConfigurationTarget.Global);
      await waitFor('a light theme', () => vscode.window.activeColorTheme.kind === vscode.ColorThemeKind.Light);
      assert.match(svgOf(await hoverAt(doc, 'sigmoid')), /stroke="#0063b1"/);
    } finally {
      await workbench.update('colorTheme', before, vscode.ConfigurationTarget.Global);
    }
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
