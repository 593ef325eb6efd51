/**
 * The safety net under every suggestion edit: apply the edits to the text in memory, read it again, and accept
 * them only if the file still reads without errors and the values changed are exactly the intended ones (every
 * other value of the tree, aliases expanded, as it was). Costs two tree reads of a config (at most 3000 lines).
 */
import { isDeepStrictEqual } from 'node:util';
import type * as YAML from 'yaml';
import { LineIndex, jsonTree, toPlain, yamlTree, type SNode } from '../config/tree';
import { pathId, type Path } from './yamlPlaces';

export interface TextEdit { offset: number; length: number; text: string }
/** One value the edit is meant to set: where (keys and list indices from the root), to what, and its name for people. */
export interface Intended { path: Path; value: unknown; label: string }

export function readTree(text: string, json: boolean): { root?: SNode; doc?: YAML.Document.Parsed; error?: string } {
  const lines = new LineIndex(text);
  const t = json ? jsonTree(text, lines) : yamlTree(text, lines);
  const err = t.problems.find(p => p.severity === 'error');
  if (err || !t.root) return { error: err ? `line ${(err.span?.start.line ?? 0) + 1}: ${err.message}` : 'the file is empty' };
  return { root: t.root, doc: t.doc };
}

/** Applies edits (sorted from the end) to a string: what the editor's WorkspaceEdit does. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.offset - a.offset)) out = out.slice(0, e.offset) + e.text + out.slice(e.offset + e.length);
  return out;
}

/** Undefined if the edits do exactly what `intended` says; else why they are refused. */
export function checkEdits(text: string, json: boolean, before: SNode, edits: TextEdit[], intended: Intended[], name: (p: Path) => string): string | undefined {
  const after = readTree(applyEdits(text, edits), json);
  if (!after.root) return `the edit would break the file (${after.error}); nothing was changed`;
  const want = new Map(intended.map(w => [pathId(w.path), w]));
  const reached = new Set<string>();
  const problem = diff(before, after.root, [], want, reached, name);
  if (problem) return `${problem}; nothing was changed`;
  const missed = intended.find(w => !reached.has(pathId(w.path)));
  return missed ? `the edit would not set ${missed.label}; nothing was changed` : undefined;
}

function diff(a: SNode | undefined, b: SNode | undefined, path: Path, want: Map<string, Intended>, reached: Set<string>, name: (p: Path) => string): string | undefined {
  const id = pathId(path);
  const w = want.get(id);
  if (w) {
    reached.add(id);
    return b && isDeepStrictEqual(toPlain(b), w.value) ? undefined : `the edit would make ${w.label} ${b ? JSON.stringify(toPlain(b)) : 'disappear'}, not ${JSON.stringify(w.value)}`;
  }
  if (!b) return `the edit would remove ${name(path)}`;
  if (!a) {
    // A new map (a `train:` section) may only hold intended values.
    if (b.kind !== 'map' || !b.entries.length) return `the edit would add ${name(path)}`;
    for (const e of b.entries) { const r = diff(undefined, e.value, [...path, e.key], want, reached, name); if (r) return r; }
    return undefined;
  }
  if (a.kind !== b.kind) return `the edit would change ${name(path)}`;
  if (a.kind === 'scalar' && b.kind === 'scalar') return Object.is(a.value, b.value) ? undefined : `the edit would change ${name(path)}`;
  if (a.kind === 'seq' && b.kind === 'seq') {
    if (a.items.length !== b.items.length) return `the edit would change ${name(path)}`;
    for (let i = 0; i < a.items.length; i++) { const r = diff(a.items[i], b.items[i], [...path, i], want, reached, name); if (r) return r; }
    return undefined;
  }
  if (a.kind === 'map' && b.kind === 'map') {
    const old = new Map<string, SNode>();
    for (const e of a.entries) if (!old.has(e.key)) old.set(e.key, e.value);
    const now = new Map<string, SNode>();
    for (const e of b.entries) if (!now.has(e.key)) now.set(e.key, e.value);
    for (const [k, v] of old) { const r = diff(v, now.get(k), [...path, k], want, reached, name); if (r) return r; }
    for (const [k, v] of now) if (!old.has(k)) { const r = diff(undefined, v, [...path, k], want, reached, name); if (r) return r; }
    return undefined;
  }
  return undefined;
}
