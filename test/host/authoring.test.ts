import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, EXTENSION_ID, waitFor } from './util';

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
  });
});
