import * as vscode from 'vscode';
import * as path from 'node:path';
import type { NetworkConfig } from '../model';
import type { Suggestion } from '../diagnosis/types';
import { kerasReferenceEdits, suggestionEdits } from '../edits/suggestionEdits';
import { parseConfigText } from '../config';
import type { RunController } from './runController';
import { FindingDiagnostic } from './problems';
import { parseDocument, readConfigNamedFile, workspaceRootFor } from './documents';
import { documentHash } from './textHash';

const isOwnConfig = (fileName: string) => /\.nn\.(ya?ml|json)$/i.test(fileName);

/** A WorkspaceEdit (undoable) that applies one suggestion to the document, or a reason it cannot. */
export function suggestionWorkspaceEdit(doc: vscode.TextDocument, layers: number[], s: Suggestion): vscode.WorkspaceEdit | string {
  const { config } = parseDocument(doc);
  if (!config) return 'the config has errors; fix them first';
  // `model.keras: file`: the layers' ranges here are the reference itself; their values live in the Keras file.
  if (config.model.keras && isOwnConfig(doc.fileName)) return kerasReferenceWorkspaceEdit(doc, config, layers, s);
  const result = suggestionEdits(doc.getText(), doc.fileName, config, layers, s);
  if ('error' in result) return result.error;
  const edit = new vscode.WorkspaceEdit();
  for (const e of result.edits) {
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.text);
  }
  return edit;
}

/** Layer changes as edits of the referenced Keras JSON (its open editor's text when it has one), lr / clip in the config. */
function kerasReferenceWorkspaceEdit(doc: vscode.TextDocument, config: NetworkConfig, layers: number[], s: Suggestion): vscode.WorkspaceEdit | string {
  const kerasPath = path.resolve(path.dirname(doc.uri.fsPath), config.model.keras!);
  if ((s.activation || s.init) && !/\.json$/i.test(kerasPath)) {
    return `the layers come from ${config.model.keras}, which is not a JSON file to edit: change them in the model (or Create Config from Keras to get editable layers)`;
  }
  const kerasUri = vscode.Uri.file(kerasPath);
  const open = vscode.workspace.textDocuments.find(d => d.uri.toString() === kerasUri.toString());
  let kerasText: string;
  if (open) kerasText = open.getText();
  else {
    try { kerasText = readConfigNamedFile(kerasPath, 'keras', workspaceRootFor(doc.uri)); } catch (e) { return `cannot edit ${config.model.keras}: ${(e as Error).message}`; }
    // The editor's text of a file with a UTF-8 byte order mark has no mark (it is written back on save): positions
    // counted with it would be one character off on the first line, all of a one-line model.json.
    if (kerasText.charCodeAt(0) === 0xfeff) kerasText = kerasText.slice(1);
  }
  const kerasConfig = parseConfigText(kerasText, kerasPath, { workspaceRoot: workspaceRootFor(doc.uri) }).config;
  const r = kerasReferenceEdits(doc.getText(), doc.fileName, config, kerasText, kerasPath, kerasConfig, layers, s);
  if ('error' in r) return r.error;
  const edit = new vscode.WorkspaceEdit();
  const at = open ? (o: number) => open.positionAt(o) : positionsOf(kerasText);
  for (const e of r.keras) edit.replace(kerasUri, new vscode.Range(at(e.offset), at(e.offset + e.length)), e.text);
  for (const e of r.config) edit.replace(doc.uri, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.text);
  return edit;
}

/** Offset -> Position in a text that has no TextDocument. */
function positionsOf(text: string): (offset: number) => vscode.Position {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return offset => {
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (starts[mid] <= offset) lo = mid; else hi = mid - 1; }
    return new vscode.Position(lo, offset - starts[lo]);
  };
}

export function suggestionTitle(s: Suggestion, layerNames?: string[]): string {
  const parts = [
    s.activation && `activation: ${s.activation}`, s.init && `init: ${s.init}`,
    s.lr !== undefined && `lr: ${Number(s.lr.toPrecision(3))}`, s.clip !== undefined && `clip: ${Number(s.clip.toPrecision(3))}`,
  ].filter(Boolean);
  // A fix that edits several layers says so before it is applied.
  const several = (s.activation || s.init) && s.layers && s.layers.length > 1
    ? ` on ${s.layers.length} layers (${s.layers.map(i => layerNames?.[i] ?? `layer ${i}`).join(', ')})` : '';
  return `Activation Lens: set ${parts.join(', ')}${several}`;
}

/** `unknown activation "rleu" (did you mean "relu"?)`: the replacement our parser proposed, if any. */
export function didYouMeanOf(message: string): string | undefined {
  return /\(did you mean "([^"]+)"\?\)/.exec(message)?.[1];
}

/** Quick fixes on our diagnostics: each suggestion of the finding becomes one code action. */
export class QuickFixProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];
  constructor(private readonly runs: RunController) {}

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    // A static finding and a run finding on the same value often propose the same change: list it once.
    const titles = new Set<string>();
    const layerNames = parseDocument(doc).config?.model.layers.map(l => l.name);
    for (const diag of context.diagnostics) {
      if (diag.source === 'Activation Lens' && !(diag instanceof FindingDiagnostic)) {
        const fix = this.typoFix(doc, diag);
        if (fix && !titles.has(fix.title)) { titles.add(fix.title); actions.push(fix); }
        continue;
      }
      if (!(diag instanceof FindingDiagnostic)) continue;
      const { finding, fromRun } = diag;
      const stale = fromRun && this.runs.latest(doc.uri)?.textHash !== documentHash(doc);
      for (const [i, s] of finding.suggestions.entries()) {
        if (!s.activation && !s.init && s.lr === undefined && s.clip === undefined) continue;
        const title = suggestionTitle(s, layerNames);
        if (titles.has(title)) continue;
        titles.add(title);
        const action = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [diag];
        action.isPreferred = i === 0;
        if (stale) {
          // The finding was measured on other text: refuse rather than edit something the run never saw.
          action.command = { title: action.title, command: 'activationLens.staleFix', arguments: [] };
        } else {
          const edit = suggestionWorkspaceEdit(doc, s.layers ?? [finding.layer], s);
          if (typeof edit === 'string') { action.disabled = { reason: edit }; }
          else {
            action.edit = edit;
            // Run after the edit is applied: checks the walkthrough's "Apply a suggestion" step off.
            action.command = { title: action.title, command: 'activationLens.fixApplied' };
          }
        }
        actions.push(action);
      }
    }
    return actions;
  }

  /** "did you mean" from the parser (keys, layer types, activations, initializers) as a one-word edit. */
  private typoFix(doc: vscode.TextDocument, diag: vscode.Diagnostic): vscode.CodeAction | undefined {
    const word = didYouMeanOf(diag.message);
    if (!word) return undefined;
    const old = doc.getText(diag.range);
    // Keep the user's quotes: only the word inside them changes.
    const quoted = /^(["'])(.*)\1$/s.exec(old);
    const range = quoted ? new vscode.Range(diag.range.start.translate(0, 1), diag.range.end.translate(0, -1)) : diag.range;
    if (!(quoted ? quoted[2] : old) || /[\n:{}[\],]/.test(quoted ? quoted[2] : old)) return undefined;
    const action = new vscode.CodeAction(`Change to "${word}"`, vscode.CodeActionKind.QuickFix);
    action.diagnostics = [diag];
    action.isPreferred = true;
    action.edit = new vscode.WorkspaceEdit();
    action.edit.replace(doc.uri, range, word);
    return action;
  }
}
