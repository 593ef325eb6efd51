import * as vscode from 'vscode';
import { RunController } from './runController';
import { DiagnosticsPanel } from './panel';
import { SidebarProvider, SIDEBAR_VIEW_ID } from './sidebar';
import { ConfigHoverProvider } from './hover';
import { CONFIG_SELECTOR, isConfigDocument } from './documents';

/** What activate() hands back: the in-host tests read state through it instead of poking at internals. */
export interface ActivationLensApi {
  runs: RunController;
  panel: DiagnosticsPanel;
  activationMs: number;
}

export function activate(context: vscode.ExtensionContext): ActivationLensApi {
  const t0 = performance.now();
  const runs = new RunController(context.extensionUri);
  const runActive = async (uri?: vscode.Uri) => {
    const doc = uri ? await vscode.workspace.openTextDocument(uri) : configDocument();
    if (!doc) {
      void vscode.window.showInformationMessage('Activation Lens: open a network config (*.nn.yaml, *.nn.json) or a Keras model.json first.');
      return undefined;
    }
    panel.show();
    return runs.run(doc);
  };
  const panel = new DiagnosticsPanel(context.extensionUri, runs, () => void runActive());
  const sidebar = new SidebarProvider(context.extensionUri, runs, {
    run: () => void runActive(), stop: () => runs.stop(), showPanel: () => panel.show(),
  });

  context.subscriptions.push(
    runs, panel, sidebar,
    vscode.window.registerWebviewViewProvider(SIDEBAR_VIEW_ID, sidebar),
    vscode.languages.registerHoverProvider(CONFIG_SELECTOR, new ConfigHoverProvider(runs)),
    vscode.commands.registerCommand('activationLens.run', (uri?: vscode.Uri) => runActive(uri)),
    vscode.commands.registerCommand('activationLens.stop', () => runs.stop()),
    vscode.commands.registerCommand('activationLens.showPanel', () => panel.show()),
  );
  return { runs, panel, activationMs: performance.now() - t0 };
}

/** The config to act on: the active editor's, else the last visible config editor's. */
export function configDocument(): vscode.TextDocument | undefined {
  const active = vscode.window.activeTextEditor?.document;
  if (active && isConfigDocument(active)) return active;
  return vscode.window.visibleTextEditors.map(e => e.document).find(isConfigDocument);
}

export function deactivate(): void { /* subscriptions dispose everything, including a running worker */ }
