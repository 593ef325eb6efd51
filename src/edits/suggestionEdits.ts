/**
 * Text edits that apply a suggestion to the user's config: replace exactly the value that changes (or insert the
 * missing key at the layer's indentation), keeping comments and formatting everywhere else. Pure: the editor turns
 * these into a WorkspaceEdit (undoable); tests check them on real texts.
 */
import * as YAML from 'yaml';
import { isDeepStrictEqual } from 'node:util';
import type { InitSpec, LayerSpec, NetworkConfig, Span } from '../model';
import { parseConfigText } from '../config';
import { activationSpecOf } from '../core/activations';
import { canonicalInitName, resolveInit } from '../core/initializers';
import type { Suggestion } from '../diagnosis/types';
import { LineIndex, child, entry, type SNode } from '../config/tree';
import { applyEdits, checkEdits, readTree, type Intended, type TextEdit } from './editCheck';
import { pathId, yamlPlaces, type Path } from './yamlPlaces';

export { applyEdits, type TextEdit };
export type EditResult = { edits: TextEdit[] } | { error: string };

type Change = Pick<Suggestion, 'activation' | 'init' | 'lr' | 'clip'>;
/** An intended value and how to write it: `rendered` is its text in the file. */
interface Want extends Intended { rendered: string }

const isJson = (fileName: string) => /\.json$/i.test(fileName);

/**
 * Who loads a Keras JSON, read from the file itself: TF.js for a model.json (modelTopology / format), else Keras by
 * its keras_version (Keras 3 writes no version but "module" / "registered_name" keys). It decides which names a
 * quick fix may write: an initializer class or activation the loader does not know makes the file fail to load
 * there, even though our importer reads it.
 */
interface KerasLoader { kind: 'keras1' | 'keras2' | 'keras3' | 'tfjs'; label: string; version: number[] }

function kerasLoader(root: SNode): KerasLoader {
  const mt = child(root, 'modelTopology');
  const format = child(root, 'format');
  const v = child(root, 'keras_version') ?? child(mt, 'keras_version');
  const text = v?.kind === 'scalar' ? String(v.value) : '';
  const version = (/^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text) ?? []).slice(1).map(x => Number(x ?? 0));
  if (mt || (format?.kind === 'scalar' && format.value === 'layers-model')) return { kind: 'tfjs', label: 'TF.js', version };
  const keras3 = version[0] === 3 || (!text && (child(root, 'module') !== undefined || child(root, 'registered_name') !== undefined));
  if (keras3) return { kind: 'keras3', label: 'Keras 3', version };
  if (version[0] === 1) return { kind: 'keras1', label: `Keras ${text}`, version };
  return { kind: 'keras2', label: text ? `Keras ${text.replace(/-tf$/, '')}` : 'Keras 2', version };
}

const atLeast = (v: number[], ...min: number[]) => { for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]; return true; };

/** Activation names each loader knows (Keras 1.2 / 2.x activations.py, tfjs-layers keras_format/activation_config). */
function loaderKnowsActivation(loader: KerasLoader, name: string): boolean {
  const base = ['softmax', 'elu', 'softplus', 'softsign', 'relu', 'tanh', 'sigmoid', 'hard_sigmoid', 'linear'];
  switch (loader.kind) {
    case 'keras3': return true;
    case 'keras1': return base.includes(name);
    case 'keras2': return base.includes(name) || (name === 'selu' && atLeast(loader.version, 2, 0, 6))
      || (name === 'exponential' && atLeast(loader.version, 2, 2, 3)) || (['swish', 'gelu'].includes(name) && atLeast(loader.version, 2, 4));
    case 'tfjs': return [...base, 'relu6', 'selu', 'swish', 'mish', 'gelu'].includes(name);
  }
}

/** Keras 1 initializer names (initializations.py of Keras 1.2: no lecun_normal before Keras 2.0.6). */
const KERAS1_INITS = ['uniform', 'lecun_uniform', 'normal', 'identity', 'orthogonal', 'zero', 'one', 'glorot_normal', 'glorot_uniform', 'he_normal', 'he_uniform'];
/** The named initializers that are VarianceScaling with these arguments in every Keras and TF.js. */
const VARIANCE_SCALING: Record<string, [number, string, string]> = {
  glorot_uniform: [1, 'fan_avg', 'uniform'], glorot_normal: [1, 'fan_avg', 'normal'],
  he_uniform: [2, 'fan_in', 'uniform'], he_normal: [2, 'fan_in', 'normal'],
  lecun_uniform: [1, 'fan_in', 'uniform'], lecun_normal: [1, 'fan_in', 'normal'],
};

/**
 * The initializer value to write for this loader, or why none can be. Keras 1 writes a name. Keras 3 has a class
 * per initializer (HeNormal, LecunNormal) and writes it with its module. Keras 2.0.x had he_normal & co. as
 * functions only (no HeNormal class; later tf.keras spells LecunNormal, TF.js LeCunNormal), so Keras 2 and TF.js
 * get the VarianceScaling they all know. Its distribution "normal" is the truncated normal in Keras 2.0-2.2 and
 * TF.js, and tf.keras 2.x / Keras 3 read "normal" as "truncated_normal" ("compatibility with keras-team/keras"),
 * while "truncated_normal" is unknown to Keras 2.x (keras-team) and wrong in TF.js: tfjs-layers camel-cases it to
 * "truncatedNormal", accepts it and then draws the uniform (VarianceScaling.apply tests only for "normal").
 * Keras 2.0.x and TF.js draw "normal" without the 1/0.8796 stddev correction (Var = 0.774 scale / fan, as their
 * own he_normal does); keras-team Keras since #9963 (2018; 2.3.x has it), tf.keras and Keras 3 with it.
 */
function kerasInitValue(loader: KerasLoader, key: string, init: string): { value: unknown } | { error: string } {
  if (key === 'init') {
    return KERAS1_INITS.includes(init) ? { value: init } : { error: `Keras 1 has no "${init}" initializer, so the file would no longer load there. Change it by hand, e.g. to a similar one Keras 1 has` };
  }
  const cls = init.split('_').map(w => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  const vs = VARIANCE_SCALING[init];
  if (loader.kind === 'keras3') return { value: { module: 'keras.initializers', class_name: cls, config: { seed: null }, registered_name: null } };
  if (vs) return { value: { class_name: 'VarianceScaling', config: { scale: vs[0], mode: vs[1], distribution: vs[2], seed: null } } };
  return { value: { class_name: cls, config: {} } };
}

/** The layer's initializer is the named one: same name and every parameter as the name alone resolves to. */
function sameInit(init: InitSpec, name: string): boolean {
  const want = resolveInit(name);
  if (!want || (canonicalInitName(init.name) ?? init.name) !== (canonicalInitName(name) ?? name)) return false;
  const a = init as unknown as Record<string, unknown>, b = want as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].every(k => k === 'name' || a[k] === b[k]);
}

function lineStart(text: string, offset: number): number { return text.lastIndexOf('\n', offset - 1) + 1; }
function lineEnd(text: string, offset: number): number { const e = text.indexOf('\n', offset); return e < 0 ? text.length : e; }

/** Insert `key: value` into the mapping (YAML block or flow, or JSON object) whose span is given. */
function insertKey(text: string, json: boolean, mapping: Span, key: string, value: string): TextEdit {
  const start = mapping.start.offset, end = mapping.end.offset;
  const opening = text[start];
  const rendered = json ? `"${key}": ${value}` : `${key}: ${value}`;
  // New lines end like the file's lines (a CRLF file stays CRLF).
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  if (opening === '{') {
    const body = text.slice(start + 1, end - 1);
    const firstKey = /\S/.exec(body);
    if (body.includes('\n') && firstKey) {
      // Multi-line object: a new first line with the indentation of the current first key.
      const keyAt = start + 1 + firstKey.index;
      const indent = text.slice(lineStart(text, keyAt), keyAt);
      return { offset: start + 1, length: 0, text: `${eol}${indent}${rendered},` };
    }
    // One-line object: append before the closing brace, after the last entry.
    let close = end - 1;
    while (close > start && text[close] !== '}') close--;
    let last = close;
    while (last > start + 1 && /\s/.test(text[last - 1])) last--;
    return { offset: last, length: 0, text: firstKey ? `, ${rendered}` : rendered };
  }
  // YAML block mapping: a new line after the mapping's last line, at the indentation of its first key.
  const indent = ' '.repeat(mapping.start.character);
  let at = end;
  while (at > start && /\s/.test(text[at - 1])) at--;   // spans may include the trailing newline
  at = lineEnd(text, at);
  if (text[at - 1] === '\r') at--;
  return { offset: at, length: 0, text: `${eol}${indent}${rendered}` };
}

/** The path of the node written at exactly this span (JSON: every node is written once). */
function pathAt(root: SNode, span: Span | undefined): Path | undefined {
  if (!span) return undefined;
  const s = span.start.offset, e = span.end.offset;
  const find = (n: SNode, path: Path): Path | undefined => {
    if (n.span.start.offset === s && n.span.end.offset === e) return path;
    if (n.span.start.offset > s || n.span.end.offset < e) return undefined;
    if (n.kind === 'map') for (const x of n.entries) { const r = find(x.value, [...path, x.key]); if (r) return r; }
    if (n.kind === 'seq') for (let i = 0; i < n.items.length; i++) { const r = find(n.items[i], [...path, i]); if (r) return r; }
    return undefined;
  };
  return find(root, []);
}

export function suggestionEdits(text: string, fileName: string, config: NetworkConfig, layerIndices: number[], change: Change): EditResult {
  const json = isJson(fileName);
  const base = fileName.split(/[\\/]/).pop();
  const keras = !!config.model.keras && !/\.nn\.(ya?ml|json)$/i.test(fileName);
  // A config with `model.keras: file` holds no layers of its own: their spans are the reference, which an edit
  // would overwrite (`keras: relu`). Layer changes belong in the Keras file (see kerasReferenceEdits).
  if (config.model.keras && !keras && (change.activation || change.init) && layerIndices.length) {
    return { error: `the layers of ${base} come from ${config.model.keras}: change them there` };
  }
  const tree = readTree(text, json);
  if (!tree.root) return { error: `${base} has errors (${tree.error}): fix them first` };
  const root = tree.root;
  const loader = keras ? kerasLoader(root) : undefined;
  const layerName = (i: number) => config.model.layers[i]?.name ?? `#${i}`;
  const name = (p: Path) => p[0] === 'model' && p[1] === 'layers' && p.length >= 3
    ? `${p.length > 3 ? `the ${p.slice(3).join('.')} of ` : ''}layer ${layerName(Number(p[2]))}` : p.join('.') || 'the whole file';
  const str = (s: string) => (json ? JSON.stringify(s) : s);

  // What the suggestion means, value by value. In the config's own file a layer is model.layers[index]: never
  // where the layer is used (an alias) but its path, so an edit can be checked against every use of the node.
  const wants: Want[] = [];
  const noWeights: LayerSpec[] = [];
  const already: LayerSpec[] = [];
  const layersNode = child(child(root, 'model'), 'layers');
  for (const index of layerIndices) {
    const layer = config.model.layers[index];
    if (!layer) return { error: `layer ${index} is not in the config any more` };
    if (!keras && (layersNode?.kind !== 'seq' || layersNode.items.length !== config.model.layers.length || layersNode.items[index]?.kind !== 'map')) {
      return { error: `layer ${layer.name} is not written in ${base} as an item of model.layers: change it where it is written` };
    }
    const own = (key: string): Path => ['model', 'layers', index, key];
    if (change.activation) {
      if (!('activation' in layer)) return { error: `layer ${layer.name} (${layer.type}) has no activation` };
      const at = keras ? kerasPlace(root, layer, 'activation', change.activation) : { path: own('activation') };
      // All or nothing: a new activation on the other layers while this one stays would not be the suggested network.
      if ('error' in at) return layerIndices.length > 1 ? { error: `${at.error}. Nothing was changed in the other ${layerIndices.length > 2 ? `${layerIndices.length - 1} layers` : 'layer'} either, since the network would not be the suggested one with this layer left as it is` } : at;
      if (loader && !loaderKnowsActivation(loader, change.activation)) {
        return { error: change.activation === 'leaky_relu'
          ? `${loader.label} has no "leaky_relu" activation, so ${base} would no longer load there. Instead, add a LeakyReLU layer right after layer ${layer.name} and set the activation of ${layer.name} to "linear"`
          : `${loader.label} has no "${change.activation}" activation, so ${base} would no longer load there: change layer ${layer.name} by hand` };
      }
      // Keras 3's leaky_relu function has negative_slope 0.2 (our importer reads it so); the suggestion's is 0.01.
      if (loader?.kind === 'keras3' && change.activation === 'leaky_relu') {
        return { error: `Keras 3's "leaky_relu" activation has a negative slope of 0.2, not the suggested 0.01. Instead, add a LeakyReLU layer with "negative_slope": 0.01 right after layer ${layer.name} and set the activation of ${layer.name} to "linear"` };
      }
      wants.push({ path: at.path, value: change.activation, rendered: str(change.activation), label: `the activation of layer ${layer.name}` });
    }
    if (change.init) {
      // An activation layer in "all hidden layers": it has no weights to initialize, the layers with weights do.
      if (!('init' in layer)) { noWeights.push(layer); continue; }
      const at = keras ? kerasPlace(root, layer, 'init') : { path: own('init') };
      if ('error' in at) return at;
      // Written there already (its seed or spelling maybe not ours): left as it is. A default is not written, and
      // a config's default may follow the activation this fix changes, so only a written one counts.
      // The same name is not enough: {name: he_normal, scale: 1} is LeCun's variance, so every parameter must match.
      const cur = nodeAt(root, at.path);
      if (cur && !(cur.kind === 'scalar' && cur.value === null) && sameInit(layer.init, change.init)) { already.push(layer); continue; }
      // Keras 2/3 and TF.js write an initializer as {class_name, config}; Keras 1's `init` is a name.
      const written = loader ? kerasInitValue(loader, String(at.path[at.path.length - 1]), change.init) : { value: change.init };
      if ('error' in written) return { error: `layer ${layer.name}: ${written.error}` };
      const value = written.value;
      wants.push({ path: at.path, value, rendered: typeof value === 'string' ? str(value) : JSON.stringify(value), label: `the initializer of layer ${layer.name}` });
    }
  }
  for (const key of ['lr', 'clip'] as const) {
    const v = change[key];
    if (v === undefined) continue;
    if (keras) return { error: `set ${key} in a *.nn.yaml that imports this model (model.keras:), not in the Keras file` };
    const value = Number(v.toPrecision(3));
    wants.push({ path: ['train', key], value, rendered: String(value), label: `train.${key}` });
  }

  if (!wants.length) {
    // No edit at all must not look like a fix that worked.
    const names = noWeights.map(l => l.name);
    const have = already.map(l => l.name);
    return { error: noWeights.length
      ? `${names.length > 1 ? `layers ${names.join(', ')} have` : `layer ${names[0]} has`} no weights, so there is no initializer to set: apply the initializer to the Dense or Conv2D layer before it`
      : have.length ? `${have.length > 1 ? `layers ${have.join(', ')} already have` : `layer ${have[0]} already has`} the initializer ${change.init}: nothing to change`
        : 'the suggestion changes nothing in this file' };
  }
  const planned = json ? jsonEdits(text, root, wants, base) : yamlEdits(text, tree.doc, wants, name);
  if ('error' in planned) return planned;
  const edits = merge(planned.edits);
  // Whatever the plan, the edited text must read back with exactly these values changed.
  const problem = checkEdits(text, json, root, edits, wants, name)
    ?? (keras ? kerasReimportProblem(text, applyEdits(text, edits), fileName, layerIndices, change) : undefined);
  return problem ? { error: problem } : { edits };
}

function nodeAt(root: SNode, path: Path): SNode | undefined {
  let node: SNode | undefined = root;
  for (const seg of path) node = node?.kind === 'seq' ? node.items[Number(seg)] : child(node, String(seg));
  return node;
}

/**
 * Where a layer's activation or initializer is written in a Keras JSON: a key of the layer's "config" (inserted
 * there when missing), or an error when no edit of one value can change it (the activation of a ReLU or
 * LeakyReLU layer is its class). Never the nearest written ancestor the importer's spans fall back to.
 */
function kerasPlace(root: SNode, layer: LayerSpec, field: 'activation' | 'init', activation?: string): { path: Path } | { error: string } {
  const lp = pathAt(root, layer.span);
  const node = lp && nodeAt(root, lp);
  const cls = child(node, 'class_name');
  const cfg = child(node, 'config');
  if (!lp || cfg?.kind !== 'map') return { error: `layer ${layer.name} has no "config" in the file to write its ${field === 'init' ? 'initializer' : field} in: change it by hand` };
  const className = cls?.kind === 'scalar' ? String(cls.value) : layer.type;
  const cp = [...lp, 'config'];
  if (field === 'activation') {
    const written = pathAt(root, layer.spans?.activation);
    if (written && written.length === cp.length + 1 && pathId(written.slice(0, -1)) === pathId(cp)) return { path: written };
    // Recorded at the class name (ReLU, LeakyReLU, ELU, Softmax, PReLU): renaming the class is no layer Keras has.
    if (written || !['dense', 'conv2d', 'activation'].includes(layer.type)) {
      const replacement = JSON.stringify({ class_name: 'Activation', config: { name: layer.name, activation: activation ?? 'relu' } }).replace(/([:,])/g, '$1 ');
      return { error: `layer ${layer.name} is ${/^[AEIOU]/i.test(className) ? 'an' : 'a'} ${className} layer, which always applies its own function: there is no activation setting to change. To use ${activation ?? 'another activation'} there, replace the layer in the file by ${replacement}` };
    }
    return { path: [...cp, 'activation'] };
  }
  // The key the importer reads (keras.ts weighted(): kernel_initializer, or Keras 1's init), else the one this
  // file's Keras version writes.
  const has = (k: string) => entry(cfg, k) !== undefined;
  const set = (k: string) => { const v = child(cfg, k); return !!v && !(v.kind === 'scalar' && v.value === null); };
  const version = child(root, 'keras_version');
  const keras1 = (version?.kind === 'scalar' && /^1\./.test(String(version.value))) || has('output_dim') || has('nb_filter');
  const keys = ['kernel_initializer', 'init'];
  const key = keys.find(set) ?? keys.find(has) ?? (keras1 ? 'init' : 'kernel_initializer');
  return { path: [...cp, key] };
}

/** Layer fields with no bearing on what the model is: where they are written. */
function withoutSpans(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutSpans);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'span' && k !== 'spans').map(([k, x]) => [k, withoutSpans(x)]));
}

/**
 * The safety net of a Keras/TF.js edit: the edited text, imported as the file is, must give the same layers
 * (names, types) with the targets' activation and initializer the intended ones and everything else as before.
 * A JSON value set right can still be a file Keras or the importer reads differently (a class renamed, a key
 * outside "config").
 */
export function kerasReimportProblem(text: string, edited: string, fileName: string, targets: number[], change: Change): string | undefined {
  const base = fileName.split(/[\\/]/).pop();
  const before = parseConfigText(text, fileName).config;
  if (!before) return `${base} does not import: fix it first; nothing was changed`;
  const after = parseConfigText(edited, fileName);
  const err = after.problems.find(p => p.severity === 'error');
  if (err || !after.config) return `the edited ${base} would not import (${err?.message ?? 'no model'}); nothing was changed`;
  const a = before.model.layers, b = after.config.model.layers;
  if (a.length !== b.length || a.some((l, i) => l.name !== b[i].name || l.type !== b[i].type)) return `the edit would change the layers of ${base}; nothing was changed`;
  const expected = structuredClone(withoutSpans(before)) as NetworkConfig;
  for (const i of targets) {
    const was = a[i], now = b[i];
    const want = expected.model.layers[i];
    if (change.activation && 'activation' in was) {
      const intended = activationSpecOf(change.activation)?.name ?? change.activation;
      if (!('activation' in now) || now.activation.name !== intended) return `the edit would not make the activation of layer ${was.name} ${change.activation} (it imports as ${'activation' in now ? now.activation.name : 'none'}); nothing was changed`;
      (want as { activation: unknown }).activation = withoutSpans(now.activation);
    }
    if (change.init && 'init' in was) {
      const intended = canonicalInitName(change.init) ?? change.init;
      if (!('init' in now) || (canonicalInitName(now.init.name) ?? now.init.name) !== intended) return `the edit would not make the initializer of layer ${was.name} ${change.init} (it imports as ${'init' in now ? now.init.name : 'none'}); nothing was changed`;
      (want as { init: unknown }).init = withoutSpans(now.init);
    }
  }
  const got = withoutSpans(after.config) as NetworkConfig;
  for (let i = 0; i < a.length; i++) {
    if (!isDeepStrictEqual(expected.model.layers[i], got.model.layers[i])) return `the edit would also change layer ${a[i].name} as ${base} imports it; nothing was changed`;
  }
  if (isDeepStrictEqual(expected, got)) return undefined;
  // Name what else changed (an output activation changes the inferred loss or data, say), two levels deep.
  const differs = (x: unknown, y: unknown, at: string): string[] => {
    if (isDeepStrictEqual(x, y)) return [];
    if (at.includes('.') || typeof x !== 'object' || typeof y !== 'object' || !x || !y) return [at];
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])];
    return keys.flatMap(k => differs((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  };
  const what = differs(expected, got, '').filter(k => k !== 'model.layers');
  return `the edit would also change ${what.slice(0, 3).join(', ') || 'the model'} as ${base} imports it; nothing was changed`;
}

/** JSON has no aliases: each value is written where it is. */
function jsonEdits(text: string, root: SNode, wants: Want[], base: string | undefined): { edits: TextEdit[] } | { error: string } {
  const edits: TextEdit[] = [];
  for (const w of wants) {
    let node: SNode | undefined = root;
    for (const seg of w.path.slice(0, -1)) node = node?.kind === 'seq' ? node.items[Number(seg)] : child(node, String(seg));
    const key = String(w.path[w.path.length - 1]);
    if (node?.kind !== 'map') {
      if (w.path.length === 2 && w.path[0] === 'train') return { error: `add a "train" section to ${base} first` };
      return { error: `cannot find where to write ${w.label}` };
    }
    const at = entry(node, key);
    edits.push(at ? { offset: at.value.span.start.offset, length: at.value.span.end.offset - at.value.span.start.offset, text: w.rendered }
      : insertKey(text, true, node.span, key, w.rendered));
  }
  return { edits };
}

/**
 * YAML: each value is written where its node is written (at the anchor, for an alias), and only if every path
 * that uses that node is meant to get the same value; otherwise the fix would change layers it is not for.
 */
function yamlEdits(text: string, doc: YAML.Document.Parsed | undefined, wants: Want[], name: (p: Path) => string): { edits: TextEdit[] } | { error: string } {
  const places = yamlPlaces(text, doc);
  if ('error' in places) return places;
  const lines = new LineIndex(text);
  const byPath = new Map(wants.map(w => [pathId(w.path), w]));
  const edits: TextEdit[] = [];
  const newTrain: Want[] = [];
  for (const w of wants) {
    const container = w.path.slice(0, -1), key = String(w.path[w.path.length - 1]);
    const map = places.node(container);
    if (!map && container.length === 1 && container[0] === 'train' && YAML.isMap(places.node([])) && !places.pair(places.node([]) as YAML.YAMLMap, 'train')) {
      newTrain.push(w);
      continue;
    }
    if (!YAML.isMap(map) || !map.range) return { error: `cannot find where to write ${w.label}` };
    if (places.pair(map, '<<')) return { error: `${w.label} is in a mapping with a merge key (<<): change it by hand` };
    const pair = places.pair(map, key);
    let uses: Path[] = places.pathsOf(map).map(p => [...p, key]);
    let shared: YAML.Node = map;
    let edit: TextEdit;
    if (pair) {
      const v = pair.value as YAML.Node | null;
      if (!v?.range) return { error: `${w.label} has no value to replace: write it by hand` };
      // Replace the value's text (an alias token included: then only this use changes); a block scalar's
      // range ends after its line break, which stays.
      const s = v.range[0];
      let e = v.range[1];
      while (e > s && /\s/.test(text[e - 1])) e--;
      edit = { offset: s, length: e - s, text: w.rendered };
      if (!YAML.isAlias(v) && places.pathsOf(v).length > 1) { uses = [...uses, ...places.pathsOf(v)]; shared = v; }
    } else {
      edit = insertKey(text, false, lines.span(map.range[0], map.range[1]), key, w.rendered);
    }
    const others = uses.filter(u => { const o = byPath.get(pathId(u)); return !o || !isDeepStrictEqual(o.value, w.value); });
    if (others.length) {
      // Name the anchor: on the value, on its mapping, or on a mapping or list above it.
      let anchor = shared.anchor;
      for (let i = container.length; !anchor && i >= 0; i--) {
        const n = places.node(container.slice(0, i));
        if (n?.anchor && places.pathsOf(n).length > 1) anchor = n.anchor;
      }
      const names = [...new Set(others.map(name))];
      return { error: `cannot change ${w.label} alone: it is written once${anchor ? `, at &${anchor},` : ''} and shared with ${names.slice(0, 4).join(', ')}${names.length > 4 ? ` and ${names.length - 4} more` : ''}, which this fix does not change the same way. Write the layer out in full (no *alias) to change it alone` };
    }
    edits.push(edit);
  }
  if (newTrain.length) {
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const body = newTrain.map(w => `  ${w.path[1]}: ${w.rendered}${eol}`).join('');
    edits.push({ offset: text.length, length: 0, text: `${text.length && !text.endsWith('\n') ? eol : ''}train:${eol}${body}` });
  }
  return { edits };
}

/**
 * One edit per place: the same change reached through several layers (an anchor they all share) is written once;
 * insertions at the same offset become one, in order.
 */
function merge(edits: TextEdit[]): TextEdit[] {
  const seen = new Set<string>();
  const unique = edits.filter(e => { const k = `${e.offset}:${e.length}:${e.text}`; if (seen.has(k)) return false; seen.add(k); return true; });
  const out: TextEdit[] = [];
  for (const e of unique) {
    const same = e.length === 0 ? out.find(o => o.length === 0 && o.offset === e.offset) : undefined;
    if (same) same.text += e.text; else out.push({ ...e });
  }
  return out.sort((a, b) => b.offset - a.offset);
}

/**
 * A suggestion for a config whose layers come from `model.keras: file`: the layer changes (activation, init) are
 * edits of the Keras JSON, at its own values; lr / clip stay in the config. `kerasConfig` is the Keras file parsed
 * on its own; it must list the same layers as the config imported, or nothing is edited.
 */
export function kerasReferenceEdits(configText: string, configFile: string, config: NetworkConfig,
  kerasText: string, kerasFile: string, kerasConfig: NetworkConfig | undefined, layerIndices: number[], change: Change): { config: TextEdit[]; keras: TextEdit[] } | { error: string } {
  const ref = config.model.keras ?? kerasFile;
  const layerChange = !!(change.activation || change.init) && layerIndices.length > 0;
  let keras: TextEdit[] = [];
  if (layerChange) {
    if (!kerasConfig) return { error: `${ref} has errors: fix them before applying a suggestion to its layers` };
    const a = config.model.layers, b = kerasConfig.model.layers;
    if (a.length !== b.length || a.some((l, i) => l.name !== b[i].name || l.type !== b[i].type)) {
      return { error: `${ref} changed since the config was read: run the linter again` };
    }
    const r = suggestionEdits(kerasText, kerasFile, kerasConfig, layerIndices, { activation: change.activation, init: change.init });
    if ('error' in r) return r;
    keras = r.edits;
  }
  let own: TextEdit[] = [];
  if (change.lr !== undefined || change.clip !== undefined) {
    const r = suggestionEdits(configText, configFile, config, [], { lr: change.lr, clip: change.clip });
    if ('error' in r) return r;
    own = r.edits;
  }
  return { config: own, keras };
}
