import * as vscode from 'vscode';
import * as path from 'node:path';
import type { RunView, TbRunsView } from '../protocol';
import { watchLogdir } from '../tensorboard/logdir';
import { diagnoseTbRun } from '../tensorboard/diagnose';
import { tbRunView } from '../tensorboard/view';
import type { TbRun } from '../tensorboard/run';
import { readSettings } from './settings';

/**
 * "Diagnose TensorBoard Run...": watches a log directory that another process (PyTorch, TensorFlow, on any number of
 * machines) appends to, and shows its runs with the same statistics, rules and charts as an in-editor run.
 */
export class TensorBoardSession implements vscode.Disposable {
  private watcher?: { close(): void };
  private logdir = '';
  private runs: TbRun[] = [];
  private views: RunView[] = [];
  private shown = 0;
  private readonly emitter = new vscode.EventEmitter<{ view?: RunView; list: TbRunsView }>();
  readonly onDidUpdate = this.emitter.event;

  async pickAndWatch(dir?: vscode.Uri): Promise<boolean> {
    const folder = dir ?? (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
      title: 'TensorBoard log directory (the folder holding events.out.tfevents.* files, or runs of them)' }))?.[0];
    if (!folder) return false;
    this.watch(folder.fsPath);
    return true;
  }

  watch(dir: string): void {
    this.watcher?.close();
    this.logdir = dir;
    this.shown = 0;
    const thresholds = readSettings().thresholds;
    this.watcher = watchLogdir(dir, runs => {
      this.runs = runs;
      const label = vscode.workspace.asRelativePath(dir);
      this.views = runs.map(r => ({ ...tbRunView(label, r, diagnoseTbRun(r, thresholds), 'running'), source: 'tensorboard' as const }));
      this.fire();
    }, { onError: e => void vscode.window.showWarningMessage(`Activation Lens: ${path.basename(dir)}: ${e.message}`) });
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
        name: this.runs[i].name, steps: v.step, layers: v.layers.length,
        errors: v.findings?.filter(f => f.severity === 'error').length ?? 0,
        warnings: v.findings?.filter(f => f.severity === 'warning').length ?? 0,
      })),
    };
  }

  get view(): RunView | undefined { return this.views[this.shown]; }

  private fire(): void { this.emitter.fire({ view: this.view, list: this.list }); }

  dispose(): void { this.watcher?.close(); this.emitter.dispose(); }
}
