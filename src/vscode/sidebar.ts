import * as vscode from 'vscode';
import type { HostToWebview, TbRunsView } from '../protocol';
import { isWebviewToHost } from '../protocol';
import type { RunController } from './runController';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const SIDEBAR_VIEW_ID = 'activationLens.sidebar';

/** The sidebar view: the active config's layers with health badges, Run/Stop, progress, Open Panel. */
export class SidebarProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view?: vscode.WebviewView;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly runs: RunController,
    private readonly commands: { run(): void; stop(): void; showPanel(): void; showTbRun(index: number): void }) {
    this.subscriptions.push(runs.onDidChange(e => {
      if (e.kind === 'state') this.post({ type: 'state', view: e.record.view });
      else this.post({ type: 'stats', step: e.step, probes: e.probes, lossCurve: [] });
    }));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = webviewOptions(this.extensionUri);
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'sidebar', 'Activation Lens');
    view.onDidDispose(() => { this.view = undefined; }, null, this.subscriptions);
    view.webview.onDidReceiveMessage(m => {
      if (!isWebviewToHost(m)) return;
      switch (m.type) {
        case 'ready': { const r = this.runs.current(); if (r) this.post({ type: 'state', view: r.view }); break; }
        case 'run': this.commands.run(); break;
        case 'stop': this.commands.stop(); break;
        case 'showPanel': this.commands.showPanel(); break;
        case 'showTbRun': this.commands.showTbRun(m.run); break;
      }
    }, null, this.subscriptions);
  }

  /** The runs of the watched TensorBoard log directory. */
  showTbRuns(tb: TbRunsView): void { this.post({ type: 'tbRuns', tb }); }

  private post(m: HostToWebview): void { void this.view?.webview.postMessage(m); }

  dispose(): void { for (const d of this.subscriptions) d.dispose(); }
}
