import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseConfigText } from '../../src/config';
import { formatNumber } from '../../src/format';
import { api, hoverText, openConfig, plainHover, positionOf, waitFor, workspaceFile } from './util';

const ours = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter(d => d.source === 'Activation Lens');
const tmpUri = (name: string) => vscode.Uri.file(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'al-host-')), name));

async function replaceAll(doc: vscode.TextDocument, from: string, to: string): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  const text = doc.getText();
  for (let i = text.indexOf(from); i >= 0; i = text.indexOf(from, i + 1)) {
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(i), doc.positionAt(i + from.length)), to);
  }
  assert.ok(await vscode.workspace.applyEdit(edit));
}

/** Puts the document back to the fixture's text and saves it (the tests leave no edits behind for the next one).
 *  The fixture in test/workspace, not the file on disk: anything that saved an edit midway must not become the text. */
async function revert(editor: vscode.TextEditor): Promise<void> {
  const doc = editor.document;
  const original = fs.readFileSync(path.join(__dirname, '../../../test/workspace', path.basename(doc.uri.fsPath)), 'utf8');
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), original);
  assert.ok(await vscode.workspace.applyEdit(edit));
  assert.equal(doc.getText(), original);
  assert.ok(await doc.save(), 'saved');
}

describe('editor surfaces on real documents', () => {
  before(async () => {
    const lens = await api();
    console.log(`measured: extension activation took ${lens.activationMs.toFixed(1)} ms`);
  });

  it('shows static findings in Problems as the user types, at the exact range', async () => {
    const editor = await openConfig('deep-lecun.nn.yaml');
    const doc = editor.document;
    const diags = await waitFor('init-mismatch', () => { const d = ours(doc.uri).filter(x => x.code === 'init-mismatch'); return d.length ? d : undefined; });
    assert.equal(doc.getText(diags[0].range), 'lecun_normal');
    await replaceAll(doc, 'lecun_normal', 'he_normal');
    await waitFor('the finding to go away', () => !ours(doc.uri).some(x => x.code === 'init-mismatch'));
    // A bad value gets an error at that value, with the layer named.
    await replaceAll(doc, 'units: 1\n', 'units: -1\n');
    const bad = await waitFor('the units error', () => ours(doc.uri).find(x => x.severity === vscode.DiagnosticSeverity.Error && /"units" must be >= 1/.test(x.message)));
    assert.equal(doc.getText(bad.range), '-1');
    await revert(editor);
  });

  it('quick fix applies the suggested initializer as an undoable edit touching only that value', async () => {
    const editor = await openConfig('deep-lecun.nn.yaml');
    const doc = editor.document;
    const before = doc.getText();
    const diag = await waitFor('init-mismatch', () => ours(doc.uri).find(x => x.code === 'init-mismatch'));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, diag.range);
    const fix = actions.find(a => a.title.includes('he_normal') && a.edit);
    assert.ok(fix, `actions: ${actions.map(a => a.title).join(' | ')}`);
    assert.ok(await vscode.workspace.applyEdit(fix.edit!));
    const after = doc.getText();
    const changed = before.split('\n').map((l, i) => [l, after.split('\n')[i]]).filter(([a, b]) => a !== b);
    // The finding is about the stack of five relu layers: the fix sets each one's init, and nothing else.
    assert.equal(changed.length, 5);
    for (const [was, now] of changed) assert.equal(now, was.replace('lecun_normal', 'he_normal'));
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), before);
    await revert(editor);
  });

  it('hovers on an initializer and on a layer', async () => {
    const editor = await openConfig('spiral.nn.yaml');
    const doc = editor.document;
    const init = plainHover(hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, positionOf(doc, 'he_normal'))));
    assert.match(init, /Var\(w\) = 2 ?\/ ?fan_in/);
    const layer = plainHover(hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, positionOf(doc, 'units: 32'))));
    assert.match(layer, /dense_1.*dense/);
    assert.match(layer, /\[32\]/);
    assert.match(layer, /96 parameters/);   // 2 inputs * 32 + 32 biases
  });

  it('CodeLens shows each layer before a run and its numbers after', async () => {
    const lens = await api();
    const editor = await openConfig('spiral.nn.yaml');
    const doc = editor.document;
    const titlesNow = async () => (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)).map(l => l.command?.title ?? '');
    assert.equal(lens.runs.latest(doc.uri), undefined, 'precondition: spiral.nn.yaml has not been run in this window');
    // Before a run: each layer's output shape and parameter count (hand-computed: 2 inputs -> 32 -> 32 -> 3).
    assert.deepEqual(await titlesNow(), ['$(play) Run diagnostics', 'dense_1 (#0): [32] · 96 params', 'dense_2 (#1): [32] · 1056 params', 'dense_3 (#2): [3] · 99 params']);
    await vscode.commands.executeCommand('activationLens.run', doc.uri);
    const titles = await titlesNow();
    assert.equal(titles[0], '$(play) Re-run diagnostics');
    const last = lens.runs.latest(doc.uri)!.view.timeline.at(-1)!;
    assert.equal(last.step, 300, 'the last probe is at the last step');
    // After: each layer's own numbers from the run's last probe (output layer 2 is the gradient reference).
    const out = last.layers[2].gradRms;
    // relu (dense_1) has a dead fraction and no saturation; tanh (dense_2) saturates and cannot be dead.
    const [relu, tanh] = last.layers;
    assert.equal(titles[1], `dense_1 (#0): dead ${formatNumber(100 * relu.deadFraction!, 2)}% · grad ×${formatNumber(relu.gradRms / out, 2)} of output`);
    assert.equal(titles[2], `dense_2 (#1): sat ${formatNumber(100 * tanh.saturatedFraction!, 2)}% · grad ×${formatNumber(tanh.gradRms / out, 2)} of output`);
    // The activation hover now carries the layer's latest numbers too.
    const hover = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, positionOf(doc, 'relu', 'activation:')));
    assert.match(plainHover(hover), new RegExp(`Latest run\\*\\* \\(step ${last.step}\\): dead \\d`));
    // The layer's numbers come before the textbook table.
    assert.ok(hover.indexOf('Latest run') < hover.indexOf('| f(x) |'), hover);
  });

  it('run findings appear in Problems with quick fixes, refused once the document changed', async () => {
    const editor = await openConfig('dying.nn.yaml');
    const doc = editor.document;
    await vscode.commands.executeCommand('activationLens.run', doc.uri);
    const dead = await waitFor('dead-units', () => ours(doc.uri).find(x => x.code === 'dead-units'));
    assert.equal(doc.getText(dead.range), 'relu');
    let actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, dead.range);
    const lower = actions.find(a => /lr: 0\.\d/.test(a.title));
    assert.ok(lower?.edit, `actions: ${actions.map(a => a.title).join(' | ')}`);
    await replaceAll(doc, 'samples: 1200', 'samples: 1300');
    actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, dead.range);
    const stale = actions.find(a => /lr: 0\.\d/.test(a.title));
    assert.ok(stale && !stale.edit && stale.command?.command === 'activationLens.staleFix', 'refused after the text changed');
    await revert(editor);
  });

  it('Stop cancels a running run early and keeps what it measured', async () => {
    const lens = await api();
    const editor = await openConfig('long.nn.yaml');
    const running = vscode.commands.executeCommand<{ view: { status: string; step: number; totalSteps: number; timeline: { step: number }[] } }>('activationLens.run', editor.document.uri);
    await waitFor('the first probes', () => (lens.runs.running?.view.timeline.length ?? 0) >= 2);
    const t0 = Date.now();
    await vscode.commands.executeCommand('activationLens.stop');
    const record = await running;
    // Printed, not asserted: wall time on a shared machine measures the neighbours (bench/worker.ts holds the promise).
    console.log(`measured: stop to cancelled: ${Date.now() - t0} ms`);
    assert.equal(record.view.status, 'cancelled');
    assert.ok(record.view.step < record.view.totalSteps, `stopped at step ${record.view.step} of ${record.view.totalSteps}`);
    assert.ok(record.view.timeline.length >= 2);
    assert.ok(record.view.timeline.every(p => p.step <= record.view.step), 'every probe kept is from before the stop');
    assert.equal(lens.runs.running, undefined);
  });

  it('Compare Activations ranks the candidates by validation loss with a loss curve each and sends them to the panel', async () => {
    const lens = await api();
    await openConfig('spiral.nn.yaml');
    await vscode.commands.executeCommand('activationLens.showPanel');
    const webview = (await waitFor('the panel', () => lens.panel.webviewPanel)).webview;
    const posted: { type: string; compare?: { status: string; results: { activation: string }[] } }[] = [];
    const post = webview.postMessage.bind(webview);
    // A copy at the time of posting: the command posts the same view object again once it is filled in.
    webview.postMessage = (m: (typeof posted)[number]) => { posted.push(JSON.parse(JSON.stringify(m))); return post(m); };
    let view;
    try {
      view = await vscode.commands.executeCommand<{ status: string; results: { activation: string; trial?: { valLoss: number; lossCurve: number[]; diverged?: boolean } }[] }>('activationLens.compare', 0);
    } finally { webview.postMessage = post; }
    assert.equal(view.status, 'done');
    // SPEC §5: relu, leaky_relu, elu, gelu, swish, tanh, selu, plus the current one (relu, already among them).
    assert.deepEqual(view.results.map(r => r.activation).sort(), ['elu', 'gelu', 'leaky_relu', 'relu', 'selu', 'swish', 'tanh']);
    // Ranked by validation loss; near-ties (within 2 % of their group's best) may be ordered by health instead, and
    // diverged trials come last (SPEC §5, RANKING_RULE in trials.ts). None of these candidates diverges on spiral.
    assert.deepEqual(view.results.filter(r => r.trial?.diverged || !Number.isFinite(r.trial?.valLoss)).map(r => r.activation), []);
    const losses = view.results.map(r => r.trial!.valLoss);
    for (let i = 1; i < losses.length; i++) assert.ok(losses[i - 1] <= losses[i] * 1.02, `rank ${i}: ${losses[i - 1]} before ${losses[i]} (${losses.join(', ')})`);
    assert.ok(losses[0] <= Math.min(...losses) * 1.02, `first ${losses[0]} vs best ${Math.min(...losses)}`);
    assert.ok(view.results.every(r => (r.trial?.lossCurve.length ?? 0) > 10));
    // The panel was sent the finished ranking, in the same order.
    const shown = posted.filter(m => m.type === 'compare').at(-1);
    assert.equal(shown?.compare?.status, 'done', `messages to the panel: ${posted.map(m => m.type).join(', ')}`);
    assert.deepEqual(shown!.compare!.results.map(r => r.activation), view.results.map(r => r.activation));
  });

  it('New Network Config writes a template and the data it reads; Create Config from Keras Model imports', async () => {
    const target = tmpUri('pump.nn.yaml');
    await vscode.commands.executeCommand('activationLens.newConfig', 'csv-pump-failure.nn.yaml', target);
    const text = fs.readFileSync(target.fsPath, 'utf8');
    assert.match(text, /source: csv/);
    assert.ok(fs.existsSync(path.join(path.dirname(target.fsPath), 'data/pump-sensors.csv')), 'the csv came along');
    assert.ok(parseConfigText(text, target.fsPath).config, 'the new config parses');

    const created = await vscode.commands.executeCommand<vscode.Uri>('activationLens.importKeras', workspaceFile('keras-moons-model.json'));
    const yaml = fs.readFileSync(created.fsPath, 'utf8');
    const parsed = parseConfigText(yaml, created.fsPath);
    assert.deepEqual(parsed.problems.filter(p => p.severity === 'error'), []);
    assert.ok(parsed.config!.model.layers.length >= 2);
    fs.rmSync(created.fsPath);
  });

  it('Create Config from ONNX Model writes the layers out; the new config has hovers and a CodeLens per layer', async () => {
    // mnist-cnn.onnx is corpus file 05 (torch.onnx.export of a Conv/Conv/Gemm/Gemm MNIST net, 3,047 parameters).
    const target = tmpUri('mnist-cnn.nn.yaml');
    const created = await vscode.commands.executeCommand<vscode.Uri>('activationLens.importOnnx', workspaceFile('mnist-cnn.onnx'), target);
    assert.equal(created.fsPath, target.fsPath);
    const doc = await vscode.workspace.openTextDocument(created);
    assert.match(doc.getText(), /^# Imported from the ONNX model mnist-cnn\.onnx/);
    const parsed = parseConfigText(doc.getText(), created.fsPath);
    assert.deepEqual(parsed.problems.filter(p => p.severity === 'error'), []);
    assert.deepEqual(parsed.config!.model.layers.map(l => l.type), ['conv2d', 'conv2d', 'flatten', 'dense', 'dense']);
    assert.ok(parsed.config!.model.weights?.endsWith('mnist-cnn.onnx'), 'model.weights names the model, for init: from-model');
    const hover = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, positionOf(doc, 'relu', 'activation:')));
    assert.match(hover, /relu/i);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const titles = lenses.map(l => l.command?.title ?? '');
    for (const name of ['conv2d_1', 'conv2d_2', 'dense_1', 'dense_2']) assert.ok(titles.some(t => t.startsWith(`${name} (#`)), titles.join(' | '));
    fs.rmSync(created.fsPath);
  });

  it('hover on a layer\'s init: from-model names the file its weights come from and the layer they match', async () => {
    const uri = tmpUri('per-layer.nn.yaml');
    fs.writeFileSync(uri.fsPath, 'model:\n  weights: mnist-cnn.onnx\n  input: [28, 28, 1]\n  layers:\n    - {type: conv2d, name: conv2d_1, filters: 2, kernel: 3, activation: relu, init: from-model}\n    - {type: flatten}\n    - {type: dense, units: 10, activation: softmax, init: glorot_uniform}\n');
    const doc = await vscode.workspace.openTextDocument(uri);
    const at = async (needle: string) => plainHover(hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, positionOf(doc, needle))));
    assert.match(await at('from-model'), /from-model\*\* — this layer starts from the weights of mnist-cnn\.onnx, matched by the layer name \*\*conv2d_1\*\*/);
    assert.match(await at('glorot_uniform'), /initializer/);
    fs.rmSync(path.dirname(uri.fsPath), { recursive: true });
  });

  it('a layer whose shape differs from its model weights is an error in Problems at its init: as the user types, gone once it matches', async () => {
    const uri = tmpUri('shape.nn.yaml');
    fs.copyFileSync(workspaceFile('mnist-cnn.onnx').fsPath, path.join(path.dirname(uri.fsPath), 'mnist-cnn.onnx'));
    // mnist-cnn's conv2d_1 is 2 filters of 5x5 over 1 channel: ONNX W [2, 1, 5, 5], the core's HWIO [5, 5, 1, 2].
    fs.writeFileSync(uri.fsPath, 'model:\n  weights: mnist-cnn.onnx\n  input: [28, 28, 1]\n  layers:\n    - {type: conv2d, name: conv2d_1, filters: 2, kernel: 3, activation: relu, init: from-model}\n    - {type: flatten}\n    - {type: dense, units: 10, activation: softmax}\n');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const shape = (x: vscode.Diagnostic) => /^layer "conv2d_1": the model's kernel is \[5, 5, 1, 2\] \(Conv W \[2, 1, 5, 5\] \(OIHW\)\) but this conv2d layer needs \[3, 3, 1, 2\]/.test(x.message);
    const d = await waitFor('the shape error', () => ours(doc.uri).find(shape));
    assert.equal(d.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(doc.getText(d.range), 'from-model');
    await replaceAll(doc, 'kernel: 3', 'kernel: 5');
    await waitFor('the shape error to go away', () => !ours(doc.uri).some(x => x.severity === vscode.DiagnosticSeverity.Error));
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    fs.rmSync(path.dirname(uri.fsPath), { recursive: true });
  });

  it('an ONNX model with init: from-model runs in the worker; the panel says it trains on synthetic data; a missing weights file is an error', async () => {
    const lens = await api();
    const uri = workspaceFile('onnx-from-model.nn.yaml');
    await vscode.commands.executeCommand('activationLens.run', uri);
    const view = lens.runs.latest(uri)!.view;
    assert.equal(view.status, 'done', view.message);
    assert.match(view.dataNote ?? '', /synthetic data .* not about what it learns/);
    const broken = vscode.Uri.file(path.join(path.dirname(uri.fsPath), 'onnx-missing-weights.nn.yaml'));
    fs.writeFileSync(broken.fsPath, fs.readFileSync(uri.fsPath, 'utf8').replace('init: from-model', 'init: from-model\n  weights: gone.onnx'));
    try {
      await vscode.commands.executeCommand('activationLens.run', broken);
      const bad = lens.runs.latest(broken)!.view;
      assert.equal(bad.status, 'error');
      assert.match(bad.message ?? '', /cannot read gone\.onnx: no such file/);
    } finally {
      fs.rmSync(broken.fsPath);
    }
  });

  it('Export HTML Report writes one self-contained file with the report data and chart script', async () => {
    await openConfig('spiral.nn.yaml');
    const target = tmpUri('report.html');
    await vscode.commands.executeCommand('activationLens.exportHtml', target);
    const html = fs.readFileSync(target.fsPath, 'utf8');
    assert.match(html, /id="report-data"/);
    assert.match(html, /activation-lens\/report@1/);
    assert.ok(html.length > 100_000, 'chart.js is inlined');
    assert.ok(!/(src|href)=["']https?:/.test(html));
  });
});
