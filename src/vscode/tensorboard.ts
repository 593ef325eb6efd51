import * as vscode from 'vscode';
import { tell } from './feedback';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HostToTbWorker, RunView, TbRunsView, TbWorkerToHost } from '../protocol';
import { readSettings } from './settings';

/**
 * "Diagnose TensorBoard Run...": watches a log directory that another process (PyTorch, TensorFlow, on any number of
 * machines) appends to, and shows its runs with the same statistics, rules and charts as an in-editor run. The
 * reading and the rules run in dist/tensorboardWorker.js: a large or hostile event file never blocks the editor.
 */
export class TensorBoardSession implements vscode.Disposable {
  private worker?: Worker;
  private logdir = '';
  private names: string[] = [];
  private views: RunView[] = [];
  private shown = 0;
  /** Activations the user chose in the panel, by layer name (they win over inferred ones). */
  private activations: Record<string, string> = {};
  private readonly emitter = new vscode.EventEmitter<{ view?: RunView; list: TbRunsView }>();
  readonly onDidUpdate = this.emitter.event;

  constructor(private readonly extensionUri: vscode.Uri) {}

  async pickAndWatch(dir?: vscode.Uri): Promise<boolean> {
    const folder = dir ?? (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
      title: 'TensorBoard log directory (the folder holding events.out.tfevents.* files, or runs of them)' }))?.[0];
    if (!folder) return false;
    this.watch(folder.fsPath);
    return true;
  }

  watch(dir: string, keepShown = false): void {
    void this.worker?.terminate();
    if (dir !== this.logdir) this.activations = {};
    this.logdir = dir;
    if (!keepShown) this.shown = 0;
    this.names = [];
    this.views = [];
    const worker = new Worker(vscode.Uri.joinPath(this.extensionUri, 'dist', 'tensorboardWorker.js').fsPath);
    this.worker = worker;
    worker.on('message', (m: TbWorkerToHost) => {
      if (this.worker !== worker) return;   // a directory watched before this one
      if (m.type === 'error') { tell('error', `${path.basename(dir)}: ${m.message}`); return; }
      this.names = m.names;
      this.views = m.views;
      this.fire();
    });
    worker.on('error', e => { if (this.worker === worker) tell('error', `reading ${path.basename(dir)} failed: ${e.message}`); });
    const start: HostToTbWorker = { dir, label: vscode.workspace.asRelativePath(dir), thresholds: readSettings().thresholds, activations: this.activations };
    worker.postMessage(start);
  }

  /** The panel's activation choice for a logged layer: the logs are read again with it ('' clears the choice). */
  setActivation(layer: string, activation: string): void {
    if (!this.logdir) return;
    const next = { ...this.activations };
    if (activation) next[layer] = activation; else delete next[layer];
    this.activations = next;
    this.watch(this.logdir, true);
  }

  show(index: number): void {
    if (index < 0 || index >= this.views.length) return;
    this.shown = index;
    this.fire();
  }

  get list(): TbRunsView {
    return {
      logdir: this.logdir, shown: this.shown,
      runs: this.views.map((v, i) => ({
        name: this.names[i], steps: v.step, layers: v.layers.length,
        errors: v.findings?.filter(f => f.severity === 'error').length ?? 0,
        warnings: v.findings?.filter(f => f.severity === 'warning').length ?? 0,
      })),
    };
  }

  get view(): RunView | undefined { return this.views[this.shown]; }

  /** For tests: the thread that reads the logs (never the extension host's). */
  get readerThreadId(): number | undefined { return this.worker?.threadId; }

  private fire(): void { this.emitter.fire({ view: this.view, list: this.list }); }

  dispose(): void { void this.worker?.terminate(); this.worker = undefined; this.emitter.dispose(); }
}
