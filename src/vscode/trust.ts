import * as vscode from 'vscode';
import { trustRefusal, type TrustedAction } from './trustPolicy';

/** True when the workspace is trusted; otherwise says why the action is refused (with a way to manage trust). */
export function requireTrust(action: TrustedAction): boolean {
  const refusal = trustRefusal(action, vscode.workspace.isTrusted);
  if (!refusal) return true;
  void vscode.window.showWarningMessage(`Activation Lens: ${refusal}`, 'Manage Workspace Trust')
    .then(choice => { if (choice) void vscode.commands.executeCommand('workbench.trust.manage'); });
  return false;
}
