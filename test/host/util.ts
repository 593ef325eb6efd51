import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActivationLensApi } from '../../src/vscode/extension';

export const EXTENSION_ID = 'activation-lens.activation-lens';

export async function api(): Promise<ActivationLensApi> {
  const ext = vscode.extensions.getExtension<ActivationLensApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  return ext.activate();
}

export function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the tests need the test/workspace folder open');
  return vscode.Uri.file(path.join(folder.uri.fsPath, name));
}

export async function openConfig(name: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(workspaceFile(name));
  return vscode.window.showTextDocument(doc);
}

/** The position of the first occurrence of `needle` (optionally after `after`) in the document. */
export function positionOf(doc: vscode.TextDocument, needle: string, after = ''): vscode.Position {
  const text = doc.getText();
  const start = after ? text.indexOf(after) : 0;
  const at = text.indexOf(needle, start);
  if (at < 0) throw new Error(`${needle} not found in ${doc.fileName}`);
  return doc.positionAt(at + 1);
}

/** How long a wait may take before it fails: it bounds a hang and measures nothing (the machine may be shared). */
export const WAIT_MS = 240000;

/** Resolves with probe()'s first truthy value, re-checked every 100 ms: wait on a condition, never for a time. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = WAIT_MS): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

export function hoverText(hovers: vscode.Hover[]): string {
  return hovers.flatMap(h => h.contents).map(c => (typeof c === 'string' ? c : c.value)).join('\n');
}

/** Hover Markdown as the reader sees it: backslash escapes and &nbsp; (MarkdownString.appendText) undone. */
export function plainHover(md: string): string {
  return md.replace(/\\([\\`*_{}[\]()#+\-.!|<>~$])/g, '$1').replace(/&nbsp;/g, ' ');
}

/** A stand-in interpreter that records each time it is run (then fails, as an interpreter without torch). */
export function markerPython(): { command: string; marker: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-python-'));
  const marker = path.join(dir, 'ran');
  const command = path.join(dir, 'python3');
  fs.writeFileSync(command, `#!/bin/sh\necho "$@" >> '${marker}'\nexit 1\n`, { mode: 0o755 });
  return { command, marker };
}
