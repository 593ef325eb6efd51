import * as vscode from 'vscode';
import type { LayerSpec, NetworkConfig, Span } from '../model';
import { parseConfigText, type ParseResult } from '../config';

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

/** Parses each document version once; hovers, CodeLens and diagnostics share the result. */
const cache = new WeakMap<vscode.TextDocument, { version: number; result: ParseResult }>();
export function parseDocument(doc: vscode.TextDocument): ParseResult {
  const hit = cache.get(doc);
  if (hit && hit.version === doc.version) return hit.result;
  const result = parseConfigText(doc.getText(), doc.uri.fsPath);
  cache.set(doc, { version: doc.version, result });
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
