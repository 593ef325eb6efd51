import * as vscode from 'vscode';
import * as path from 'node:path';
import type { VerificationView } from '../protocol';
import type { Finding, Suggestion } from '../diagnosis/types';
import { applySuggestion, compareRuns } from '../diagnosis/verify';
import { diagnose } from '../diagnosis/rules';
import { startEngineRun } from '../engine/start';
import { editorPythonCandidates } from './engine';
import type { RunRecord } from './runController';
import { readSettings } from './settings';
import { workspaceRootFor } from './documents';

/** "activation relu + init he_normal on dense_1..dense_4 (vanishing-gradient)": what a Verify runs. */
export function verificationTitle(record: RunRecord, layers: number[], s: Suggestion, finding?: Finding): string {
  const change = [s.activation && `activation ${s.activation}`, s.init && `init ${s.init}`, s.lr !== undefined && `lr ${s.lr}`, s.clip !== undefined && `clip ${s.clip}`]
    .filter(Boolean).join(' + ');
  const names = layers.map(i => record.config.model.layers[i]?.name ?? String(i));
  const where = names.length > 3 ? `${names[0]}..${names.at(-1)}` : names.join(', ');
  return `${change}${where && (s.activation || s.init) ? ` on ${where}` : ''}${finding ? ` (${finding.kind})` : ''}`;
}

/**
 * Verify: trains the record's config with the suggestion applied (same seed, data and steps) in its own worker and
 * compares it with the record's run. `show` gets the running view at once and the result when it ends.
 */
export async function verifySuggestionInEditor(args: { record: RunRecord; layers: number[]; suggestion: Suggestion; finding?: Finding;
  extensionUri: vscode.Uri; show(v: VerificationView): void }): Promise<VerificationView> {
  const { record, layers, suggestion, finding } = args;
  const view: VerificationView = { status: 'running', title: verificationTitle(record, layers, suggestion, finding) };
  const before = record.result;
  if (!before) {
    view.status = 'error';
    view.message = 'run diagnostics first: Verify compares against the latest run';
    args.show(view);
    return view;
  }
  let config;
  try {
    config = applySuggestion(record.config, layers, suggestion);
  } catch (e) {
    view.status = 'error';
    view.message = (e as Error).message;
    args.show(view);
    return view;
  }
  args.show(view);
  const settings = readSettings(vscode.Uri.parse(record.uri));
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, cancellable: true,
    title: `Activation Lens: verifying ${view.title}` }, (_progress, token) => new Promise<void>(resolve => {
    const uri = vscode.Uri.parse(record.uri);
    // The engine the record's run used: before and after must come from the same trainer.
    const handle = startEngineRun({
      config, baseDir: path.dirname(uri.fsPath), workspaceRoot: workspaceRootFor(uri), maxSteps: settings.maxSteps, memoryLimitMB: settings.memoryLimitMB,
      workerPath: vscode.Uri.joinPath(args.extensionUri, 'dist', 'worker.js').fsPath,
      engine: settings.engine, engineOverride: record.engine, pythonCandidates: () => editorPythonCandidates(uri, settings.pythonPath),
      onEngine: why => { view.engine = why; args.show(view); },
    }, {
      stats: () => undefined,
      done: result => {
        const findings = diagnose(config, result, settings.thresholds);
        view.result = compareRuns(finding, suggestion, layers, { config: record.config, result: before, findings: record.findings }, { config, result, findings });
        view.status = 'done';
        resolve();
      },
      cancelled: () => { view.status = 'error'; view.message = 'cancelled'; resolve(); },
      error: msg => { view.status = 'error'; view.message = msg; resolve(); },
    });
    token.onCancellationRequested(() => handle.cancel());
  }));
  args.show(view);
  return view;
}
