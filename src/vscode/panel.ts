import * as vscode from 'vscode';
import type { CompareView, HostToWebview, PanelNotice, RunView, VerificationView } from '../protocol';
import type { Finding, Suggestion } from '../diagnosis/types';
import { isWebviewToHost } from '../protocol';
import { configView, type RunController, type RunRecord } from './runController';
import { tell } from './feedback';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const PANEL_VIEW_TYPE = 'activationLens.panel';

/**
 * The diagnostics panel: one WebviewPanel showing the current run live. It survives a window reload through a
 * serializer (the webview keeps its last view in setState; the host re-sends the record when it has one). The web
 * workbench (code-server) saves its editor layout only as the page unloads, which a busy machine can lose; the panel
 * then reopens itself from workspaceState, which is written when it opens and closes.
 */
export class DiagnosticsPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private shown?: RunRecord;
  private readonly subscriptions: vscode.Disposable[] = [];

  /** The last view shown, kept in workspaceState too: a reload restarts the extension host, and the webview's own
   *  setState is not always flushed before the window goes away. */
  private static readonly STATE_KEY = 'activationLens.panelView';
  /** Whether the panel was open: true from show() until the user closes it (not when the window goes away). */
  private static readonly OPEN_KEY = 'activationLens.panelOpen';
  private disposed = false;

  constructor(private readonly extensionUri: vscode.Uri, private readonly runs: RunController, private readonly memento: vscode.Memento,
    private readonly actions: { run(config?: vscode.Uri): void; compare(layer: number | 'all', config?: vscode.Uri): void; apply(record: RunRecord, layers: number[], s: Suggestion): void;
      setTbActivation?(layer: string, activation: string): void;
      applyTrial?(compare: CompareView, rank: number): void; verify?(record: RunRecord, layers: number[], s: Suggestion, finding?: Finding): void }) {
    this.subscriptions.push(
      runs.onDidChange(e => {
        // Trials open the panel; runs only update a panel that is open.
        if (e.kind === 'compare') { this.showCompare(e.compare, e.record); return; }
        if (e.kind === 'verification') { this.showVerification(e.record, e.verification); return; }
        if (!this.panel) return;
        if (e.kind === 'state') {
          this.compared = undefined;   // a run takes the panel back from a compared config
          this.shown = e.record;
          if (e.record.view.status === 'running') this.lastNotice = undefined;   // the webview clears it too
          this.post({ type: 'state', view: e.record.view });
          this.postStale();
          if (e.record.view.status !== 'running') void this.memento.update(DiagnosticsPanel.STATE_KEY, e.record.view);
        }
        else if (e.kind === 'stats' && e.record === this.shown) this.post({ type: 'stats', step: e.step, probes: e.probes, lossCurve: e.lossCurve });
      }),
      // An edit (quick fix, undo, typing) of the shown config marks its run stale at once, and of a compared config its
      // trials (whichever trials the page shows: it looks its own up in the list postStale sends).
      vscode.workspace.onDidChangeTextDocument(e => {
        const uri = e.document.uri.toString();
        if (this.panel && (uri === this.shown?.uri || this.runs.compared(uri))) this.postStale();
      }),
      vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => {
          // Reopened from workspaceState already (the workbench had lost the tab, then found it): keep one panel.
          if (this.panel) { panel.dispose(); return; }
          this.attach(panel);
        },
      }),
    );
    const restoredByWorkbench = vscode.window.tabGroups.all.some(g => g.tabs.some(t =>
      t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(PANEL_VIEW_TYPE)));
    if (memento.get<boolean>(DiagnosticsPanel.OPEN_KEY) && !restoredByWorkbench) this.show();
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
    // The last state goes into the page itself: the panel draws it (or the layer list of a run that is starting) as
    // soon as its script loads, without waiting for the 'ready' round trip.
    const record = this.compared ? this.compared.record : this.runs.current();
    if (record) this.shown = record;
    const view = this.compared?.view ?? record?.view ?? this.memento.get<RunView>(DiagnosticsPanel.STATE_KEY);
    this.shownView = view;
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'panel', 'Activation Lens', view ? { view } : undefined);
    void this.memento.update(DiagnosticsPanel.OPEN_KEY, true);
    panel.onDidDispose(() => {
      if (this.panel === panel) this.panel = undefined;
      // Closed by the user, not torn down with the window: a reload must not bring it back.
      if (!this.disposed) void this.memento.update(DiagnosticsPanel.OPEN_KEY, false);
    }, null, this.subscriptions);
    panel.webview.onDidReceiveMessage(m => this.receive(m), null, this.subscriptions);
  }

  /** A message from the panel's webview (public for the in-host tests, which cannot click inside the iframe). */
  receive(m: unknown): void {
    if (!isWebviewToHost(m)) return;   // untrusted input: ignore anything malformed
    // A trial row's Apply names its trials, which the controller looks up itself (below); any other config a message
    // names must be one the host knows (configRef).
    const config = 'config' in m && m.type !== 'applyTrial' ? this.configRef(m.config) : undefined;
    if ('config' in m && m.type !== 'applyTrial' && m.config !== undefined && !config) return;
    switch (m.type) {
      // A restored page, or one whose load raced the first messages: the current view in full (stats are increments).
      case 'ready':
        this.sendCurrent();
        if (this.lastNotice) this.post({ type: 'notice', notice: this.lastNotice });
        break;
      case 'run': this.actions.run(config); break;
      case 'stop': this.runs.stop(); break;
      case 'showPanel': break;
      case 'setTbActivation': this.actions.setTbActivation?.(m.layer, m.activation); break;
      case 'compare': this.actions.compare(m.layer, config); break;
      case 'applyFinding': {
        const record = config ? this.runs.latest(config) : this.shown;
        const f = record?.findings[m.finding];
        const s = f?.suggestions[m.suggestion];
        if (record && f && s) this.actions.apply(record, s.layers ?? [f.layer], s);
        break;
      }
      case 'applyRanked': {
        const record = config ? this.runs.latest(config) : this.shown;
        const r = record?.view.suggestions?.find(x => x.layer === m.layer)?.ranked[m.rank];
        if (record && r) this.actions.apply(record, [m.layer], { activation: r.activation, init: r.init, reason: r.reason });
        break;
      }
      case 'applyTrial': {
        // The page names the trials it shows (their config and identity); a row applies only if they are still that
        // config's latest. The one check: a forged config or id matches no trials, and nothing is edited.
        const c = this.runs.trialsOf(m.config, m.trials);
        if (!c) tell('refusal', 'these trials are not the latest of their config (compared again since, or the window was reloaded): compare again to apply a row.');
        else if (c.results[m.rank]) this.actions.applyTrial?.(c, m.rank);
        break;
      }
      case 'verifyFinding': {
        const record = config ? this.runs.latest(config) : this.shown;
        const f = record?.findings[m.finding];
        const s = f?.suggestions[m.suggestion];
        if (record && f && s) this.actions.verify?.(record, s.layers ?? [f.layer], s, f);
        break;
      }
      case 'verifyRanked': {
        const record = config ? this.runs.latest(config) : this.shown;
        const r = record?.view.suggestions?.find(x => x.layer === m.layer)?.ranked[m.rank];
        if (record && r) this.actions.verify?.(record, [m.layer], { activation: r.activation, init: r.init, reason: r.reason });
        break;
      }
      // The sidebar's own messages: the panel has no TensorBoard run list and no empty-workspace view.
      case 'showTbRun': case 'newConfig': break;
      // A message type added to the protocol must be handled (or ignored) here explicitly.
      default: { const unhandled: never = m; void unhandled; }
    }
  }

  /** The config a message names, if it is one the extension ran, or a config file inside a workspace folder. */
  private configRef(ref: string | undefined): vscode.Uri | undefined {
    if (!ref) return undefined;
    let uri: vscode.Uri;
    try { uri = vscode.Uri.parse(ref, true); } catch { return undefined; }
    if (uri.scheme !== 'file') return undefined;
    if (this.runs.latest(uri)) return uri;
    return /\.nn\.(ya?ml|json)$/i.test(uri.path) && vscode.workspace.getWorkspaceFolder(uri) ? uri : undefined;
  }

  private sendCurrent(): void {
    // A compared config the panel switched to (Compare can also create the panel, whose page then asks with 'ready').
    if (this.compared) {
      this.shown = this.compared.record;
      this.post({ type: 'state', view: this.compared.view });
      this.postStale();
      return;
    }
    const record = this.runs.current();
    if (record) {
      this.shown = record;
      this.post({ type: 'state', view: record.view });
      this.postStale();
      return;
    }
    const saved = this.memento.get<RunView>(DiagnosticsPanel.STATE_KEY);
    if (saved) this.post({ type: 'state', view: saved });
  }

  /** Shows a view that has no config behind it (a TensorBoard run); config runs take the panel back when they start. */
  showView(view: RunView): void {
    this.shown = undefined;
    this.compared = undefined;
    if (!this.panel) this.show();
    this.post({ type: 'state', view });
    this.postStale();
  }

  /**
   * Shows trials the controller announced, opening the panel if needed. Trials of the config on screen go into its view;
   * trials of another config (palette Compare on another file, or on a config never run) switch the panel to that
   * config: its latest run, else its layers from the text (configView), with the trials. That is what the user just
   * asked for, and the page then shows the trials under their own config's header, title and staleness. A run's state
   * takes the panel back. Except while the panel shows a run that is training: it never leaves a live run (its charts
   * would stop, and each update of either would flip the panel); the trials are held, and a notification (when they
   * start and when they end) offers Show Trials, which switches the panel because the user asked.
   */
  private showCompare(compare: CompareView, record: RunRecord | undefined): void {
    const onScreen = !!this.panel && (compare.uri === undefined || compare.uri === this.shownView?.configUri);
    // Newer trials of the compared config with no run: its view re-sent on 'ready' carries them.
    if (this.compared && !this.compared.record && this.compared.view.configUri === compare.uri) this.compared.view.compare = compare;
    // A comparison held once stays held (its later updates are said, not switched to) until Show Trials: the user was
    // told the panel stays where it is.
    const live = this.runs.running;
    const holding = (!!live && this.shown === live) || (!!compare.id && this.heldIds.has(compare.id));
    if (!onScreen && compare.uri && this.panel && holding) { this.holdCompare(compare, live); return; }
    this.switchToCompare(compare, record, onScreen);
  }

  private switchToCompare(compare: CompareView, record: RunRecord | undefined, onScreen: boolean): void {
    if (!onScreen && compare.uri) {
      const doc = record ? undefined : vscode.workspace.textDocuments.find(d => d.uri.toString() === compare.uri);
      const view = record?.view ?? (doc ? { ...configView(doc), compare } : undefined);
      if (view) this.compared = { record, view };
    }
    // A new panel starts from `compared` (attach), and its page asks for the rest with 'ready'.
    if (!this.panel) { this.show(); return; }
    this.panel.reveal(undefined, true);
    if (!onScreen && this.compared?.view.configUri === compare.uri) {
      this.shown = this.compared!.record;
      this.post({ type: 'state', view: this.compared!.view });
    } else this.post({ type: 'compare', compare });
    this.postStale();
  }

  /** Trials of another config while the panel shows a live run: kept for Show Trials, and said once as they start and once as they end. */
  private holdCompare(compare: CompareView, live: RunRecord | undefined): void {
    this.held = compare;
    if (compare.id) this.heldIds.add(compare.id);
    const stage = compare.status === 'running' ? 'started' : 'ended';
    const key = `${compare.id}:${stage}`;
    if (this.heldSaid.has(key)) return;
    this.heldSaid.add(key);
    const what = `trials of ${compare.layerName} in ${compare.configLabel ?? compare.uri}`;
    const text = stage === 'started'
      ? `${what} are running; the panel stays on the run of ${live?.view.configLabel ?? live?.view.configName ?? 'the config it shows'} while it trains.`
      : `${what} ${compare.status === 'done' ? `are done${compare.verdict ? `: ${compare.verdict}` : ''}` : `ended (${compare.status}${compare.message ? `: ${compare.message}` : ''})`}.`;
    this.heldNotices.push(text);
    this.notice({ kind: 'info', text: `${text} Show them with the notification's Show Trials.` });
    void vscode.window.showInformationMessage(`Activation Lens: ${text}`, DiagnosticsPanel.SHOW_TRIALS).then(choice => {
      // These trials, not whichever were held last: another config's may have been held since this was said.
      if (choice === DiagnosticsPanel.SHOW_TRIALS) this.showHeldTrials(compare);
    });
  }

  /**
   * Show Trials: the trials a notification named (else the last held) in the panel (the same object as they fill in);
   * the user asked, so this switches even from a live run (whose next state takes the panel back, as any run's does).
   * Trials of another config held meanwhile stay held. False when there are none.
   */
  showHeldTrials(which: CompareView | undefined = this.held): boolean {
    const held = which;
    if (!held?.uri) return false;
    if (this.held === held) this.held = undefined;
    if (held.id) this.heldIds.delete(held.id);
    this.switchToCompare(held, this.runs.latest(held.uri), !!this.panel && held.uri === this.shownView?.configUri);
    return true;
  }

  /** For tests: the trials held back from a live run (showCompare), and what the notifications about them said. */
  get heldTrials(): CompareView | undefined { return this.held; }
  readonly heldNotices: string[] = [];
  private held?: CompareView;
  private readonly heldSaid = new Set<string>();
  private readonly heldIds = new Set<string>();
  private static readonly SHOW_TRIALS = 'Show Trials';

  /**
   * Shows a verification the controller announced if its run is shown (the panel opens if needed, without taking
   * focus). It never re-sends the panel's view: a Verify of one run must not take the panel from another (a live run).
   */
  private showVerification(record: RunRecord, verification: VerificationView): void {
    if (!this.panel) { this.show(); return; }   // the new page draws the shown run, with its verification
    if (this.shown === record) this.post({ type: 'verification', verification });
  }

  /** Shows a notice (a refusal, an error) in the panel's notice line; false when the panel is not in view. */
  notice(n: PanelNotice): boolean {
    if (!this.panel?.visible) return false;
    this.lastNotice = n;   // sent again if the webview is still loading (a Run can open the panel and be refused at once)
    this.post({ type: 'notice', notice: n });
    return true;
  }

  /** Whether the user can see the panel (it is open and its tab is the one shown in its group). */
  get inView(): boolean { return !!this.panel?.visible; }

  private lastNotice?: PanelNotice;

  /** The compared config the panel switched to (showCompare): its run, if it has one, and the view sent. */
  private compared?: { record?: RunRecord; view: RunView };
  /** The view of the last state sent (the page replaces its view with each), or the page's first view (attach). */
  private shownView?: RunView;

  /**
   * Tells the webview whether the shown run is of the config's current text, and which trials may still be applied
   * (the page looks up the trials it shows: after a restore or a re-run it may keep trials the host never re-sent).
   */
  private postStale(): void {
    this.post({ type: 'stale', stale: !!this.shown && this.runs.isStale(this.shown), trials: this.runs.applicableTrials() });
  }

  private post(m: HostToWebview): void {
    if (!this.panel) return;
    if (m.type === 'stale') this.staleSent = m;
    else if (m.type === 'state') {
      this.shownView = m.view;
      this.panel.title = m.view.configLabel ? `Activation Lens: ${m.view.configLabel}` : 'Activation Lens';
    }
    void this.panel.webview.postMessage(m);
  }

  private staleSent?: Extract<HostToWebview, { type: 'stale' }>;
  /** For tests: the last staleness the webview was sent (it shows the banner and disables Apply from it). */
  get lastStale(): { stale: boolean; trials: string[] } | undefined { return this.staleSent && { stale: this.staleSent.stale, trials: this.staleSent.trials }; }

  /** For tests: the view the panel was last sent. */
  get lastView(): RunView | undefined { return this.shownView; }

  /** The extension is shutting down (window closing or reloading): the panel stays the workbench's to restore. */
  dispose(): void { this.disposed = true; for (const d of this.subscriptions) d.dispose(); }
}
