import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { formatProblem } from '../model';
import { importKeras, toConfigYaml } from '../config/keras';
import { importOnnx } from '../config/onnx';
import { isKerasZipName, kerasZipConfig } from '../config/kerasZip';
import { RANKING_RULE, RETRY_RULE, compareVerdict, targetLayers } from '../diagnosis/trials';
import { buildReport } from '../report/json';
import { renderHtmlReport } from '../report/html';
import { suggestActivations } from '../diagnosis/suggestions';
import type { CompareView } from '../protocol';
import type { RunController } from './runController';
import { parseDocument, workspaceRootFor } from './documents';
import { readSettings } from './settings';
import { requireTrust } from './trust';
import { startEngineCompare } from '../engine/compare';
import { editorPythonCandidates } from './engine';
import { tell, type ReportStatus } from './feedback';
import { documentHash } from './textHash';

interface ExampleEntry { file: string; title: string; description: string; /** files the example reads (csv, Keras model) */ files?: string[] }

/** "New Network Config": pick a bundled example, write it into the workspace (as a WorkspaceEdit), open it. */
export async function newConfig(extensionUri: vscode.Uri, example?: string, to?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const examplesDir = vscode.Uri.joinPath(extensionUri, 'examples');
  const index = JSON.parse(fs.readFileSync(path.join(examplesDir.fsPath, 'index.json'), 'utf8')) as ExampleEntry[];
  const templates = index.filter(e => /\.nn\.(ya?ml|json)$/.test(e.file));
  const entry = example ? templates.find(e => e.file === example || path.basename(e.file) === example)
    : (await vscode.window.showQuickPick(templates.map(e => ({ label: e.title, detail: e.description, entry: e })),
      { title: 'New Network Config from a template', matchOnDetail: true }))?.entry;
  if (!entry) return undefined;
  const folder = vscode.workspace.workspaceFolders?.[0];
  const defaultUri = folder ? vscode.Uri.joinPath(folder.uri, path.basename(entry.file)) : undefined;
  const target = to ?? await vscode.window.showSaveDialog({ defaultUri, filters: { 'Network config': ['yaml', 'yml', 'json'] }, title: 'Save the new network config' });
  if (!target) return undefined;
  const contents = fs.readFileSync(path.join(examplesDir.fsPath, entry.file));
  await createFile(target, contents);
  // Files the example reads (a csv, an imported Keras model) come along when they are not there yet.
  for (const rel of entry.files ?? []) {
    const src = path.join(path.dirname(path.join(examplesDir.fsPath, entry.file)), rel);
    const dst = vscode.Uri.file(path.join(path.dirname(target.fsPath), rel));
    if (fs.existsSync(src) && !fs.existsSync(dst.fsPath)) await createFile(dst, fs.readFileSync(src));
  }
  // A normal tab: the next template must not replace this one as a preview would.
  await vscode.window.showTextDocument(target, { preview: false });
  await walkthroughDone('createdConfig');
  return target;
}

/**
 * Checks a walkthrough step off once the user has really done it (created a config, finished a run, applied a
 * fix): package.json's completionEvents listen for these context keys.
 */
export async function walkthroughDone(step: 'createdConfig' | 'ranDiagnostics' | 'appliedFix'): Promise<void> {
  await vscode.commands.executeCommand('setContext', `activationLens.walkthrough.${step}`, true);
}

async function createFile(uri: vscode.Uri, contents: Uint8Array): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  edit.createFile(uri, { overwrite: true, contents });
  if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`could not create ${uri.fsPath}`);
}

/** "Create Config from Keras Model": import a model.json and write a *.nn.yaml that refers to it. */
export async function createConfigFromKeras(source?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const uri = source ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Keras / TF.js model': ['json', 'keras'] }, title: 'Keras model JSON, Keras 3 .keras file or TF.js model.json' }))?.[0];
  if (!uri) return undefined;
  let text: string;
  try {
    const bytes = await vscode.workspace.fs.readFile(uri);
    text = isKerasZipName(uri.fsPath) ? kerasZipConfig(bytes) : Buffer.from(bytes).toString('utf8');
  } catch (e) {
    void vscode.window.showErrorMessage(`Activation Lens: ${vscode.workspace.asRelativePath(uri)}: ${(e as Error).message}`);
    return undefined;
  }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) {
    void vscode.window.showErrorMessage(`Activation Lens: ${vscode.workspace.asRelativePath(uri)} is not JSON: ${(e as Error).message}`);
    return undefined;
  }
  const parsed = importKeras(json, text, uri.fsPath);
  if (!parsed.config) {
    const p = parsed.problems.find(x => x.severity === 'error') ?? parsed.problems[0];
    void vscode.window.showErrorMessage(`Activation Lens: ${p ? formatProblem(vscode.workspace.asRelativePath(uri), p) : 'not a Keras model'}`);
    return undefined;
  }
  const base = path.basename(uri.fsPath).replace(/(\.model)?\.(json|keras)$/i, '');
  // Never over an existing file (Undo of an overwrite would delete the user's config): the first free name.
  const target = freshUri(path.dirname(uri.fsPath), base, '.nn.yaml');
  const edit = new vscode.WorkspaceEdit();
  edit.createFile(target, { overwrite: false, ignoreIfExists: false, contents: Buffer.from(toConfigYaml(parsed.config, path.basename(uri.fsPath))) });
  if (!(await vscode.workspace.applyEdit(edit))) {
    void vscode.window.showErrorMessage(`Activation Lens: could not create ${vscode.workspace.asRelativePath(target)}`);
    return undefined;
  }
  await vscode.window.showTextDocument(target);
  return target;
}

/**
 * "Create Config from ONNX Model": import a *.onnx (e.g. torch.onnx.export) and write a *.nn.yaml with its
 * layers written out, beside it. An existing file of that name is replaced only when the user says so.
 */
export async function createConfigFromOnnx(source?: vscode.Uri, target?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const uri = source ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX model': ['onnx'] }, title: 'ONNX model' }))?.[0];
  if (!uri) return undefined;
  const rel = vscode.workspace.asRelativePath(uri);
  let bytes: Uint8Array;
  try {
    const st = await vscode.workspace.fs.stat(uri);
    if (st.size > 512 * 1024 * 1024) throw new Error(`it has ${Math.round(st.size / 2 ** 20)} MB (at most 512 MB)`);
    bytes = await vscode.workspace.fs.readFile(uri);
  } catch (e) {
    void vscode.window.showErrorMessage(`Activation Lens: cannot read ${rel}: ${(e as Error).message}`);
    return undefined;
  }
  const parsed = importOnnx(bytes, uri.fsPath);
  if (!parsed.config) {
    const p = parsed.problems.find(x => x.severity === 'error') ?? parsed.problems[0];
    void vscode.window.showErrorMessage(`Activation Lens: ${p ? formatProblem(rel, p) : 'not an ONNX model'}`);
    return undefined;
  }
  const dest = target ?? vscode.Uri.file(path.join(path.dirname(uri.fsPath), `${path.basename(uri.fsPath).replace(/\.onnx$/i, '')}.nn.yaml`));
  if (fs.existsSync(dest.fsPath)) {
    const choice = await vscode.window.showWarningMessage(`${vscode.workspace.asRelativePath(dest)} already exists. Replace it with the config imported from ${rel}?`, { modal: true }, 'Replace');
    if (choice !== 'Replace') return undefined;
  }
  const rel2 = path.relative(path.dirname(dest.fsPath), uri.fsPath).split(path.sep).join('/');
  await createFile(dest, Buffer.from(toConfigYaml(parsed.config, path.basename(uri.fsPath), { weights: rel2 })));
  await vscode.window.showTextDocument(dest);
  return dest;
}

/** dir/base.ext, else dir/base-2.ext, base-3.ext, ...: the first name that neither a file nor an open editor has. */
function freshUri(dir: string, base: string, ext: string): vscode.Uri {
  const open = new Set(vscode.workspace.textDocuments.map(d => d.uri.fsPath));
  for (let i = 1; ; i++) {
    const file = path.join(dir, `${base}${i === 1 ? '' : `-${i}`}${ext}`);
    if (!open.has(file) && !fs.existsSync(file)) return vscode.Uri.file(file);
  }
}

/** "Export HTML Report": the latest run of the active config as one self-contained HTML file. */
export async function exportHtml(runs: RunController, doc: vscode.TextDocument | undefined, target?: vscode.Uri, status?: ReportStatus): Promise<vscode.Uri | undefined> {
  const record = doc ? runs.latest(doc.uri) : runs.current();
  if (!record?.result) {
    tell('refusal', 'run diagnostics first; the report shows the latest run.');
    return undefined;
  }
  const dest = target ?? await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.file(record.view.configPath.replace(/\.(nn\.)?(ya?ml|json)$/i, '') + '.report.html'),
    filters: { HTML: ['html'] }, title: 'Export the diagnostics report' });
  if (!dest) return undefined;
  const report = buildReport({
    configPath: vscode.workspace.asRelativePath(record.view.configPath), config: record.config, result: record.result,
    findings: record.findings, suggestions: record.view.suggestions ?? suggestActivations(record.config, record.findings),
  });
  await vscode.workspace.fs.writeFile(dest, Buffer.from(renderHtmlReport(report)));
  // Reachable after the news: a status bar item opens the report until the next one replaces it.
  status?.written(dest);
  if (!target) tell('info', `report written to ${vscode.workspace.asRelativePath(dest)}; open it from the status bar (bottom left).`);
  return dest;
}

/** The comparison in progress: one at a time (each loads the data and takes two cores). */
let comparing: { layerName: string; configName: string } | undefined;

/**
 * "Compare Activations for Layer...": short trials of each candidate from the same seed and data. The memory check,
 * the data and the trials all run in a worker (src/worker/compareWorker.ts), never on the extension host thread.
 */
export async function compareLayer(extensionUri: vscode.Uri, runs: RunController, doc: vscode.TextDocument | undefined,
  layerArg: number | 'all' | undefined): Promise<CompareView | undefined> {
  if (comparing) {
    tell('refusal', `a comparison (${comparing.layerName} of ${comparing.configName}) is running; wait for it or cancel it first.`);
    return undefined;
  }
  if (!requireTrust('compare')) return undefined;
  if (!doc) { tell('refusal', 'open a network config first.'); return undefined; }
  const { config, problems } = parseDocument(doc);
  if (!config) {
    tell('error', formatProblem(vscode.workspace.asRelativePath(doc.uri), problems[0]));
    return undefined;
  }
  const claim = { layerName: '', configName: path.basename(doc.uri.fsPath) };
  comparing = claim;   // before the first await: a second Compare in the same tick sees it
  try {
    let target: number | 'all';
    if (layerArg !== undefined) target = layerArg;
    else {
      const items = [
        { label: 'All hidden layers', layer: 'all' as const },
        ...config.model.layers.filter(l => 'activation' in l).map(l => ({ label: l.name, description: `${l.type} · ${'activation' in l ? l.activation.name : ''}`, layer: l.index })),
      ];
      const pick = await vscode.window.showQuickPick(items, { title: 'Compare activations for which layer?' });
      if (!pick) return undefined;
      target = pick.layer;
    }
    const layerName = target === 'all' ? 'all hidden layers' : config.model.layers[target]?.name ?? String(target);
    claim.layerName = layerName;
    let layers: number[];
    try { layers = targetLayers(config, target); } catch (e) { tell('refusal', (e as Error).message); return undefined; }
    const view: CompareView = { layer: target, layerName, status: 'running', results: [], uri: doc.uri.toString(), textHash: documentHash(doc),
      layers, configLr: config.train.lr, rule: RANKING_RULE, retryRule: RETRY_RULE };
    runs.setCompare(view);
    const settings = readSettings(doc.uri);
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, cancellable: true,
      title: `Activation Lens: comparing activations for ${layerName}` }, async (progress, token) => {
      const job = startEngineCompare({
        config, baseDir: path.dirname(doc.uri.fsPath), workspaceRoot: workspaceRootFor(doc.uri), layer: target,
        memoryLimitMB: settings.memoryLimitMB, workerPath: vscode.Uri.joinPath(extensionUri, 'dist', 'compareWorker.js').fsPath,
        engine: settings.engine, pythonCandidates: () => editorPythonCandidates(doc.uri, settings.pythonPath),
        onEngine: why => { view.engine = why; runs.setCompare(view); },
      }, r => progress.report({ increment: 100 / 8, message: `${r.activation}${r.trial?.lr !== undefined && r.trial.lr !== config.train.lr ? ` at lr ${r.trial.lr}` : ''}` }));
      token.onCancellationRequested(() => job.cancel());
      const outcome = await job.outcome;
      view.status = outcome.status;
      view.results = outcome.results;
      view.message = outcome.message;
    });
    if (view.status === 'done') {
      // A winner only beyond noise; otherwise the message says the current activation stays.
      const cur = config.model.layers[layers[0]];
      view.verdict = compareVerdict(view.results, cur && 'activation' in cur ? cur.activation.name : undefined, layerName).message;
    }
    runs.setCompare(view);
    // The panel shows both in its trials box; the status bar says them too, a notification only when the panel is hidden.
    if (view.status === 'error') tell('error', `compare ${layerName}: ${view.message}`, { panelShowsIt: true });
    if (view.verdict) tell('info', view.verdict, { panelShowsIt: true });
    return view;
  } finally {
    if (comparing === claim) comparing = undefined;
  }
}
