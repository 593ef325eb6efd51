import * as vscode from 'vscode';
import { estimateRunSeconds } from '../config/cost';
import type { NetworkConfig } from '../model';
import type { RunController } from './runController';
import { isConfigDocument, parseDocument } from './documents';
import { readSettings } from './settings';

/** `auto` re-runs on save only below this estimated CPU time (src/config/cost.ts). */
export const RUN_ON_SAVE_MAX_SECONDS = 2;

/** Whether a save of this config re-runs it under the setting, and why not. */
export function runOnSaveDecision(setting: 'auto' | 'always' | 'never', config: NetworkConfig): { run: boolean; estimateSeconds: number } {
  const estimateSeconds = estimateRunSeconds(config);
  return { run: setting === 'always' || (setting === 'auto' && estimateSeconds < RUN_ON_SAVE_MAX_SECONDS), estimateSeconds };
}

/**
 * `activationLens.runOnSave`: a saved config is re-diagnosed quietly (status bar progress, no notification, no
 * focus change); the panel, Problems and CodeLens follow the run's events. A save during a run of the same file
 * stops it and runs the saved text once it has ended; during a run of another file, the saved one runs after it.
 */
export class RunOnSave implements vscode.Disposable {
  private pending?: vscode.TextDocument;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly runs: RunController) {
    this.subscriptions.push(
      vscode.workspace.onDidSaveTextDocument(doc => this.saved(doc)),
      runs.onDidChange(e => {
        if (e.kind !== 'state' || e.record.view.status === 'running' || !this.pending || this.runs.running) return;
        const doc = this.pending;
        this.pending = undefined;
        void this.runs.run(doc, { quiet: true });
      }),
    );
  }

  private saved(doc: vscode.TextDocument): void {
    if (!isConfigDocument(doc) || !vscode.workspace.isTrusted) return;
    const { config } = parseDocument(doc);
    if (!config || !runOnSaveDecision(readSettings(doc.uri).runOnSave, config).run) return;
    const active = this.runs.running;
    if (active) {
      this.pending = doc;
      if (active.uri === doc.uri.toString()) this.runs.stop();
      return;
    }
    void this.runs.run(doc, { quiet: true });
  }

  dispose(): void { for (const d of this.subscriptions) d.dispose(); }
}
