import { createHash } from 'node:crypto';
import type * as vscode from 'vscode';

/**
 * Which text a run or a comparison used, as a SHA-256 of it: staleness and Apply compare it with the document's text
 * now. A document version cannot tell: it restarts at 1 when a closed document is opened again, so a file changed on
 * disk meanwhile could have the version of the run, and an unchanged one would read as changed.
 */
export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const cache = new WeakMap<vscode.TextDocument, { version: number; hash: string }>();

/** The document's text hash, computed once per version (hovers, CodeLens and Problems ask often). */
export function documentHash(doc: vscode.TextDocument): string {
  const hit = cache.get(doc);
  if (hit && hit.version === doc.version) return hit.hash;
  const hash = hashText(doc.getText());
  cache.set(doc, { version: doc.version, hash });
  return hash;
}
