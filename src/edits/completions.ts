/**
 * Completions for *.nn.yaml / *.nn.json without any other extension: keys at each level and the values of
 * enumerated keys, read from the shipped JSON Schema (the same file the parser validates against, so a key the
 * schema gains is offered at once), with the activation, initializer, data-source and threshold tables giving
 * each item its formula and when-to-use. Pure: the editor adapter (src/vscode/completions.ts) only maps the items.
 *
 * The text at the cursor is usually not valid YAML/JSON (a key half typed), so the place is found from the text
 * around the cursor: JSON through jsonc-parser's error-tolerant scanner, YAML from indentation and flow brackets.
 */
import { getLocation, parseTree, findNodeAtLocation, type Node as JsonNode } from 'jsonc-parser';
import { ACTIVATIONS, ACTIVATION_NAMES } from '../core/activations';
import { INIT_NAMES, initDescription, varianceFormula } from '../core/initializers';
import { SOURCES } from '../data/sources';
import { THRESHOLD_DOCS } from '../diagnosis/thresholds';
import { NETWORK_SCHEMA } from '../config/schema';
import { FROM_MODEL } from '../config/layers';

export interface CompletionEntry {
  label: string;
  /** key: inserts `label: ` (YAML) or `"label": ` (JSON); value: inserts the label. */
  kind: 'key' | 'value';
  /** One line shown beside the label (formula, variance, description). */
  detail?: string;
  /** Markdown shown in the details pane. */
  documentation?: string;
  insertText: string;
  /** Order in the list: recommended first. */
  sortText?: string;
}

/** Where the cursor is: the path of the map (or value) it is in, and what is being typed there. */
export interface CursorPlace {
  /** Path of the enclosing map (for keys) or of the value's key (for values); numbers are list indices. */
  path: (string | number)[];
  kind: 'key' | 'value';
  /** Keys already present in the enclosing map (not offered again); for a layer, its `type` decides its keys. */
  siblings: Map<string, string>;
}

type Schema = Record<string, unknown>;

const OPTIMIZER_DOCS: Record<string, string> = {
  sgd: 'plain gradient descent: w -= lr * g',
  momentum: 'SGD with momentum (heavy ball): v = m*v + g; w -= lr * v',
  adam: 'Adam (Kingma & Ba 2015): per-weight step from running moments of g and g^2',
  rmsprop: 'RMSprop: w -= lr * g / (sqrt(running mean of g^2) + epsilon)',
};
const LOSS_DOCS: Record<string, string> = {
  mse: 'mean squared error: regression (linear output)',
  binary_cross_entropy: 'binary cross-entropy: one sigmoid output unit per label',
  cross_entropy: 'categorical cross-entropy: softmax output over the classes',
};

export function completionsAt(text: string, offset: number, format: 'yaml' | 'json'): CompletionEntry[] {
  const place = format === 'json' ? jsonPlace(text, offset) : yamlPlace(text, offset);
  if (!place) return [];
  return place.kind === 'key' ? keyItems(place, format) : valueItems(place, format);
}

// ---- schema walking -----------------------------------------------------------------------------------------

function deref(s: Schema | undefined): Schema | undefined {
  const ref = s?.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/definitions/')) return s;
  const defs = NETWORK_SCHEMA.definitions as Record<string, Schema>;
  return defs[ref.slice('#/definitions/'.length)];
}

/** The object schema's properties, with a layer's if/then branches narrowed by its `type` when it has one. */
function propertiesOf(s: Schema | undefined, siblings: Map<string, string>): Record<string, Schema> {
  s = deref(s);
  if (!s) return {};
  const props: Record<string, Schema> = { ...(s.properties as Record<string, Schema> | undefined) };
  const type = siblings.get('type');
  for (const branch of (s.allOf as Schema[] | undefined) ?? []) {
    const cond = ((branch.if as Schema | undefined)?.properties as Record<string, Schema> | undefined)?.type?.const;
    if (type !== undefined && cond !== type) continue;
    for (const [k, v] of Object.entries(((branch.then as Schema | undefined)?.properties as Record<string, Schema>) ?? {})) {
      if (!Object.hasOwn(props, k) || k === 'type') props[k] ??= v;
    }
  }
  for (const alt of (s.anyOf as Schema[] | undefined) ?? []) Object.assign(props, propertiesOf(alt, siblings));
  return props;
}

/** The schema at a path; list indices go to `items`, keys to properties (or additionalProperties). */
function schemaAt(path: (string | number)[], siblingsAtEnd: Map<string, string>): Schema | undefined {
  let s: Schema | undefined = NETWORK_SCHEMA as unknown as Schema;
  for (const [i, part] of path.entries()) {
    s = deref(s);
    if (!s) return undefined;
    if (typeof part === 'number') { s = s.items as Schema | undefined; continue; }
    const props = propertiesOf(s, i === path.length - 1 ? siblingsAtEnd : new Map());
    s = Object.hasOwn(props, part) ? props[part] : (typeof s.additionalProperties === 'object' ? s.additionalProperties as Schema : undefined);
  }
  return deref(s);
}

const FROM_MODEL_DETAIL = "this layer's weights from model.weights";
const FROM_MODEL_DOC = "Starts this layer from the model's own (trained) weights, read from `model.weights` (an ONNX file, or a TF.js model.json with its .bin files beside it) and matched by layer name; the other layers are drawn by their `init`. The layer's shape must equal the model's.";

function enumOf(s: Schema | undefined): string[] {
  s = deref(s);
  if (!s) return [];
  if (Array.isArray(s.enum)) return s.enum.map(String);
  if (s.type === 'boolean') return ['true', 'false'];
  for (const alt of (s.anyOf as Schema[] | undefined) ?? []) { const e = enumOf(alt); if (e.length) return e; }
  return [];
}

// ---- items --------------------------------------------------------------------------------------------------

function keyItems(place: CursorPlace, format: 'yaml' | 'json'): CompletionEntry[] {
  const last = place.path[place.path.length - 1];
  const out: CompletionEntry[] = [];
  const key = (label: string, detail?: string, documentation?: string, first = false): CompletionEntry => ({
    label, kind: 'key', detail, documentation, sortText: `${first ? 0 : 1}${label}`,
    insertText: format === 'json' ? `"${label}": ` : `${label}: `,
  });
  if (last === 'diagnostics') {
    for (const [k, doc] of Object.entries(THRESHOLD_DOCS)) if (!place.siblings.has(k)) out.push(key(k, doc));
    return out;
  }
  const parentSchema = schemaAt(place.path, place.siblings);
  const props = propertiesOf(parentSchema, place.siblings);
  const required = new Set(((deref(parentSchema)?.required as string[] | undefined) ?? []));
  for (const [k, s] of Object.entries(props)) {
    if (place.siblings.has(k) || k === '$schema') continue;
    out.push(key(k, typeof s.description === 'string' ? s.description : undefined, undefined, required.has(k)));
  }
  return out;
}

function valueItems(place: CursorPlace, format: 'yaml' | 'json'): CompletionEntry[] {
  const key = place.path[place.path.length - 1];
  const quote = (v: string) => format === 'json' && v !== 'true' && v !== 'false' ? `"${v}"` : v;
  const value = (label: string, detail?: string, documentation?: string, sortText?: string): CompletionEntry =>
    ({ label, kind: 'value', detail, documentation, insertText: quote(label), sortText: sortText ?? `1${label}` });
  if (key === 'activation' || (key === 'name' && place.path[place.path.length - 2] === 'activation')) {
    return ACTIVATION_NAMES.map(n => {
      const a = ACTIVATIONS[n];
      return value(n, `f(x) = ${a.formula}`, [
        `**${n}**: f(x) = ${a.formula}; f'(x) = ${a.derivative}; range ${a.range}`,
        `When to use: ${a.useWhen}`,
        `Pairs with init: \`${a.recommendedInit}\``,
        a.notes,
      ].filter(Boolean).join('\n\n'), `${a.hidden ? 0 : 1}${n}`);
    });
  }
  // Initializers belong to layers; model.init (random | from-model) comes from the schema below.
  const inLayer = place.path.includes('layers');
  if (inLayer && key === 'init' && place.siblings.get('type') === 'batchnorm') {
    return enumOf(schemaAt(place.path, place.siblings)).map(v => value(v, v === FROM_MODEL ? FROM_MODEL_DETAIL : 'fresh statistics: gamma 1, beta 0, mean 0, variance 1'));
  }
  if (inLayer && (key === 'init' || key === 'bias_init' || (key === 'name' && ['init', 'bias_init'].includes(String(place.path[place.path.length - 2]))))) {
    const items = INIT_NAMES.map(n => value(n, varianceFormula(n), initDescription(n)));
    if (key === 'init') items.push(value(FROM_MODEL, FROM_MODEL_DETAIL, FROM_MODEL_DOC, `2${FROM_MODEL}`));
    return items;
  }
  if (key === 'source' && place.path[0] === 'data') {
    return Object.entries(SOURCES).map(([n, s]) => value(n, s.description, s.keys.length ? `Keys: ${s.keys.join(', ')}` : undefined));
  }
  if (key === 'optimizer') return Object.entries(OPTIMIZER_DOCS).map(([n, d]) => value(n, d));
  if (key === 'loss') return Object.entries(LOSS_DOCS).map(([n, d]) => value(n, d));
  if (key === 'type' && place.path.includes('layers')) {
    const layer = deref(schemaAt(['model', 'layers', 0], new Map()));
    return (layer?.allOf as Schema[] ?? []).map(b => {
      const t = String(((b.if as Schema).properties as Record<string, Schema>).type.const);
      return value(t, String((b.then as Schema).description ?? ''));
    });
  }
  const parentSiblings = place.siblings;
  return enumOf(schemaAt(place.path, parentSiblings)).map(v => value(v));
}

// ---- JSON: jsonc-parser tolerates the half-typed text -------------------------------------------------------

function jsonPlace(text: string, offset: number): CursorPlace | undefined {
  const loc = getLocation(text, offset);
  const path = [...loc.path];
  if (loc.isAtPropertyKey) {
    path.pop();                                  // the key being typed
    return { path, kind: 'key', siblings: jsonSiblings(text, path) };
  }
  if (!path.length || typeof path[path.length - 1] === 'number' && loc.previousNode?.type !== 'string') {
    return path.length ? { path, kind: 'value', siblings: new Map() } : undefined;
  }
  return { path, kind: 'value', siblings: jsonSiblings(text, path.slice(0, -1)) };
}

function jsonSiblings(text: string, path: (string | number)[]): Map<string, string> {
  const out = new Map<string, string>();
  const tree = parseTree(text);
  const node: JsonNode | undefined = tree && (path.length ? findNodeAtLocation(tree, path) : tree);
  for (const p of node?.type === 'object' ? node.children ?? [] : []) {
    const [k, v] = p.children ?? [];
    if (k?.type === 'string') out.set(String(k.value), v && (v.type === 'string' || v.type === 'number') ? String(v.value) : '');
  }
  return out;
}

// ---- YAML: indentation and flow brackets ---------------------------------------------------------------------

const KEY_RE = /^(?:"([^"]*)"|'([^']*)'|([^\s:#{}[\],'"][^:#{}[\],]*?))\s*:(?:\s|$)/;

function indentOf(line: string): number { return line.length - line.trimStart().length; }
function isBlank(line: string): boolean { const t = line.trim(); return t === '' || t.startsWith('#'); }

/** Strips `- ` item markers: the column where the line's map content starts, and how many items it opens. */
function contentStart(line: string): { col: number; items: number[] } {
  let col = indentOf(line);
  const items: number[] = [];
  while (line.startsWith('- ', col) || line.slice(col) === '-') { items.push(col); col += 2; while (line[col] === ' ') col++; }
  return { col, items };
}

function keyOf(content: string): { key: string; rest: string } | undefined {
  const m = KEY_RE.exec(content);
  if (!m) return undefined;
  return { key: (m[1] ?? m[2] ?? m[3]).trim(), rest: content.slice(m[0].length) };
}

/**
 * Path of the map whose keys start at column `col` on line `lineNo`, walking up through the parents. `items` are
 * the columns of the `- ` markers on that line (each opens a list item: index 0 stands for any item).
 */
function blockParents(lines: string[], lineNo: number, col: number, items: number[]): (string | number)[] {
  const path: (string | number)[] = [];
  // What we look for the parent of: a map key at column `limit`, or (isItem) a list item marker at `limit`.
  let limit = col;
  let isItem = false;
  const enterItems = (its: number[]) => { path.unshift(...its.map(() => 0)); limit = its[0]; isItem = true; };
  if (items.length) enterItems(items);
  for (let i = lineNo - 1; i >= 0 && (isItem || limit > 0); i--) {
    const line = lines[i];
    if (isBlank(line)) continue;
    const { col: c, items: its } = contentStart(line);
    const k = keyOf(line.slice(c));
    if (!isItem) {
      if (its.length && c === limit) { enterItems(its); continue; }       // "- type: dense" above "  units: 3"
      if (c >= limit || !k) continue;                                        // a sibling, or deeper
    } else {
      if (indentOf(line) > limit || (its.length && its[0] === limit)) continue; // inside or at a sibling item
      if (!k || c > limit) continue;
    }
    path.unshift(k.key);                                                     // "layers:" above "- ..." or "data:" above "  source"
    if (its.length) enterItems(its); else { limit = c; isItem = false; }
  }
  return path;
}

/** Keys (with their scalar values) of the block map whose keys sit at column `col` around line `lineNo`. */
function blockSiblings(lines: string[], lineNo: number, col: number): Map<string, string> {
  const out = new Map<string, string>();
  const add = (i: number) => {
    const { col: c } = contentStart(lines[i]);
    if (c !== col) return;
    const k = keyOf(lines[i].slice(c));
    if (k) out.set(k.key, k.rest.replace(/#.*$/, '').trim().replace(/^["']|["']$/g, ''));
  };
  for (let i = lineNo; i >= 0; i--) {
    if (i !== lineNo && isBlank(lines[i])) continue;
    const { col: c, items } = contentStart(lines[i]);
    if (c < col && i !== lineNo) break;
    add(i);
    if (items.length && c === col) break;                          // the item's first line
  }
  for (let i = lineNo + 1; i < lines.length; i++) {
    if (isBlank(lines[i])) continue;
    if (indentOf(lines[i]) < col) break;
    add(i);
  }
  return out;
}

/** Keys and scalar values of one flow map's text `{a: 1, b: x}` (top level only). */
function flowSiblings(body: string): Map<string, string> {
  const out = new Map<string, string>();
  let depth = 0; let start = 0;
  const parts: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') { if (depth === 0) { parts.push(body.slice(start, i)); start = -1; break; } depth--; }
    else if (ch === ',' && depth === 0) { parts.push(body.slice(start, i)); start = i + 1; }
  }
  if (start >= 0) parts.push(body.slice(start));
  for (const p of parts) {
    const k = keyOf(p.trim());
    if (k) out.set(k.key, k.rest.trim().replace(/^["']|["']$/g, ''));
  }
  return out;
}

function yamlPlace(text: string, offset: number): CursorPlace | undefined {
  const lines = text.split(/\r?\n/);
  const lineNo = text.slice(0, offset).split(/\r?\n/).length - 1;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const cur = text.slice(lineStart, offset);
  if (/(^|\s)#/.test(cur.replace(/"[^"]*"|'[^']*'/g, ''))) return undefined;   // in a comment
  const line = lines[lineNo] ?? cur;

  // Flow collections opened on this line before the cursor: {type: dense, activation: |}
  const stack: { ch: string; at: number }[] = [];
  let quote: string | undefined;
  for (let i = 0; i < cur.length; i++) {
    const ch = cur[i];
    if (quote) { if (ch === quote) quote = undefined; continue; }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '{' || ch === '[') stack.push({ ch, at: i });
    else if (ch === '}' || ch === ']') stack.pop();
  }
  const { col, items } = contentStart(cur);
  if (stack.length) {
    // The block part before the first bracket: "  - " (a list item) or "  data: " (a key's value).
    const outer = cur.slice(0, stack[0].at);
    const outerStart = contentStart(outer);
    const path = blockParents(lines, lineNo, outerStart.col, outerStart.items);
    const outerKey = keyOf(outer.slice(outerStart.col));
    if (outerKey) path.push(outerKey.key);
    for (let d = 0; d < stack.length; d++) {
      const seg = cur.slice(stack[d].at + 1, d + 1 < stack.length ? stack[d + 1].at : cur.length);
      const lastSep = Math.max(seg.lastIndexOf(','), -1);
      const piece = seg.slice(lastSep + 1).trimStart();
      if (d + 1 < stack.length) {
        if (stack[d].ch === '[') path.push(0);
        else { const k = keyOf(piece); if (k) path.push(k.key); }
        continue;
      }
      if (stack[d].ch === '[') {
        return { path, kind: 'value', siblings: new Map() };
      }
      const siblings = flowSiblings(line.slice(stack[d].at + 1));
      const k = keyOf(piece);
      if (k) return { path: [...path, k.key], kind: 'value', siblings };
      return { path, kind: 'key', siblings };
    }
  }
  // Block context: "  key: |" is a value, "  ke|" or "  - |" a key.
  const content = cur.slice(Math.min(col, cur.length));
  const k = keyOf(content);
  const parents = blockParents(lines, lineNo, col, items);
  const siblings = blockSiblings(lines, lineNo, col);
  if (k && !k.rest.trimStart().startsWith('{') && !k.rest.trimStart().startsWith('[')) {
    return { path: [...parents, k.key], kind: 'value', siblings };
  }
  if (/^[^\s:]*$/.test(content)) { siblings.delete(content); return { path: parents, kind: 'key', siblings }; }
  return undefined;
}

/**
 * The text a completion replaces: the word at the cursor, in JSON the whole string token with its quotes (the
 * items carry their own), so "acti|" becomes "activation": and never ""activation"":.
 */
export function replaceRange(text: string, offset: number, format: 'yaml' | 'json'): { start: number; end: number } {
  const word = /[\w$.-]/;
  let start = offset; let end = offset;
  while (start > 0 && word.test(text[start - 1])) start--;
  while (end < text.length && word.test(text[end])) end++;
  if (format === 'json') {
    if (text[start - 1] === '"') start--;
    if (text[end] === '"') end++;
    // A key's own colon is part of what the item inserts.
    const rest = /^\s*:\s?/.exec(text.slice(end));
    if (rest && text[start] === '"' && text.slice(start, end).length > 0) end += rest[0].length;
  } else {
    const rest = /^:\s?/.exec(text.slice(end));
    if (rest) end += rest[0].length;
  }
  return { start, end };
}
