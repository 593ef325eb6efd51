import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api } from './util';

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
