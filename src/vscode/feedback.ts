import * as vscode from 'vscode';
import type { PanelNotice } from '../protocol';

/**
 * Feedback that matters, where the user is looking: a refusal (of a Run, an Apply, a Compare) or an error goes to
 * the diagnostics panel's notice line when the panel is in view, and to the status bar; a notification only when no
 * panel shows it (a toast alone is easy to miss, and it vanishes into the notification centre).
 */
interface NoticeLine { /** false when the panel is not in view */ notice(n: PanelNotice): boolean; readonly inView: boolean }
let panel: NoticeLine | undefined;

/** Where notices go: the diagnostics panel (extension.ts). */
export function noticesGoTo(line: NoticeLine): vscode.Disposable {
  panel = line;
  return { dispose() { if (panel === line) panel = undefined; } };
}

/** For tests (through the extension's API): what was said lately, oldest first. */
export const told: PanelNotice[] = [];

const ICON: Record<PanelNotice['kind'], string> = { refusal: '$(warning)', error: '$(error)', info: '$(info)' };

/** Says `text`; `panelShowsIt`: the panel already shows it in its own place (a compare verdict), so no notice there. */
export function tell(kind: PanelNotice['kind'], text: string, opts: { panelShowsIt?: boolean } = {}): void {
  told.push({ kind, text });
  if (told.length > 50) told.shift();
  vscode.window.setStatusBarMessage(`${ICON[kind]} Activation Lens: ${text}`, 20000);
  if (opts.panelShowsIt ? panel?.inView : panel?.notice({ kind, text })) return;
  const message = `Activation Lens: ${text}`;
  void (kind === 'error' ? vscode.window.showErrorMessage(message)
    : kind === 'refusal' ? vscode.window.showWarningMessage(message) : vscode.window.showInformationMessage(message));
}

/**
 * "Report written": a status bar item that opens the report in the browser, there until the next report (a toast's
 * button is gone once the toast is).
 */
export class ReportStatus implements vscode.Disposable {
  static readonly OPEN_COMMAND = 'activationLens.openReport';
  private readonly item = vscode.window.createStatusBarItem('activationLens.report', vscode.StatusBarAlignment.Left, 9);
  private readonly command = vscode.commands.registerCommand(ReportStatus.OPEN_COMMAND, (uri?: unknown) => {
    if (uri instanceof vscode.Uri && uri.scheme === 'file') void vscode.env.openExternal(uri);
  });
  /** For tests: the report the item opens. */
  shown?: vscode.Uri;

  constructor() { this.item.name = 'Activation Lens report'; }

  written(dest: vscode.Uri): void {
    this.shown = dest;
    this.item.text = `$(file-code) report: ${vscode.workspace.asRelativePath(dest)}`;
    this.item.tooltip = `Report written to ${dest.fsPath}. Click to open it in the browser.`;
    this.item.command = { title: 'Open Report in Browser', command: ReportStatus.OPEN_COMMAND, arguments: [dest] };
    this.item.accessibilityInformation = { label: `Activation Lens report written to ${vscode.workspace.asRelativePath(dest)}: open in browser`, role: 'button' };
    this.item.show();
  }

  dispose(): void { this.item.dispose(); this.command.dispose(); }
}
