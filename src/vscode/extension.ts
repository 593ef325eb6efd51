import * as vscode from 'vscode';
import { RunController, mark, trialRowRefusal, type RunRecord } from './runController';
import { documentHash } from './textHash';
import { DiagnosticsPanel } from './panel';
import { SidebarProvider, SIDEBAR_VIEW_ID } from './sidebar';
import { ConfigHoverProvider } from './hover';
import { ProblemsReporter } from './problems';
import { QuickFixProvider, suggestionWorkspaceEdit } from './quickFixes';
import { LayerCodeLensProvider } from './codeLens';
import { compareLayer, createConfigFromKeras, createConfigFromOnnx, exportHtml, newConfig, walkthroughDone } from './commands';
import { CONFIG_SELECTOR, isConfigDocument } from './documents';
import { TensorBoardSession } from './tensorboard';
import { COMPLETION_SELECTOR, ConfigCompletionProvider } from './completions';
import type { Suggestion } from '../diagnosis/types';
import { requireTrust } from './trust';
import type { Finding } from '../diagnosis/types';
import type { CompareView } from '../protocol';
import { verifySuggestionInEditor } from './verify';
import { RunOnSave } from './runOnSave';
import { ActivationExplorer } from './explorer';
import { ReportStatus, noticesGoTo, tell, told } from './feedback';
import type { PanelNotice } from '../protocol';

/** What activate() hands back: the in-host tests read state through it instead of poking at internals. */
export interface ActivationLensApi {
  runs: RunController;
  panel: DiagnosticsPanel;
  sidebar: SidebarProvider;
  problems: ProblemsReporter;
  tensorboard: TensorBoardSession;
  explorer: ActivationExplorer;
  report: ReportStatus;
  /** What tell() said lately (refusals, errors, news), oldest first. */
  told: readonly PanelNotice[];
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): ActivationLensApi {
  const t0 = performance.now();
  const runs = new RunController(context.extensionUri);
  const runActive = async (uri?: vscode.Uri) => {
    const requestedAt = Date.now();
    const doc = uri ? await vscode.workspace.openTextDocument(uri) : configDocument();
    if (!doc) {
      tell('refusal', 'open a network config (*.nn.yaml, *.nn.json) or a Keras model.json first.');
      return undefined;
    }
    // The panel comes to the front only once the run starts: a refused run (a config with errors, another run in
    // progress, Restricted Mode) must not bring up the panel of another config.
    const started = runs.onDidChange(e => {
      if (e.kind === 'state' && e.record.uri === doc.uri.toString() && e.record.view.status === 'running') { started.dispose(); mark(e.record, 'panel'); panel.show(); }
    });
    const record = await runs.run(doc, { requestedAt }).finally(() => started.dispose());
    if (record?.view.status === 'done') await walkthroughDone('ranDiagnostics');
    return record;
  };
  const compare = async (layer?: number | 'all', uri?: vscode.Uri) =>
    compareLayer(context.extensionUri, runs, uri ? await vscode.workspace.openTextDocument(uri) : configDocument(), layer);
  const apply = async (record: RunRecord, layers: number[], s: Suggestion) => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(record.uri));
    if (documentHash(doc) !== record.textHash) {
      tell('refusal', 'the config changed since this run; run diagnostics again before applying its suggestions.');
      return false;
    }
    const edit = suggestionWorkspaceEdit(doc, layers, s);
    if (typeof edit === 'string') { tell('refusal', `cannot apply: ${edit}`); return false; }
    const applied = await vscode.workspace.applyEdit(edit);
    if (applied) await walkthroughDone('appliedFix');
    return applied;
  };
  // A compare row: activation + init on the compared layers, and the learning rate a fair trial found (global).
  const applyTrial = async (c: CompareView, rank: number) => {
    const r = c.results[rank];
    if (!c.uri || !c.layers || !r) return false;
    // The page offers Apply only on a finished comparison's usable rows; the host does not take its word for it.
    const refusal = trialRowRefusal(c, rank);
    if (refusal) { tell('refusal', refusal); return false; }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(c.uri));
    if (documentHash(doc) !== c.textHash) {
      tell('refusal', 'the config changed since these trials; compare again before applying a row.');
      return false;
    }
    const edit = suggestionWorkspaceEdit(doc, c.layers, { activation: r.activation, init: r.init, lr: r.lr, reason: r.reason });
    if (typeof edit === 'string') { tell('refusal', `cannot apply: ${edit}`); return false; }
    return vscode.workspace.applyEdit(edit);
  };
  // Verify trains (reads the config's data files), so it needs a trusted workspace like Run.
  const verify = (record: RunRecord, layers: number[], s: Suggestion, finding?: Finding) => requireTrust('run')
    && verifySuggestionInEditor({ record, layers, suggestion: s, finding, extensionUri: context.extensionUri, show: v => runs.setVerification(record, v) });
  const panel = new DiagnosticsPanel(context.extensionUri, runs, context.workspaceState, {
    run: uri => void runActive(uri), compare: (l, uri) => void compare(l, uri), apply: (r, l, s) => void apply(r, l, s),
    applyTrial: (c, rank) => void applyTrial(c, rank), verify: (r, l, s, f) => void verify(r, l, s, f),
    setTbActivation: (l, a) => tensorboard.setActivation(l, a),
  });
  const tensorboard = new TensorBoardSession(context.extensionUri);
  const sidebar = new SidebarProvider(context.extensionUri, runs, {
    run: uri => void runActive(uri), stop: () => runs.stop(), showPanel: () => panel.show(), showTbRun: i => tensorboard.show(i),
    newConfig: () => void vscode.commands.executeCommand('activationLens.newConfig'),
  }, configDocument());
  tensorboard.onDidUpdate(({ view, list }) => { if (view) panel.showView(view); sidebar.showTbRuns(list); });
  // A config in view: the training worker starts now, on its own thread, so Run does not wait for it.
  const prewarm = (doc?: vscode.TextDocument) => { if (doc && isConfigDocument(doc)) runs.prewarm(doc); };
  prewarm(configDocument());
  const problems = new ProblemsReporter(runs);
  const explorer = new ActivationExplorer(context.extensionUri, runs);
  const report = new ReportStatus();

  context.subscriptions.push(
    runs, panel, sidebar, problems, tensorboard, new RunOnSave(runs), report, noticesGoTo(panel),
    vscode.window.registerWebviewViewProvider(SIDEBAR_VIEW_ID, sidebar),
    vscode.languages.registerHoverProvider(CONFIG_SELECTOR, new ConfigHoverProvider(runs)),
    vscode.languages.registerCodeActionsProvider(CONFIG_SELECTOR, new QuickFixProvider(runs), { providedCodeActionKinds: QuickFixProvider.kinds }),
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, new LayerCodeLensProvider(runs)),
    vscode.languages.registerCompletionItemProvider(COMPLETION_SELECTOR, new ConfigCompletionProvider(), ...ConfigCompletionProvider.triggers),
    vscode.commands.registerCommand('activationLens.run', (uri?: vscode.Uri) => runActive(uri instanceof vscode.Uri ? uri : undefined)),
    vscode.commands.registerCommand('activationLens.stop', () => runs.stop()),
    vscode.commands.registerCommand('activationLens.showPanel', () => panel.show()),
    explorer,
    vscode.commands.registerCommand('activationLens.openExplorer', (activation?: unknown, config?: unknown, layer?: unknown) => explorer.open(activation, config, layer)),
    vscode.commands.registerCommand('activationLens.compare', (layer?: number | 'all', uri?: vscode.Uri) =>
      compare(layer === 'all' || (Number.isInteger(layer) && (layer as number) >= 0) ? layer : undefined, uri instanceof vscode.Uri ? uri : undefined)),
    vscode.commands.registerCommand('activationLens.exportHtml', (target?: vscode.Uri) => exportHtml(runs, configDocument(), target instanceof vscode.Uri ? target : undefined, report)),
    vscode.commands.registerCommand('activationLens.newConfig', (example?: string, to?: vscode.Uri) =>
      newConfig(context.extensionUri, typeof example === 'string' ? example : undefined, to instanceof vscode.Uri ? to : undefined)),
    vscode.commands.registerCommand('activationLens.importKeras', (uri?: vscode.Uri) => createConfigFromKeras(uri instanceof vscode.Uri ? uri : undefined)),
    vscode.commands.registerCommand('activationLens.importOnnx', (uri?: vscode.Uri, to?: vscode.Uri) =>
      createConfigFromOnnx(uri instanceof vscode.Uri ? uri : undefined, to instanceof vscode.Uri ? to : undefined)),
    vscode.commands.registerCommand('activationLens.diagnoseTensorBoard', (dir?: vscode.Uri) =>
      requireTrust('tensorboard') ? tensorboard.pickAndWatch(dir instanceof vscode.Uri ? dir : undefined) : false),
    // Trust granted while the window is open: the linter may now read the CSVs it skipped.
    vscode.workspace.onDidGrantWorkspaceTrust(() => { problems.refreshAll(); prewarm(configDocument()); }),
    vscode.window.onDidChangeActiveTextEditor(ed => prewarm(ed?.document)),
    vscode.commands.registerCommand('activationLens.fixApplied', () => walkthroughDone('appliedFix')),
    vscode.commands.registerCommand('activationLens.staleFix', () => tell('refusal',
      'the config changed since the run that made this finding; run diagnostics again to refresh it.')),
  );
  return { runs, panel, sidebar, problems, tensorboard, explorer, report, told, activationMs: performance.now() - t0 };
}

/** The config to act on: the active editor's, else the last visible config editor's. */
export function configDocument(): vscode.TextDocument | undefined {
  const active = vscode.window.activeTextEditor?.document;
  if (active && isConfigDocument(active)) return active;
  return vscode.window.visibleTextEditors.map(e => e.document).find(isConfigDocument);
}

export function deactivate(): void { /* subscriptions dispose everything, including a running worker */ }
