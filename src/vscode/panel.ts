import * as vscode from 'vscode';
import type { HostToWebview, RunView } from '../protocol';
import { isWebviewToHost } from '../protocol';
import type { RunController, RunRecord } from './runController';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const PANEL_VIEW_TYPE = 'activationLens.panel';

/**
 * The diagnostics panel: one WebviewPanel showing the current run live. It survives a window reload through a
 * serializer (the webview keeps its last view in setState; the host re-sends the record when it has one).
 */
export class DiagnosticsPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private shown?: RunRecord;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly runs: RunController,
    private readonly onRunRequest: () => void) {
    this.subscriptions.push(
      runs.onDidChange(e => {
        if (!this.panel) return;
        if (e.kind === 'state') { this.shown = e.record; this.post({ type: 'state', view: e.record.view }); }
        else if (e.record === this.shown) this.post({ type: 'stats', step: e.step, probes: e.probes, lossCurve: e.lossCurve });
      }),
      vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => { this.attach(panel); },
      }),
    );
  }

  get visible(): boolean { return !!this.panel; }
  get webviewPanel(): vscode.WebviewPanel | undefined { return this.panel; }

  show(): void {
    if (this.panel) { this.panel.reveal(undefined, true); this.sendCurrent(); return; }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'Activation Lens',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { ...webviewOptions(this.extensionUri), retainContextWhenHidden: true });
    this.attach(panel);
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.svg');
    panel.webview.options = webviewOptions(this.extensionUri);
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'panel', 'Activation Lens');
    panel.onDidDispose(() => { this.panel = undefined; }, null, this.subscriptions);
    panel.webview.onDidReceiveMessage(m => {
      if (!isWebviewToHost(m)) return;   // untrusted input: ignore anything malformed
      switch (m.type) {
        case 'ready': this.sendCurrent(); break;
        case 'run': this.onRunRequest(); break;
        case 'stop': this.runs.stop(); break;
        case 'showPanel': break;
      }
    }, null, this.subscriptions);
  }

  private sendCurrent(): void {
    const record = this.runs.current();
    if (!record) return;
    this.shown = record;
    this.post({ type: 'state', view: record.view });
  }

  private post(m: HostToWebview): void { void this.panel?.webview.postMessage(m); }

  /** For tests: the view the panel was last sent. */
  get lastView(): RunView | undefined { return this.shown?.view; }

  dispose(): void { this.panel?.dispose(); for (const d of this.subscriptions) d.dispose(); }
}
