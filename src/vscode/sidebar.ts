import * as vscode from 'vscode';
import type { HostToWebview, RunView, TbRunsView } from '../protocol';
import { isWebviewToHost } from '../protocol';
import { configView, type RunController } from './runController';
import { isConfigDocument } from './documents';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const SIDEBAR_VIEW_ID = 'activationLens.sidebar';

/**
 * The sidebar view: one config's layers with health badges, Run/Stop, progress, Open Panel. It follows the active
 * config editor (and a run that starts); before a config's first run it lists the layers of the parsed text. With no
 * config to show it says why and offers New Network Config.
 */
export class SidebarProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view?: vscode.WebviewView;
  /** The config the sidebar shows. */
  private focus?: string;
  private readonly subscriptions: vscode.Disposable[] = [];
  private sent?: { view?: RunView; stale?: boolean; empty?: string };

  constructor(private readonly extensionUri: vscode.Uri, private readonly runs: RunController,
    private readonly commands: { run(config?: vscode.Uri): void; stop(): void; showPanel(): void; showTbRun(index: number): void; newConfig(): void },
    initial?: vscode.TextDocument) {
    this.focus = initial?.uri.toString();
    this.subscriptions.push(
      runs.onDidChange(e => {
        if (e.kind === 'state') {
          // A run that starts takes the sidebar: the panel's Run may name a config other than the active editor's.
          if (e.record.view.status === 'running' || e.record.uri === this.focus) { this.focus = e.record.uri; this.send(); }
        } else if (e.kind === 'stats' && e.record.uri === this.focus) this.post({ type: 'stats', step: e.step, probes: e.probes, lossCurve: [] });
      }),
      vscode.window.onDidChangeActiveTextEditor(ed => {
        if (!ed || !isConfigDocument(ed.document) || ed.document.uri.toString() === this.focus) return;
        this.focus = ed.document.uri.toString();
        this.send();
      }),
      // Typing in the shown config: its layers are re-listed before a run, its run marked stale after one.
      vscode.workspace.onDidChangeTextDocument(e => {
        if (e.document.uri.toString() !== this.focus) return;
        const record = this.runs.latest(this.focus);
        // A run's view (its whole timeline) is not re-sent on each keystroke: only its staleness.
        if (record) { if (this.sent?.stale !== this.runs.isStale(record)) this.post({ type: 'stale', stale: this.runs.isStale(record), trials: [] }); }
        else this.send();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => { if (!this.focus) this.send(); }),
      vscode.workspace.onDidCreateFiles(() => { if (!this.focus) this.send(); }),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = webviewOptions(this.extensionUri);
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'sidebar', 'Activation Lens');
    view.onDidDispose(() => { this.view = undefined; }, null, this.subscriptions);
    view.webview.onDidReceiveMessage(m => {
      if (!isWebviewToHost(m)) return;
      switch (m.type) {
        case 'ready': this.send(); break;
        // Run acts on the config the sidebar shows (the host's own record of it, not a URI from the webview).
        case 'run': this.commands.run(this.focus ? vscode.Uri.parse(this.focus) : undefined); break;
        case 'stop': this.commands.stop(); break;
        case 'showPanel': this.commands.showPanel(); break;
        case 'showTbRun': this.commands.showTbRun(m.run); break;
        case 'newConfig': this.commands.newConfig(); break;
        // The panel's own messages: the sidebar shows no findings, suggestions, trials or TensorBoard activations.
        case 'applyFinding': case 'applyRanked': case 'compare': case 'applyTrial': case 'verifyFinding': case 'verifyRanked':
        case 'setTbActivation': break;
        // A message type added to the protocol must be handled (or ignored) here explicitly.
        default: { const unhandled: never = m; void unhandled; }
      }
    }, null, this.subscriptions);
  }

  /** Sends the shown config: its latest run (and whether the text changed since), else its parsed layers, else why there is none. */
  private send(): void {
    if (!this.focus) this.focus = this.runs.current()?.uri;
    const record = this.focus ? this.runs.latest(this.focus) : undefined;
    const doc = this.focus ? vscode.workspace.textDocuments.find(d => d.uri.toString() === this.focus) : undefined;
    if (record) {
      this.post({ type: 'state', view: record.view });
      this.post({ type: 'stale', stale: this.runs.isStale(record), trials: [] });
    } else if (doc) {
      this.post({ type: 'state', view: configView(doc) });
      this.post({ type: 'stale', stale: false, trials: [] });
    } else {
      this.focus = undefined;
      void this.sendEmpty();
    }
  }

  private async sendEmpty(): Promise<void> {
    let message: string;
    if (!vscode.workspace.workspaceFolders?.length) message = 'No folder is open. Create a network config, or open a folder that has one.';
    else {
      const found = await vscode.workspace.findFiles('**/*.nn.{yaml,yml,json}', '**/node_modules/**', 1);
      message = found.length ? 'Open a network config (*.nn.yaml, *.nn.json) to list its layers, or create one.'
        : 'No network config (*.nn.yaml, *.nn.json) in this workspace yet.';
    }
    if (!this.focus) this.post({ type: 'empty', message });   // unless a config became active meanwhile
  }

  /** The runs of the watched TensorBoard log directory. */
  showTbRuns(tb: TbRunsView): void { this.post({ type: 'tbRuns', tb }); }

  private post(m: HostToWebview): void {
    if (!this.view) return;
    if (m.type === 'state') this.sent = { view: m.view };
    else if (m.type === 'stale') this.sent = { ...this.sent, stale: m.stale };
    else if (m.type === 'empty') this.sent = { empty: m.message };
    void this.view.webview.postMessage(m);
  }

  /** For tests: what the sidebar was last sent (the view, whether it is stale, or why it has no config). */
  get lastSent(): { view?: RunView; stale?: boolean; empty?: string } | undefined { return this.sent; }

  dispose(): void { for (const d of this.subscriptions) d.dispose(); }
}
