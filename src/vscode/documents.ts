import * as vscode from 'vscode';
import * as path from 'node:path';
import type { LayerSpec, NetworkConfig, Span } from '../model';
import { parseConfigText, type ParseResult } from '../config';
import { readUserFileText, type UserFileKind } from '../io/userFile';
import { csvReadRefusal } from './trustPolicy';

/** Config files are *.nn.yaml / *.nn.yml / *.nn.json, or a Keras/TF.js model JSON recognised by content. */
export const CONFIG_SELECTOR: vscode.DocumentSelector = [
  { pattern: '**/*.nn.{yaml,yml,json}' },
  { language: 'json', pattern: '**/*.json' },
];

export function isConfigDocument(doc: vscode.TextDocument): boolean {
  if (/\.nn\.(ya?ml|json)$/i.test(doc.fileName)) return true;
  // A Keras / TF.js model JSON is told apart by content; only look at the head of the file.
  if (!/\.json$/i.test(doc.fileName)) return false;
  const head = doc.getText(new vscode.Range(0, 0, 40, 0));
  return /"(class_name|modelTopology|model_config)"/.test(head);
}

/**
 * The folder every file a config names (data.path, model.keras) must really lie in, symlinks followed: the
 * workspace folder holding the config, else (a file opened on its own) the config's own directory.
 */
export function workspaceRootFor(uri: vscode.Uri): string {
  return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(uri.fsPath);
}

/** Reads a file a config names through the one bounded reader: regular files only, capped, really inside `root`. */
export function readConfigNamedFile(absPath: string, kind: UserFileKind, root: string): string {
  return readUserFileText(absPath, { kind, root });
}

/** Parses each document version once (per trust state); hovers, CodeLens and diagnostics share the result. */
const cache = new WeakMap<vscode.TextDocument, { version: number; trusted: boolean; result: ParseResult }>();
export function parseDocument(doc: vscode.TextDocument): ParseResult {
  const trusted = vscode.workspace.isTrusted;
  const hit = cache.get(doc);
  if (hit && hit.version === doc.version && hit.trusted === trusted) return hit.result;
  const root = workspaceRootFor(doc.uri);
  // Restricted Mode: the static checks run, but the CSV a config names is not opened (see docs/security.md).
  const readFile = trusted ? undefined : (abs: string, kind: UserFileKind) => {
    const refusal = csvReadRefusal(kind, trusted);
    if (refusal) throw new Error(refusal);
    return readConfigNamedFile(abs, kind, root);
  };
  const result = parseConfigText(doc.getText(), doc.uri.fsPath, { workspaceRoot: root, readFile });
  cache.set(doc, { version: doc.version, trusted, result });
  return result;
}

export function toRange(span: Span): vscode.Range {
  return new vscode.Range(span.start.line, span.start.character, span.end.line, span.end.character);
}

export function spanContains(span: Span | undefined, pos: vscode.Position): boolean {
  return !!span && toRange(span).contains(pos);
}

/** The layer whose item contains the position, and which of its keys' values (if any) the position is on. */
export function layerAt(config: NetworkConfig, pos: vscode.Position): { layer: LayerSpec; key?: string } | undefined {
  for (const layer of config.model.layers) {
    for (const [key, span] of Object.entries(layer.spans ?? {})) if (spanContains(span, pos)) return { layer, key };
  }
  for (const layer of config.model.layers) if (spanContains(layer.span, pos)) return { layer };
  return undefined;
}
