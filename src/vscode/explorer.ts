import * as vscode from 'vscode';
import type { HostToWebview } from '../protocol';
import { isWebviewToHost } from '../protocol';
import { resolveActivation } from '../core/activations';
import type { RunController, RunRecord } from './runController';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const EXPLORER_VIEW_TYPE = 'activationLens.explorer';

/**
 * The Activation Explorer (command "Activation Lens: Open Activation Explorer", and the link in activation hovers):
 * one WebviewPanel that compares every activation of the table, on the pre-activations of a layer of the latest run.
 * It is sent the run record's view when it opens and when a run starts or ends, never the live stats.
 */
export class ActivationExplorer implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private record?: RunRecord;
  private focus?: { activation?: string; layer?: number };
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly runs: RunController) {
    this.subscriptions.push(runs.onDidChange(e => {
      if (!this.panel || e.kind !== 'state' || e.record.view.status === 'running') return;
      this.record = e.record;
      this.post({ type: 'state', view: e.record.view });
    }));
  }

  /**
   * Opens (or reveals) the Explorer. `activation` (a name or alias) is shown first; `config` and `layer` pick that
   * layer of the config's latest run. Arguments come from command links, so each is checked, never trusted.
   */
  open(activation?: unknown, config?: unknown, layer?: unknown): void {
    const name = typeof activation === 'string' ? resolveActivation(activation) : undefined;
    let record = this.runs.current();
    if (typeof config === 'string') {
      try { record = this.runs.latest(vscode.Uri.parse(config, true)) ?? record; } catch { /* not a URI: the latest run */ }
    }
    const index = Number.isInteger(layer) && (layer as number) >= 0 ? layer as number : undefined;
    this.record = record;
    this.focus = { activation: name, layer: index };
    if (this.panel) {
      this.panel.reveal(undefined, false);
      this.sendAll();
      return;
    }
    const panel = vscode.window.createWebviewPanel(EXPLORER_VIEW_TYPE, 'Activation Explorer',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, { ...webviewOptions(this.extensionUri), retainContextWhenHidden: true });
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.svg');
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'explorer', 'Activation Explorer');
    panel.onDidDispose(() => { if (this.panel === panel) this.panel = undefined; }, null, this.subscriptions);
    panel.webview.onDidReceiveMessage(m => { if (isWebviewToHost(m) && m.type === 'ready') this.sendAll(); }, null, this.subscriptions);
  }

  private sendAll(): void {
    if (this.record) this.post({ type: 'state', view: this.record.view });
    if (this.focus) this.post({ type: 'explorerFocus', ...this.focus });
  }

  private post(m: HostToWebview): void { void this.panel?.webview.postMessage(m); }

  get webviewPanel(): vscode.WebviewPanel | undefined { return this.panel; }

  dispose(): void { this.panel?.dispose(); for (const d of this.subscriptions) d.dispose(); }
}
