/**
 * A source tree with positions, the same for YAML and JSON: every map, list and scalar keeps the span of its
 * value, every map entry the span of its key. The builder reads this tree (never the raw YAML/JSON objects),
 * so every problem can point at the exact key or value.
 *
 * Bounded by construction: aliases are followed while counting nodes (an alias bomb stops at MAX_NODES),
 * nesting stops at MAX_DEPTH, keys like `__proto__` are plain data.
 */
import * as YAML from 'yaml';
import { plainYamlMessage, plainYamlMistake } from './yamlHints';
import * as jsonc from 'jsonc-parser';
import type { InputProblem, Pos, Span } from '../model';

export interface Entry { key: string; keySpan: Span; value: SNode }
export type SNode =
  | { kind: 'map'; span: Span; entries: Entry[] }
  | { kind: 'seq'; span: Span; items: SNode[] }
  | { kind: 'scalar'; span: Span; value: string | number | boolean | null };

export const MAX_TEXT_CHARS = 1_000_000;
export const MAX_DEPTH = 48;
/** The YAML library slows down superlinearly on very long block maps; a network config is far shorter. */
export const MAX_YAML_LINES = 3000;
export const MAX_NODES = 50_000;

/**
 * A JSON text with a leading UTF-8 byte order mark (Windows editors write one) read as if the mark were a space:
 * JSON parsers refuse the mark, and a space of the same length keeps every offset, line and character right.
 */
export function bomAsSpace(text: string): string {
  return text.charCodeAt(0) === 0xfeff && /^\ufeff\s*[{[]/.test(text) ? ` ${text.slice(1)}` : text;
}

/** Offsets to 0-based line/character. */
export class LineIndex {
  private starts: number[] = [0];
  constructor(private text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  pos(offset: number): Pos {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (this.starts[mid] <= o) lo = mid; else hi = mid - 1; }
    return { line: lo, character: o - this.starts[lo], offset: o };
  }
  span(start: number, end: number): Span { return { start: this.pos(start), end: this.pos(Math.max(start, end)) }; }
}

export interface TreeResult { root?: SNode; problems: InputProblem[]; /** The parsed YAML, for who needs its anchors. */ doc?: YAML.Document.Parsed }

class Budget {
  nodes = 0;
  aliases = new Map<unknown, unknown>();
  tooDeep = false;
  tooMany = false;
}

// ---- YAML -------------------------------------------------------------------------------------------------

export function yamlTree(text: string, lines: LineIndex): TreeResult {
  const problems: InputProblem[] = [];
  const deep = yamlDepthProblem(text, lines);
  if (deep) return { problems: [deep] };
  // Duplicate keys are checked here while building the tree: the library's check is quadratic in a map's size.
  // The library makes an Error object per syntax problem; their stacks are never read, and with a high
  // Error.stackTraceLimit (test runners set Infinity) a file with hundreds of problems would spend its time there.
  const limit = Error.stackTraceLimit;
  let doc: YAML.Document.Parsed;
  try {
    Error.stackTraceLimit = 0;
    doc = YAML.parseDocument(text, { uniqueKeys: false, prettyErrors: false, strict: true });
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (doc.errors.length) {
    // Errors after the first are mostly the parser losing its way: say the first one, in plain words.
    const [s, t] = doc.errors[0].pos ?? [0, 0];
    const first: InputProblem = { severity: 'error', message: plainYamlMessage(doc.errors[0].message), span: lines.span(s, t) };
    const mistake = plainYamlMistake(text, lines);
    // The parser notices a bad line at the earliest on the line before it (the key it was reading).
    return { problems: [mistake && mistake.span!.start.line <= first.span!.start.line + 1 ? mistake : first] };
  }
  for (const e of doc.warnings.slice(0, 20)) {
    const [s, t] = e.pos ?? [0, 0];
    problems.push({ severity: 'warning', message: yamlMessage(e.message), span: lines.span(s, t) });
  }
  if (doc.contents === null) return { problems };
  const budget = new Budget();
  // Each alias's node, found in one pass in document order (Alias.resolve would search the whole document for
  // every alias). An alias names the nearest anchor before it: a name anchored twice means two different nodes.
  budget.aliases = yamlAliasTargets(doc);
  const root = fromYaml(doc.contents, lines, 0, budget, problems);
  limitProblems(budget, problems, lines);
  return { root: budget.tooDeep || budget.tooMany ? undefined : root, problems, doc };
}

/** The node each alias of the document stands for: the nearest node before it with that anchor (YAML 1.2). */
export function yamlAliasTargets(doc: YAML.Document): Map<unknown, unknown> {
  const anchors = new Map<string, unknown>(), targets = new Map<unknown, unknown>();
  YAML.visit(doc, {
    Node(_k, n) {
      if (YAML.isAlias(n)) { const t = anchors.get(n.source); if (t) targets.set(n, t); }
      else if (n.anchor) anchors.set(n.anchor, n);
    },
  });
  return targets;
}

/**
 * The YAML library recurses per nesting level (and would exhaust the stack on `- - - - ...`): estimate the
 * depth first, from indentation, compact sequences (`- - x`) and flow brackets.
 */
function yamlDepthProblem(text: string, lines: LineIndex): InputProblem | undefined {
  const indents: number[] = [];
  let flow = 0, offset = 0, count = 0;
  const refuse = (at: number) => ({ severity: 'error' as const, message: `nesting deeper than ${MAX_DEPTH} levels`, span: lines.span(at, at + 1) });
  for (const line of text.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (line.trim() !== '' && !line.trimStart().startsWith('#')) {
      if (++count > MAX_YAML_LINES) return { severity: 'error', message: `more than ${MAX_YAML_LINES} lines: too long for a network config`, span: lines.span(offset, offset + line.length) };
      while (indents.length && indents[indents.length - 1] > indent) indents.pop();
      if (!indents.length || indents[indents.length - 1] < indent) indents.push(indent);
      const compact = /^(?:[-?:]\s+)+/.exec(line.slice(indent))?.[0].replace(/\s+/g, '').length ?? 0;
      if (indents.length + compact > MAX_DEPTH) return refuse(offset + indent);
      let quote = '';
      for (let i = indent; i < line.length; i++) {
        const c = line[i];
        if (quote) { if (c === quote) quote = ''; continue; }
        if (c === '"' || c === "'") quote = c;
        else if (c === '#' && (i === 0 || line[i - 1] === ' ')) break;
        else if (c === '[' || c === '{') { if (++flow > MAX_DEPTH) return refuse(offset + i); }
        else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
      }
    }
    offset += line.length + 1;
  }
  return undefined;
}

function yamlMessage(m: string): string {
  // The library's messages end with a code excerpt after a blank line; the editor shows the place itself.
  return m.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '').slice(0, 300);
}

function fromYaml(node: unknown, lines: LineIndex, depth: number, budget: Budget, problems: InputProblem[]): SNode {
  budget.nodes++;
  const range = (node as { range?: [number, number, number] }).range ?? [0, 0, 0];
  const span = lines.span(range[0], range[1]);
  if (budget.nodes > MAX_NODES) { budget.tooMany = true; return { kind: 'scalar', span, value: null }; }
  if (depth > MAX_DEPTH) { budget.tooDeep = true; return { kind: 'scalar', span, value: null }; }
  if (YAML.isAlias(node)) {
    const target = budget.aliases.get(node);
    if (!target) return { kind: 'scalar', span, value: null };
    // The alias stands where it is written; its content is the anchored node's.
    const inner = fromYaml(target, lines, depth + 1, budget, problems);
    return { ...inner, span } as SNode;
  }
  if (YAML.isMap(node)) {
    const entries: Entry[] = [];
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (budget.tooDeep || budget.tooMany) break;
      const k = pair.key as { range?: [number, number, number]; value?: unknown } | null;
      const keyText = (YAML.isScalar(k) ? String(k.value) : k ? String((k as object).toString()) : '').slice(0, 200);
      const kr = k?.range ?? range;
      const keySpan = lines.span(kr[0], kr[1]);
      if (seen.has(keyText) && problems.length < 50) problems.push({ severity: 'error', message: `duplicate key "${keyText.slice(0, 60)}"`, span: keySpan });
      seen.add(keyText);
      const value = pair.value === null || pair.value === undefined
        ? { kind: 'scalar' as const, span: lines.span(kr[1], kr[1]), value: null }
        : fromYaml(pair.value, lines, depth + 1, budget, problems);
      entries.push({ key: keyText, keySpan, value });
    }
    return { kind: 'map', span, entries };
  }
  if (YAML.isSeq(node)) {
    const items: SNode[] = [];
    for (const it of node.items) {
      if (budget.tooDeep || budget.tooMany) break;
      items.push(it === null || it === undefined ? { kind: 'scalar', span, value: null } : fromYaml(it, lines, depth + 1, budget, problems));
    }
    return { kind: 'seq', span, items };
  }
  if (YAML.isScalar(node)) {
    const v = node.value;
    const value = typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v === null ? v
      : typeof v === 'bigint' ? Number(v) : String(v);
    return { kind: 'scalar', span, value };
  }
  return { kind: 'scalar', span, value: null };
}

// ---- JSON -------------------------------------------------------------------------------------------------

export function jsonTree(text: string, lines: LineIndex): TreeResult {
  text = bomAsSpace(text);
  const problems: InputProblem[] = [];
  const depthProblem = jsonDepthProblem(text, lines);
  if (depthProblem) return { problems: [depthProblem] };
  const errors: jsonc.ParseError[] = [];
  const tree = jsonc.parseTree(text, errors, { allowTrailingComma: false, disallowComments: false });
  for (const e of errors.slice(0, 20)) {
    problems.push({ severity: 'error', message: `JSON: ${jsonc.printParseErrorCode(e.error)}`, span: lines.span(e.offset, e.offset + e.length) });
  }
  if (errors.length || !tree) {
    if (!tree && !errors.length) problems.push({ severity: 'error', message: 'the file is empty', span: lines.span(0, 0) });
    return { problems };
  }
  const budget = new Budget();
  const root = fromJson(tree, lines, 0, budget, problems);
  limitProblems(budget, problems, lines);
  return { root: budget.tooDeep || budget.tooMany ? undefined : root, problems };
}

/** jsonc-parser recurses per nesting level: refuse deep nesting before it does (and before the stack does). */
export function jsonDepthProblem(text: string, lines: LineIndex): InputProblem | undefined {
  let depth = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > MAX_DEPTH) return { severity: 'error', message: `nesting deeper than ${MAX_DEPTH} levels`, span: lines.span(i, i + 1) };
    } else if (c === 93 || c === 125) depth--;
  }
  return undefined;
}

function fromJson(node: jsonc.Node, lines: LineIndex, depth: number, budget: Budget, problems: InputProblem[]): SNode {
  budget.nodes++;
  const span = lines.span(node.offset, node.offset + node.length);
  if (budget.nodes > MAX_NODES) { budget.tooMany = true; return { kind: 'scalar', span, value: null }; }
  if (depth > MAX_DEPTH) { budget.tooDeep = true; return { kind: 'scalar', span, value: null }; }
  if (node.type === 'object') {
    const entries: Entry[] = [];
    const seen = new Set<string>();
    for (const prop of node.children ?? []) {
      const [k, v] = prop.children ?? [];
      if (!k) continue;
      const key = String(k.value).slice(0, 200);
      const keySpan = lines.span(k.offset, k.offset + k.length);
      if (seen.has(key) && problems.length < 50) problems.push({ severity: 'error', message: `duplicate key "${key.slice(0, 60)}"`, span: keySpan });
      seen.add(key);
      entries.push({ key, keySpan, value: v ? fromJson(v, lines, depth + 1, budget, problems) : { kind: 'scalar', span: keySpan, value: null } });
    }
    return { kind: 'map', span, entries };
  }
  if (node.type === 'array') return { kind: 'seq', span, items: (node.children ?? []).map(c => fromJson(c, lines, depth + 1, budget, problems)) };
  return { kind: 'scalar', span, value: node.value as string | number | boolean | null };
}

function limitProblems(budget: Budget, problems: InputProblem[], lines: LineIndex): void {
  if (budget.tooDeep) problems.push({ severity: 'error', message: `nesting deeper than ${MAX_DEPTH} levels`, span: lines.span(0, 0) });
  if (budget.tooMany) problems.push({ severity: 'error', message: `more than ${MAX_NODES} values (after expanding aliases): not a network config`, span: lines.span(0, 0) });
}

// ---- reading the tree -------------------------------------------------------------------------------------

export function entry(map: SNode | undefined, key: string): Entry | undefined {
  return map?.kind === 'map' ? map.entries.find(e => e.key === key) : undefined;
}
export function child(map: SNode | undefined, key: string): SNode | undefined { return entry(map, key)?.value; }

/** The plain value (for the schema validator); `__proto__` and friends become own data properties. */
export function toPlain(node: SNode): unknown {
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'seq') return node.items.map(toPlain);
  const o: Record<string, unknown> = {};
  for (const e of node.entries) Object.defineProperty(o, e.key, { value: toPlain(e.value), enumerable: true, writable: true, configurable: true });
  return o;
}

/** The node at a JSON pointer ("/model/layers/0/units"), and the deepest node found on the way. */
export function nodeAt(root: SNode, pointer: string): { node: SNode; exact: boolean; keySpan?: Span } {
  let node = root; let keySpan: Span | undefined;
  const parts = pointer.split('/').slice(1).map(p => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (const p of parts) {
    if (node.kind === 'map') {
      const e = node.entries.find(x => x.key === p);
      if (!e) return { node, exact: false, keySpan };
      node = e.value; keySpan = e.keySpan;
    } else if (node.kind === 'seq') {
      const it = node.items[Number(p)];
      if (!it) return { node, exact: false, keySpan };
      node = it; keySpan = undefined;
    } else return { node, exact: false, keySpan };
  }
  return { node, exact: true, keySpan };
}

export function describe(node: SNode): string {
  if (node.kind === 'map') return 'a map';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'nothing';
  return typeof node.value === 'string' ? `"${node.value.length > 40 ? node.value.slice(0, 40) + '...' : node.value}"` : String(node.value);
}
