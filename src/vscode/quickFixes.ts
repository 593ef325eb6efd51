import * as vscode from 'vscode';
import type { Suggestion } from '../diagnosis/types';
import { suggestionEdits } from '../edits/suggestionEdits';
import type { RunController } from './runController';
import { FindingDiagnostic } from './problems';
import { parseDocument } from './documents';

/** A WorkspaceEdit (undoable) that applies one suggestion to the document, or a reason it cannot. */
export function suggestionWorkspaceEdit(doc: vscode.TextDocument, layers: number[], s: Suggestion): vscode.WorkspaceEdit | string {
  const { config } = parseDocument(doc);
  if (!config) return 'the config has errors; fix them first';
  const result = suggestionEdits(doc.getText(), doc.fileName, config, layers, s);
  if ('error' in result) return result.error;
  const edit = new vscode.WorkspaceEdit();
  for (const e of result.edits) {
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.text);
  }
  return edit;
}

export function suggestionTitle(s: Suggestion): string {
  const parts = [
    s.activation && `activation: ${s.activation}`, s.init && `init: ${s.init}`,
    s.lr !== undefined && `lr: ${Number(s.lr.toPrecision(3))}`, s.clip !== undefined && `clip: ${Number(s.clip.toPrecision(3))}`,
  ].filter(Boolean);
  return `Activation Lens: set ${parts.join(', ')}`;
}

/** Quick fixes on our diagnostics: each suggestion of the finding becomes one code action. */
export class QuickFixProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];
  constructor(private readonly runs: RunController) {}

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diag of context.diagnostics) {
      if (!(diag instanceof FindingDiagnostic)) continue;
      const { finding, fromRun } = diag;
      const stale = fromRun && this.runs.latest(doc.uri)?.version !== doc.version;
      for (const [i, s] of finding.suggestions.entries()) {
        if (!s.activation && !s.init && s.lr === undefined && s.clip === undefined) continue;
        const action = new vscode.CodeAction(suggestionTitle(s), vscode.CodeActionKind.QuickFix);
        action.diagnostics = [diag];
        action.isPreferred = i === 0;
        if (stale) {
          // The finding was measured on other text: refuse rather than edit something the run never saw.
          action.command = { title: action.title, command: 'activationLens.staleFix', arguments: [] };
        } else {
          const edit = suggestionWorkspaceEdit(doc, s.layers ?? [finding.layer], s);
          if (typeof edit === 'string') { action.disabled = { reason: edit }; }
          else action.edit = edit;
        }
        actions.push(action);
      }
    }
    return actions;
  }
}
