/**
 * Keras / TF.js import (SPEC §2.2): `model.to_json()` of Keras <= 2.1 (config is a list), tf.keras 2.x
 * (Sequential, and Functional graphs that are one chain), Keras 3 (module/registered_name, DTypePolicy,
 * batch_shape, `__keras_tensor__` nodes) and TF.js layers-model model.json (with or without model_config,
 * nested Sequential). Spans point into the Keras JSON. Anything else is a clear message naming the class and
 * its place; what was understood up to there is still returned as `partial` for static lint.
 */
import * as jsonc from 'jsonc-parser';
import * as YAML from 'yaml';
import type { ActivationSpec, DenseLayer, InitSpec, LayerSpec, LossName, NetworkConfig, OptimizerName, Span, TrainSpec } from '../model';
import { activationSpecOf } from '../core/activations';
import { canonicalInitName, initRankProblem, resolveInit } from '../core/initializers';
import { finishConfig, type Draft, type FinishOptions } from './finish';
import { LOSS_ALIASES } from './parse';
import { Reporter } from './read';
import { inferShapes } from './shapes';
import { LineIndex } from './tree';
import { defaultInit, DEFAULT_BIAS_INIT, DEFAULT_INIT } from './layers';
import type { ParseResult } from './result';

type Json = Record<string, unknown>;
type Path = (string | number)[];
/** 0.30000001192092896 -> 0.3: Keras writes float32 values as float64; keep the number the user typed. */
export function f32(x: number): number {
  const short = Number(x.toPrecision(7));
  return Math.fround(short) === Math.fround(x) ? short : x;
}
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: Json, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);

/** Positions in the Keras file by JSON path. */
class Locator {
  private tree: jsonc.Node | undefined;
  private lines: LineIndex;
  constructor(text: string) {
    this.lines = new LineIndex(text);
    try { this.tree = jsonc.parseTree(text); } catch { this.tree = undefined; }
  }
  span(path: Path): Span | undefined {
    if (!this.tree) return undefined;
    for (let p = path; p.length >= 0; p = p.slice(0, -1)) {
      const n = jsonc.findNodeAtLocation(this.tree, p);
      if (n) return this.lines.span(n.offset, n.offset + n.length);
      if (!p.length) break;
    }
    return undefined;
  }
}

/** True when a JSON value looks like a Keras/TF.js model (or one of the look-alikes we name when refusing). */
export function looksLikeKeras(json: unknown): boolean {
  if (!isObj(json)) return Array.isArray(json) && json.length > 0 && isObj(json[0]) && 'class_name' in json[0];
  return ['modelTopology', 'class_name', 'keras_version', 'weightsManifest', 'learner', 'coef', 'format'].some(k => own(json, k) !== undefined);
}

interface RawLayer { cls: string; config: Json; path: Path; node: Json }

export interface KerasDraft { name?: string; input?: number[]; layers: LayerSpec[]; train: Partial<TrainSpec>; spans: Record<string, Span>; complete: boolean }

/** The layers, input and training settings of a Keras JSON, problems into `rep` with spans in the Keras file. */
export function readKeras(json: unknown, text: string, rep: Reporter): KerasDraft {
  const before = rep.problems.length;
  const out = readModel(json, text, rep);
  // A model of no layers (an empty list, an InputLayer only) is said at its layer list, also through model.keras,
  // where it was no problem at all and no config.
  if (!out.layers.length && !rep.problems.slice(before).some(p => p.severity === 'error')) rep.error(out.spans['model.layers'] ?? out.spans.model, 'the model has no layers');
  return out;
}

function readModel(json: unknown, text: string, rep: Reporter): KerasDraft {
  const loc = new Locator(text);
  const out: KerasDraft = { layers: [], train: {}, spans: {}, complete: false };
  const fail = (path: Path, message: string) => { rep.error(loc.span(path), message); return out; };
  if (!isObj(json)) {
    if (Array.isArray(json) && json.length && isObj(json[0]) && typeof json[0].class_name === 'string') {
      // The file is the layer list itself: its layers are at [i], not under a "config" the file does not have;
      // the model and its layer list are the array (a problem of the whole model is shown from its line 1).
      const whole = loc.span([]);
      if (whole) { out.spans.model = whole; out.spans['model.layers'] = whole; }
      return walkModel({ class_name: 'Sequential', config: json }, [], loc, rep, out, []);
    }
    return fail([], 'not a Keras or TF.js model: expected a JSON object with "class_name" and "config" (model.to_json()) or "modelTopology" (TF.js model.json)');
  }
  let root: unknown = json; let rootPath: Path = [];
  let training: unknown = own(json, 'training_config'); let trainingPath: Path = ['training_config'];
  const mt = own(json, 'modelTopology');
  if (own(json, 'format') === 'graph-model' || (isObj(mt) && (own(mt, 'node') !== undefined || own(mt, 'library') !== undefined || own(mt, 'versions') !== undefined))) {
    return fail(own(json, 'format') !== undefined ? ['format'] : ['modelTopology'],
      'this is a TF.js graph-model (a frozen TensorFlow graph), not a layers model: Activation Lens imports Keras models and TF.js layers-models (format "layers-model")');
  }
  if (mt !== undefined) {
    if (!isObj(mt)) return fail(['modelTopology'], '"modelTopology" must be an object with the Keras model');
    const mc = own(mt, 'model_config');
    root = mc ?? mt; rootPath = mc !== undefined ? ['modelTopology', 'model_config'] : ['modelTopology'];
    if (own(mt, 'training_config') !== undefined) { training = own(mt, 'training_config'); trainingPath = ['modelTopology', 'training_config']; }
  } else if (own(json, 'learner') !== undefined) {
    return fail(['learner'], 'this is an XGBoost model ("learner"), not a Keras model: Activation Lens imports Keras and TF.js layers models');
  } else if (own(json, 'coef') !== undefined || own(json, 'intercept') !== undefined) {
    return fail([own(json, 'coef') !== undefined ? 'coef' : 'intercept'], 'this looks like a scikit-learn style linear model ("coef", "intercept"), not a Keras model');
  }
  if (!isObj(root) || typeof own(root, 'class_name') !== 'string') {
    return fail(rootPath, 'not a Keras or TF.js model: expected "class_name" (Sequential, Functional, Model) and "config" (model.to_json()), or a TF.js layers-model model.json with "modelTopology"');
  }
  if (training === undefined && isObj(own(root, 'compile_config'))) { training = own(root, 'compile_config'); trainingPath = [...rootPath, 'compile_config']; }
  if (training === undefined && isObj(own(json, 'compile_config'))) { training = own(json, 'compile_config'); trainingPath = ['compile_config']; }
  const rootSpan = loc.span(rootPath);
  if (rootSpan) out.spans.model = rootSpan;
  const cfg = own(root, 'config');
  const listSpan = loc.span(Array.isArray(cfg) ? [...rootPath, 'config'] : [...rootPath, 'config', 'layers']);
  if (listSpan) out.spans['model.layers'] = listSpan;
  walkModel(root, rootPath, loc, rep, out);
  if (isObj(training)) readTraining(training, trainingPath, loc, rep, out);
  return out;
}

/** `listPath`: where a Sequential's layer list is in the file, when not at its config (the root-array form). */
function walkModel(model: Json, path: Path, loc: Locator, rep: Reporter, out: KerasDraft, listPath?: Path): KerasDraft {
  const cls = String(own(model, 'class_name'));
  const config = own(model, 'config');
  const cfgObj = isObj(config) ? config : undefined;
  if (cfgObj && typeof own(cfgObj, 'name') === 'string') out.name ??= own(cfgObj, 'name') as string;
  let raw: RawLayer[] | undefined;
  if (cls === 'Sequential') {
    raw = sequentialLayers(model, path, loc, rep, listPath);
    if (cfgObj && !out.input) {
      const bis = own(cfgObj, 'build_input_shape');
      if (Array.isArray(bis)) out.input = shapeOf(bis, [...path, 'config', 'build_input_shape'], loc, rep);
    }
  } else if (cls === 'Functional' || cls === 'Model') {
    // A Sequential used as one step of the chain is a run of layers in the same chain: unwrap it.
    raw = functionalChain(model, path, loc, rep)?.flatMap(r => (r.cls === 'Sequential' ? sequentialLayers(r.node, r.path, loc, rep) ?? [] : [r]));
  } else {
    rep.error(loc.span([...path, 'class_name']), `"${cls}" is not a model class: expected Sequential, Functional or Model`);
    return out;
  }
  if (!raw) return out;
  const before = rep.problems.length;
  convertLayers(raw, loc, rep, out);
  out.complete = !rep.problems.slice(before).some(p => p.severity === 'error');
  return out;
}

function sequentialLayers(model: Json, path: Path, loc: Locator, rep: Reporter, listAt?: Path): RawLayer[] | undefined {
  const config = own(model, 'config');
  let list: unknown; let listPath: Path;
  if (Array.isArray(config)) { list = config; listPath = listAt ?? [...path, 'config']; } else if (isObj(config)) { list = own(config, 'layers'); listPath = [...path, 'config', 'layers']; } else list = undefined;
  if (!Array.isArray(list)) { rep.error(loc.span([...path, 'config']), 'Sequential model without a list of layers ("config.layers")'); return undefined; }
  const raw: RawLayer[] = [];
  for (let i = 0; i < list.length; i++) {
    const l = list[i]; const lp = [...listPath!, i];
    if (!isObj(l) || typeof own(l, 'class_name') !== 'string') { rep.error(loc.span(lp), `layer ${i} has no "class_name"`); return raw; }
    const cls = own(l, 'class_name') as string;
    if (cls === 'Sequential') {
      // A nested Sequential is a run of layers in the same chain: unwrap it.
      const inner = sequentialLayers(l, lp, loc, rep);
      if (!inner) return raw;
      raw.push(...inner);
      continue;
    }
    if (cls === 'Functional' || cls === 'Model') { rep.error(loc.span([...lp, 'class_name']), `a nested ${cls} model inside a Sequential is not supported`); return raw; }
    raw.push({ cls, config: isObj(own(l, 'config')) ? own(l, 'config') as Json : {}, path: lp, node: l });
  }
  return raw;
}

/** Names of the layers feeding one call of a layer, in any of the Keras 2 / Keras 3 node formats. */
function inboundNames(layer: Json): { calls: number; names: string[] } {
  const nodes = own(layer, 'inbound_nodes');
  if (!Array.isArray(nodes) || !nodes.length) return { calls: 0, names: [] };
  const names: string[] = [];
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) {
      // Keras 2: ["name", nodeIndex, tensorIndex, kwargs]
      if (typeof v[0] === 'string' && typeof v[1] === 'number') { names.push(v[0]); return; }
      v.forEach(collect);
    } else if (isObj(v)) {
      if (own(v, 'class_name') === '__keras_tensor__' && isObj(own(v, 'config'))) {
        const h = own(own(v, 'config') as Json, 'keras_history');
        if (Array.isArray(h) && typeof h[0] === 'string') names.push(h[0]);
        return;
      }
      if (own(v, 'args') !== undefined) collect(own(v, 'args'));
    }
  };
  collect(nodes[0]);
  return { calls: nodes.length, names };
}

function functionalChain(model: Json, path: Path, loc: Locator, rep: Reporter): RawLayer[] | undefined {
  const config = own(model, 'config');
  const layers = isObj(config) ? own(config, 'layers') : undefined;
  if (!Array.isArray(layers)) { rep.error(loc.span([...path, 'config']), 'Functional model without "config.layers"'); return undefined; }
  const byName = new Map<string, RawLayer>();
  const consumers = new Map<string, string[]>();
  const inbound = new Map<string, string[]>();
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]; const lp = [...path, 'config', 'layers', i];
    if (!isObj(l) || typeof own(l, 'class_name') !== 'string') { rep.error(loc.span(lp), `layer ${i} has no "class_name"`); return undefined; }
    const cfg = isObj(own(l, 'config')) ? own(l, 'config') as Json : {};
    const name = String(own(l, 'name') ?? own(cfg, 'name') ?? `layer_${i}`);
    const { calls, names } = inboundNames(l);
    if (calls > 1) { rep.error(loc.span([...lp, 'inbound_nodes']), `layer "${name}" is called ${calls} times (a shared layer): only single-chain models are supported`); return undefined; }
    if (names.length > 1) {
      rep.error(loc.span([...lp, 'class_name']), `layer "${name}" (${own(l, 'class_name')}) merges ${names.length} inputs (${names.join(', ')}): multi-branch graphs are not supported, only a single chain of layers`);
      return undefined;
    }
    byName.set(name, { cls: own(l, 'class_name') as string, config: cfg, path: lp, node: l });
    inbound.set(name, names);
    for (const n of names) consumers.set(n, [...(consumers.get(n) ?? []), name]);
  }
  const ends = (key: string): string[] => {
    const v = isObj(config) ? own(config, key) : undefined;
    if (!Array.isArray(v)) return [];
    if (typeof v[0] === 'string') return [v[0]];
    return v.filter(Array.isArray).map(x => String((x as unknown[])[0]));
  };
  const ins = ends('input_layers'), outs = ends('output_layers');
  if (ins.length !== 1 || outs.length !== 1) {
    rep.error(loc.span([...path, 'config', ins.length !== 1 ? 'input_layers' : 'output_layers']), `the model has ${ins.length} inputs and ${outs.length} outputs: only single-input, single-output chains are supported`);
    return undefined;
  }
  const chain: RawLayer[] = [];
  let cur = ins[0];
  const first = byName.get(cur);
  if (!first) { rep.error(loc.span([...path, 'config', 'input_layers']), `input layer "${cur}" is not among the layers`); return undefined; }
  chain.push(first);
  const seen = new Set([cur]);
  while (cur !== outs[0]) {
    const next = consumers.get(cur) ?? [];
    if (next.length !== 1) {
      const at = byName.get(cur)!;
      rep.error(loc.span([...at.path, 'name']), next.length ? `layer "${cur}" feeds ${next.length} layers (${next.join(', ')}): multi-branch graphs are not supported` : `layer "${cur}" feeds nothing but is not the output layer`);
      return undefined;
    }
    cur = next[0];
    if (seen.has(cur)) { rep.error(loc.span(byName.get(cur)!.path), `layer "${cur}" forms a cycle`); return undefined; }
    seen.add(cur);
    chain.push(byName.get(cur)!);
  }
  if (chain.length !== byName.size) {
    const off = [...byName.keys()].find(n => !seen.has(n))!;
    rep.error(loc.span(byName.get(off)!.path), `layer "${off}" is not on the chain from "${ins[0]}" to "${outs[0]}": multi-branch graphs are not supported`);
    return undefined;
  }
  return chain;
}

/** A shape with a leading batch dimension (null) dropped; unknown sizes are reported. */
function shapeOf(v: unknown[], path: Path, loc: Locator, rep: Reporter, hasBatch = true): number[] | undefined {
  const dims = hasBatch ? v.slice(1) : v;
  if (!dims.length) { rep.error(loc.span(path), 'the input shape has no feature dimension'); return undefined; }
  if (dims.some(d => typeof d !== 'number' || !Number.isInteger(d) || d < 1)) {
    rep.error(loc.span(path), `input shape [${v.map(d => d ?? 'None').join(', ')}] has an unknown or invalid size: only fixed sizes can be analysed (set model.input)`);
    return undefined;
  }
  if (dims.length > 3) { rep.error(loc.span(path), `input of rank ${dims.length} is not supported (features, or height, width, channels)`); return undefined; }
  return dims as number[];
}

function inputFromLayer(l: RawLayer, loc: Locator, rep: Reporter): number[] | undefined {
  const c = l.config;
  for (const k of ['batch_input_shape', 'batch_shape', 'batchInputShape']) {
    const v = own(c, k);
    if (Array.isArray(v)) return shapeOf(v, [...l.path, 'config', k], loc, rep);
  }
  for (const k of ['input_shape', 'inputShape']) {
    const v = own(c, k);
    if (Array.isArray(v)) return shapeOf(v, [...l.path, 'config', k], loc, rep, false);
  }
  const dim = own(c, 'input_dim') ?? own(c, 'inputDim');
  if (typeof dim === 'number' && dim >= 1) return [dim];
  const bc = own(l.node, 'build_config');
  if (isObj(bc) && Array.isArray(own(bc, 'input_shape'))) return shapeOf(own(bc, 'input_shape') as unknown[], [...l.path, 'build_config', 'input_shape'], loc, rep);
  return undefined;
}

const pairOf = (v: unknown, dflt: [number, number]): [number, number] | undefined => {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every(x => typeof x === 'number' && Number.isInteger(x) && x >= 1)) return [v[0] as number, v[1] as number];
  return undefined;
};

/** Keras activation value: a name, or (Keras 3) a serialized function {class_name: "function", config: "relu"}. */
function activationName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObj(v)) {
    const c = own(v, 'config');
    if (typeof c === 'string') return c;
    if (typeof own(v, 'registered_name') === 'string') return own(v, 'registered_name') as string;
    if (typeof own(v, 'class_name') === 'string' && own(v, 'class_name') !== 'function') return own(v, 'class_name') as string;
  }
  return undefined;
}

/** Named initializers whose variance_scaling form Keras/TF.js may have written out. */
const VS_NAMES: [string, number, string, string][] = [
  ['glorot_uniform', 1, 'fan_avg', 'uniform'], ['glorot_normal', 1, 'fan_avg', 'truncated_normal'],
  ['he_uniform', 2, 'fan_in', 'uniform'], ['he_normal', 2, 'fan_in', 'truncated_normal'],
  ['lecun_uniform', 1, 'fan_in', 'uniform'], ['lecun_normal', 1, 'fan_in', 'truncated_normal'],
];

/** The numeric parameters resolveInit reads (Constant's value also as Keras 1's val). */
const INIT_NUMBERS = ['scale', 'mean', 'stddev', 'minval', 'maxval', 'gain', 'value', 'val'];

function initOf(v: unknown, path: Path, loc: Locator, rep: Reporter, layer: string, dflt: string): InitSpec | undefined {
  if (v === undefined || v === null) return defaultInit(dflt);
  let cls: string | undefined; let cfg: Json = {};
  if (typeof v === 'string') cls = v;
  else if (isObj(v)) { cls = typeof own(v, 'class_name') === 'string' ? own(v, 'class_name') as string : undefined; cfg = isObj(own(v, 'config')) ? own(v, 'config') as Json : {}; }
  const canon = cls ? canonicalInitName(cls) : undefined;
  const spec = canon ? resolveInit(canon, cfg) : undefined;
  if (!spec) { rep.error(loc.span(path), `unsupported initializer ${cls ?? JSON.stringify(v).slice(0, 60)} in layer "${layer}"`, undefined, layer); return undefined; }
  // resolveInit keeps its default for a parameter that is not a number: a Constant value "0.5" would silently be 0.
  for (const k of INIT_NUMBERS) {
    const p = own(cfg, k);
    if (p !== undefined && !(typeof p === 'number' && Number.isFinite(p))) {
      rep.error(loc.span([...path, 'config', k]), `initializer ${cls} of layer "${layer}" has an invalid ${k} ${JSON.stringify(p)?.slice(0, 60) ?? String(p)}: expected a number`, undefined, layer);
      return undefined;
    }
  }
  // As numbers: a VarianceScaling mode or distribution resolveInit does not know would silently be fan_in/truncated.
  for (const [k, known] of [['mode', ['fan_in', 'fan_out', 'fan_avg']], ['distribution', ['normal', 'truncated_normal', 'untruncated_normal', 'uniform']]] as const) {
    const p = own(cfg, k);
    if (spec.kind === 'variance_scaling' && p !== undefined && !(known as readonly unknown[]).includes(p)) {
      rep.error(loc.span([...path, 'config', k]), `initializer ${cls} of layer "${layer}" has an unknown ${k} ${JSON.stringify(p)?.slice(0, 60) ?? String(p)}: expected ${known.join(', ')}`, undefined, layer);
      return undefined;
    }
  }
  if (spec.kind === 'variance_scaling' && canon === 'variance_scaling') {
    const named = VS_NAMES.find(([, s, m, d]) => s === spec.scale && m === spec.mode && d === spec.distribution);
    if (named) return resolveInit(named[0])!;
  }
  return spec;
}

/** One layer as a converter sees it: its config, its name, and the places in the Keras file to report at. */
interface LayerInput {
  l: RawLayer;
  /** The layer's "config" ({} when it has none). */
  c: Json;
  name: string;
  /** What every converted layer carries: name, index and spans. */
  base: { name: string; index: number; span: Span | undefined; spans: Record<string, Span> };
  /** The path of one of the layer's config keys. */
  cp(key: string): Path;
  /**
   * The key a value is read from, of a Keras 2 key and its Keras 1 spellings (units, output_dim): the first
   * that holds a value, else the first written (a null is that key's), else the Keras 2 key. Its value is
   * read and its place shown, so a Keras 1 file's problem is at the key it wrote.
   */
  keyOf(...keys: string[]): string;
  /** Remembers where a field of the layer (units, init...) was written, for hovers and quick fixes. */
  put(field: string, path: Path): void;
  err(path: Path, message: string): void;
  /** The activation under `key` (linear when absent), or undefined once an unknown one was reported. */
  act(key?: string): ActivationSpec | undefined;
  loc: Locator;
  rep: Reporter;
  /** BatchNormalization axes by layer index: checked after the loop, once the shapes are known. */
  bnAxes: Map<number, { axis: unknown; path: Path }>;
  /** PReLU shared_axes by layer index: checked after the loop, as bnAxes. */
  preluAxes: Map<number, { shared: unknown; path: Path }>;
}

/** A converter returns the layer, or undefined after reporting why it cannot. */
type Converter = (x: LayerInput) => LayerSpec | undefined;

/** Activation, initializers and bias of Dense and Conv2D; undefined once one of them was refused. */
function weighted(x: LayerInput, kernelRank: 2 | 4, cls: string): Pick<DenseLayer, 'activation' | 'init' | 'biasInit' | 'useBias'> | undefined {
  const { c, cp, name } = x;
  // init and bias: Keras 1's kernel_initializer and use_bias (ignored, a Keras 1 layer silently had Glorot and a bias).
  const ik = x.keyOf('kernel_initializer', 'init'), bk = x.keyOf('use_bias', 'bias');
  x.put('init', cp(ik)); x.put('bias_init', cp('bias_initializer')); x.put('use_bias', cp(bk));
  const useBias = own(c, bk);
  if (useBias !== undefined && typeof useBias !== 'boolean') { x.err(cp(bk), `${cls} "${name}" has an invalid ${bk} ${JSON.stringify(useBias)?.slice(0, 60)}: expected true or false`); return undefined; }
  const activation = x.act();
  let init = initOf(own(c, ik), cp(ik), x.loc, x.rep, name, DEFAULT_INIT);
  // Some initializers make matrices only (identity): refused on a conv kernel here rather than when training.
  const rankProblem = init && initRankProblem(init, kernelRank);
  if (rankProblem) { x.err(cp(ik), `${rankProblem} (${cls} "${name}")`); init = undefined; }
  const biasInit = initOf(own(c, 'bias_initializer'), cp('bias_initializer'), x.loc, x.rep, name, DEFAULT_BIAS_INIT);
  return activation && init && biasInit ? { activation, init, biasInit, useBias: useBias !== false } : undefined;
}

function dense(x: LayerInput): LayerSpec | undefined {
  const { c, cp, name } = x;
  const uk = x.keyOf('units', 'output_dim'); // output_dim: Keras 1
  const units = own(c, uk);
  if (typeof units !== 'number' || !Number.isInteger(units) || units < 1) { x.err(cp(uk), `Dense layer "${name}" has no valid "${uk}"`); return undefined; }
  x.put('units', cp(uk));
  const w = weighted(x, 2, 'Dense');
  return w && { ...x.base, type: 'dense', units, ...w };
}

function conv2d(x: LayerInput): LayerSpec | undefined {
  const { c, cp, name } = x;
  // nb_filter, nb_row/nb_col, subsample, border_mode, dim_ordering: Keras 1
  const fk = x.keyOf('filters', 'nb_filter');
  const filters = own(c, fk);
  const rowCol = own(c, 'kernel_size') === undefined && (own(c, 'nb_row') !== undefined || own(c, 'nb_col') !== undefined);
  const size = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  const kk = rowCol ? (size(own(c, 'nb_row')) ? 'nb_col' : 'nb_row') : 'kernel_size';
  const kernel = rowCol ? pairOf([own(c, 'nb_row'), own(c, 'nb_col')], [0, 0]) : pairOf(own(c, 'kernel_size'), [0, 0]);
  if (!keras1ChannelsLast(x)) return undefined;
  const sk = x.keyOf('strides', 'subsample'), pk = x.keyOf('padding', 'border_mode');
  const stride = pairOf(own(c, sk), [1, 1]);
  const padding = own(c, pk) ?? 'valid';
  if (typeof filters !== 'number' || !Number.isInteger(filters) || filters < 1) { x.err(cp(fk), `Conv2D layer "${name}" has no valid "${fk}"`); return undefined; }
  if (!kernel || kernel[0] < 1) { x.err(cp(kk), `Conv2D layer "${name}" has no valid "${kk}"`); return undefined; }
  if (!stride) { x.err(cp(sk), `Conv2D layer "${name}" has invalid "${sk}"`); return undefined; }
  if (padding !== 'same' && padding !== 'valid') { x.err(cp(pk), `${pk} "${String(padding)}" of "${name}" is not supported (same or valid)`); return undefined; }
  if (own(c, 'data_format') === 'channels_first') { x.err(cp('data_format'), `"${name}" uses channels_first: only channels_last is supported`); return undefined; }
  const dil = pairOf(own(c, 'dilation_rate'), [1, 1]);
  if (!dil || dil[0] !== 1 || dil[1] !== 1) { x.err(cp('dilation_rate'), `dilated convolution "${name}" is not supported`); return undefined; }
  if (own(c, 'groups') !== undefined && own(c, 'groups') !== 1) { x.err(cp('groups'), `grouped convolution "${name}" is not supported`); return undefined; }
  x.put('filters', cp(fk)); x.put('kernel', cp(rowCol ? 'nb_row' : 'kernel_size')); x.put('stride', cp(sk)); x.put('padding', cp(pk));
  const w = weighted(x, 4, 'Conv2D');
  return w && { ...x.base, type: 'conv2d', filters, kernel, stride, padding, ...w };
}

/** Keras 1's dim_ordering (resolved when written): "th" is channels first, refused as data_format channels_first is. */
function keras1ChannelsLast(x: LayerInput): boolean {
  const d = own(x.c, 'dim_ordering');
  if (d === undefined || d === 'tf') return true;
  x.err(x.cp('dim_ordering'), `"${x.name}" uses dim_ordering ${JSON.stringify(d)?.slice(0, 60)}: only channels last ("tf") is supported`);
  return false;
}

const pooling = (type: 'maxpool2d' | 'avgpool2d'): Converter => x => {
  const { c, cp, name } = x;
  if (!keras1ChannelsLast(x)) return undefined;
  const pk = x.keyOf('padding', 'border_mode'); // border_mode: Keras 1, as Conv2D's
  const size = pairOf(own(c, 'pool_size'), [2, 2]);
  const stride = pairOf(own(c, 'strides'), size ?? [2, 2]); // Keras: strides default to pool_size
  const padding = own(c, pk) ?? 'valid';
  if (!size) { x.err(cp('pool_size'), `"${name}" has an invalid pool_size`); return undefined; }
  if (!stride) { x.err(cp('strides'), `"${name}" has invalid strides`); return undefined; }
  if (padding !== 'same' && padding !== 'valid') { x.err(cp(pk), `${pk} "${String(padding)}" of "${name}" is not supported (same or valid)`); return undefined; }
  x.put('size', cp('pool_size')); x.put('stride', cp('strides')); x.put('padding', cp(pk));
  return { ...x.base, type, size, stride, padding };
};

function globalAvgPool2d(x: LayerInput): LayerSpec | undefined {
  if (own(x.c, 'keepdims') === true) { x.err(x.cp('keepdims'), `GlobalAveragePooling2D "${x.name}" with keepdims is not supported`); return undefined; }
  return { ...x.base, type: 'global_avgpool2d' };
}

function dropout(x: LayerInput): LayerSpec | undefined {
  const rk = x.keyOf('rate', 'p'); // p: Keras 1
  const rate = own(x.c, rk) ?? 0;
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) { x.err(x.cp(rk), `Dropout "${x.name}" needs a ${rk} in [0, 1)`); return undefined; }
  x.put('rate', x.cp(rk));
  return { ...x.base, type: 'dropout', rate: f32(rate) };
}

function batchNorm(x: LayerInput): LayerSpec | undefined {
  const { c, cp, name } = x;
  // A value that is not the number Keras would use is refused at its place, not read as the default (that would be
  // another network). The ranges are the config format's (momentum [0, 1), epsilon (0, 1]), so that the config
  // "Create Config from Keras Model" writes reads back.
  const num = (key: string, dflt: number, ok: (v: number) => boolean, range: string): number | undefined => {
    const v = own(c, key);
    if (v === undefined) return dflt;
    if (typeof v === 'number' && Number.isFinite(v) && ok(v)) return f32(v);
    x.err(cp(key), `BatchNormalization "${name}" has an invalid ${key} ${JSON.stringify(v)?.slice(0, 60) ?? String(v)}: expected a number in ${range}`);
    return undefined;
  };
  // Math.fround: the value as the float32 the core holds (1e-50 would be 0 there).
  const momentum = num('momentum', 0.99, v => v >= 0 && v < 1, '[0, 1)');
  const epsilon = num('epsilon', 1e-3, v => Math.fround(v) > 0 && v <= 1, '(0, 1]');
  if (momentum === undefined || epsilon === undefined) return undefined;
  // Keras 1's mode 1 (per sample) and 2 (batch statistics also when predicting) are other layers than mode 0.
  const mode = own(c, 'mode');
  if (mode !== undefined && mode !== 0) { x.err(cp('mode'), `BatchNormalization "${name}" with Keras 1 mode ${JSON.stringify(mode)?.slice(0, 60)} is not supported (only mode 0, Keras 2's)`); return undefined; }
  x.put('momentum', cp('momentum')); x.put('epsilon', cp('epsilon'));
  if (own(c, 'center') === false || own(c, 'scale') === false) x.rep.warn(x.loc.span(x.l.path), `BatchNormalization "${name}" without center/scale is analysed as with both`, undefined, name);
  x.bnAxes.set(x.base.index, { axis: own(c, 'axis'), path: cp('axis') });
  return { ...x.base, type: 'batchnorm', momentum, epsilon };
}

function activation(x: LayerInput): LayerSpec | undefined {
  const a = x.act();
  return a && { ...x.base, type: 'activation', activation: a };
}

/** An activation layer whose function is its class (ReLU, ELU...): the class name is where it is written. */
function activationLayer(x: LayerInput, a: ActivationSpec): LayerSpec {
  x.put('activation', [...x.l.path, 'class_name']);
  return { ...x.base, type: 'activation', activation: a };
}

function relu(x: LayerInput): LayerSpec | undefined {
  const { c, cp, name } = x;
  const max = own(c, 'max_value'); const slope = own(c, 'negative_slope'); const threshold = own(c, 'threshold');
  if (typeof threshold === 'number' && threshold !== 0) { x.err(cp('threshold'), `ReLU "${name}" with threshold ${threshold} is not supported`); return undefined; }
  // A threshold that is not a number is no relu Keras would build; ignored, it would silently be a plain relu.
  if (threshold !== undefined && threshold !== null && typeof threshold !== 'number') {
    x.err(cp('threshold'), `ReLU "${name}" has an invalid threshold ${JSON.stringify(threshold).slice(0, 60)} (a number)`); return undefined;
  }
  // Keras refuses a negative or non-numeric negative_slope; read as 0 it would silently be a plain relu.
  if (slope !== undefined && slope !== null && !(typeof slope === 'number' && Number.isFinite(slope) && slope >= 0)) {
    x.err(cp('negative_slope'), `ReLU "${name}" has an invalid negative_slope ${JSON.stringify(slope).slice(0, 60)} (a number >= 0)`); return undefined;
  }
  const leaky = typeof slope === 'number' && slope > 0;
  if (max === 6 && !leaky) return activationLayer(x, { name: 'relu6' });
  // relu6 has no leaky part: with a negative_slope it is the combination that is not supported, not the 6.
  if (max === 6) { x.err(cp('negative_slope'), `ReLU "${name}" with max_value 6 and negative_slope ${f32(slope as number)} is not supported (max_value 6 only without negative_slope, as relu6)`); return undefined; }
  if (max !== undefined && max !== null) { x.err(cp('max_value'), `ReLU "${name}" with max_value ${JSON.stringify(max).slice(0, 60)} is not supported (only the number 6, as relu6)`); return undefined; }
  if (leaky) return activationLayer(x, { name: 'leaky_relu', alpha: f32(slope) });
  return activationLayer(x, { name: 'relu' });
}

function leakyRelu(x: LayerInput): LayerSpec | undefined {
  const { c, cp, name } = x;
  // negative_slope: Keras 3; alpha: Keras 2; 0.3: the layer's default when neither is written. The value is the
  // written key's, null included (Keras refuses None): one key decides both the value and where a problem is shown.
  const key = own(c, 'negative_slope') !== undefined ? 'negative_slope' : 'alpha';
  const alpha = own(c, key) === undefined ? 0.3 : own(c, key);
  x.put('activation', [...x.l.path, 'class_name']); x.put('alpha', cp(key));
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) { x.err(cp(key), `LeakyReLU "${name}" has an invalid ${key}`); return undefined; }
  return activationLayer(x, { name: 'leaky_relu', alpha: f32(alpha) });
}

function prelu(x: LayerInput): LayerSpec | undefined {
  // The core starts every alpha at one value (the activation's alpha): Zeros (Keras' default), Ones and Constant
  // are that; a random initializer is not, and read as 0 it would silently be another network.
  const at = x.cp(x.keyOf('alpha_initializer', 'init')), written = own(x.c, x.keyOf('alpha_initializer', 'init')); // init: Keras 1
  const init = initOf(written, at, x.loc, x.rep, x.name, 'zeros');
  if (!init) return undefined;
  const alpha = init.kind === 'zeros' ? 0 : init.kind === 'ones' ? 1 : init.kind === 'constant' ? init.value ?? 0 : undefined;
  if (alpha === undefined || !Number.isFinite(alpha)) {
    x.err(at, `PReLU "${x.name}" with alpha_initializer ${isObj(written) ? String(own(written, 'class_name')) : init.name} is not supported: only Zeros, Ones or Constant (every alpha starts at one value)`);
    return undefined;
  }
  // Keras has one alpha per input value unless shared_axes shares them: checked once the input's shape is known.
  const shared = own(x.c, 'shared_axes');
  x.preluAxes.set(x.base.index, { shared, path: shared === undefined ? [...x.l.path, 'class_name'] : x.cp('shared_axes') });
  return activationLayer(x, { name: 'prelu', alpha: f32(alpha) });
}

function elu(x: LayerInput): LayerSpec | undefined {
  const written = own(x.c, 'alpha'), alpha = written === undefined ? 1 : written; // Keras' default; a null is refused (Keras refuses None)
  // As LeakyReLU's: a bad alpha is reported, not read as the default (that would be a different network).
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) { x.err(x.cp('alpha'), `ELU "${x.name}" has an invalid alpha`); return undefined; }
  return activationLayer(x, { name: 'elu', alpha: f32(alpha) });
}

/**
 * The Keras layer classes Activation Lens converts, in the order the refusal of any other class lists them.
 * A class is supported exactly when it is a key here: the message is built from the keys. Frozen, since it is
 * exported: a class added at run time would convert yet be missing from the message built at load.
 */
export const CONVERTERS = Object.freeze({
  Dense: dense,
  Conv2D: conv2d,
  MaxPooling2D: pooling('maxpool2d'),
  AveragePooling2D: pooling('avgpool2d'),
  GlobalAveragePooling2D: globalAvgPool2d,
  Flatten: x => ({ ...x.base, type: 'flatten' }),
  Dropout: dropout,
  BatchNormalization: batchNorm,
  Activation: activation,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  PReLU: prelu,
  ELU: elu,
  Softmax: x => activationLayer(x, { name: 'softmax' }),
} satisfies Record<string, Converter>);

type KerasLayerClass = keyof typeof CONVERTERS;

/** Other names Keras writes for the same classes: Keras 1's Convolution2D and the short aliases Keras exports. */
export const ALIASES: Readonly<Record<string, KerasLayerClass>> = Object.freeze({
  Convolution2D: 'Conv2D',
  MaxPool2D: 'MaxPooling2D',
  AvgPool2D: 'AveragePooling2D',
  GlobalAvgPool2D: 'GlobalAveragePooling2D',
});

/** The converter of a class or alias; own keys only, since a file's class_name may be "toString". */
function converterOf(cls: string): Converter | undefined {
  const canonical = Object.hasOwn(ALIASES, cls) ? ALIASES[cls] : cls;
  return Object.hasOwn(CONVERTERS, canonical) ? CONVERTERS[canonical as KerasLayerClass] : undefined;
}

const classes = Object.keys(CONVERTERS);
const SUPPORTED = `${classes.slice(0, -1).join(', ')} and ${classes[classes.length - 1]}`;

function convertLayers(raw: RawLayer[], loc: Locator, rep: Reporter, out: KerasDraft): void {
  const names = new Set<string>();
  const bnAxes = new Map<number, { axis: unknown; path: Path }>();
  const preluAxes = new Map<number, { shared: unknown; path: Path }>();
  for (const l of raw) {
    if (!out.input) out.input = inputFromLayer(l, loc, rep);
    if (l.cls === 'InputLayer') continue;
    const c = l.config;
    const cp = (k: string): Path => [...l.path, 'config', k];
    const keyOf = (...keys: string[]): string => keys.find(k => own(c, k) !== undefined && own(c, k) !== null) ?? keys.find(k => own(c, k) !== undefined) ?? keys[0];
    const index = out.layers.length;
    let name = String(own(c, 'name') ?? own(l.node, 'name') ?? `layer_${index}`);
    while (names.has(name)) name += '_';
    names.add(name);
    const spans: Record<string, Span> = {};
    const put = (key: string, path: Path) => { const s = loc.span(path); if (s) spans[key] = s; };
    put('type', [...l.path, 'class_name']);
    put('name', cp('name'));
    const err = (path: Path, message: string) => rep.error(loc.span(path), message, undefined, name);
    const act = (key = 'activation'): ActivationSpec | undefined => {
      const v = own(c, key);
      if (v === undefined || v === null) return { name: 'linear' };
      put('activation', cp(key));
      const n = activationName(v);
      const r = n ? activationSpecOf(n) : undefined;
      if (!r) { err(cp(key), `unsupported activation ${n ?? JSON.stringify(v).slice(0, 60)} in layer "${name}"`); return undefined; }
      // Keras' leaky_relu function defaults to negative_slope 0.2 (the layer to 0.3).
      return r.name === 'leaky_relu' ? { ...r, alpha: 0.2 } : r;
    };
    const convert = converterOf(l.cls);
    let layer: LayerSpec | undefined;
    if (convert) layer = convert({ l, c, name, base: { name, index, span: loc.span(l.path), spans }, cp, keyOf, put, err, act, loc, rep, bnAxes, preluAxes });
    else if (l.cls === 'Functional' || l.cls === 'Model') err([...l.path, 'class_name'], `a nested ${l.cls} model ("${name}") is not supported: only Sequential models can be nested`);
    else err([...l.path, 'class_name'], `unsupported layer ${l.cls} "${name}": Activation Lens handles ${SUPPORTED}`);
    if (!layer) return; // stop at the first layer not understood: what follows depends on it
    out.layers.push(layer);
  }
  if (!out.input || (!bnAxes.size && !preluAxes.size)) return;
  const { shapes } = inferShapes(out.input, out.layers);
  const inShape = (i: number) => (i > 0 ? shapes[i - 1]?.outputShape : out.input) ?? [];
  // BatchNormalization must normalize the last (channel/feature) axis.
  for (const [i, { axis, path }] of bnAxes) {
    const rank = inShape(i).length; // without batch
    const a = Array.isArray(axis) && axis.length === 1 ? axis[0] : axis;
    if (!(a === undefined || a === -1 || a === rank)) rep.error(loc.span(path), `BatchNormalization "${out.layers[i].name}" over axis ${JSON.stringify(axis)} is not supported: only the last axis`, undefined, out.layers[i].name);
  }
  // The core's PReLU has one alpha per channel (the last axis), shared over the others: Keras' shared_axes
  // [1, .., rank - 1] (none on a rank-1 input). Without it Keras learns one alpha per value: another network.
  for (const [i, { shared, path }] of preluAxes) {
    const dims = inShape(i), rank = dims.length;
    if (!rank) continue; // no shape known here: the shape problem is reported by itself
    const want = Array.from({ length: rank - 1 }, (_, k) => k + 1);
    const list = shared === undefined || shared === null ? [] : Array.isArray(shared) ? shared : [shared];
    const got = [...new Set(list)].sort((a, b) => Number(a) - Number(b));
    if (got.length !== want.length || got.some((a, k) => a !== want[k])) {
      rep.error(loc.span(path), `PReLU "${out.layers[i].name}" with shared_axes ${JSON.stringify(shared ?? null)?.slice(0, 60)} on an input of shape [${dims.join(', ')}] is not supported: only one alpha per channel (shared_axes ${JSON.stringify(want)})`, undefined, out.layers[i].name);
    }
  }
}

/** A loss or optimizer name: "mse", {class_name: "MeanSquaredError", config}, or Keras 3's {class_name: "function", config: "mse"}. */
function nameOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (!isObj(v)) return undefined;
  const cls = own(v, 'class_name'), cfg = own(v, 'config');
  if (cls === 'function' && typeof cfg === 'string') return cfg;
  return typeof cls === 'string' ? cls : undefined;
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

function readTraining(t: Json, path: Path, loc: Locator, rep: Reporter, out: KerasDraft): void {
  const lossV = own(t, 'loss');
  if (lossV !== undefined && lossV !== null) {
    const n = nameOf(lossV);
    const loss: LossName | undefined = n ? LOSS_ALIASES[snake(n)] ?? LOSS_ALIASES[snake(n).replace(/_/g, '')] : undefined;
    const s = loc.span([...path, 'loss']);
    if (loss) { out.train.loss = loss; if (s) out.spans['train.loss'] = s; } else rep.warn(s, `loss ${n ?? 'of this kind'} is not supported (mse, binary or categorical cross-entropy): inferred from the output instead`);
  }
  const optV = own(t, 'optimizer_config') ?? own(t, 'optimizer');
  const optPath = [...path, own(t, 'optimizer_config') !== undefined ? 'optimizer_config' : 'optimizer'];
  if (optV !== undefined && optV !== null) {
    const cls = typeof optV === 'string' ? optV : isObj(optV) ? String(own(optV, 'class_name') ?? '') : '';
    const cfg = isObj(optV) && isObj(own(optV, 'config')) ? own(optV, 'config') as Json : {};
    const k = snake(cls).replace(/_/g, '');
    const s = loc.span(optPath);
    if (s) out.spans['train.optimizer'] = s;
    let opt: OptimizerName | undefined = k === 'sgd' ? 'sgd' : k === 'adam' ? 'adam' : k === 'rmsprop' ? 'rmsprop' : undefined;
    const num = (key: string): number | undefined => (typeof own(cfg, key) === 'number' && Number.isFinite(own(cfg, key)) ? f32(own(cfg, key) as number) : undefined);
    if (opt === 'sgd' && (num('momentum') ?? 0) > 0) { opt = 'momentum'; out.train.momentum = num('momentum'); }
    if (!opt) { rep.warn(s, `optimizer ${cls || 'of this kind'} is analysed as adam (supported: SGD, SGD with momentum, Adam, RMSprop)`); opt = 'adam'; }
    out.train.optimizer = opt;
    const lrKey = own(cfg, 'learning_rate') !== undefined ? 'learning_rate' : 'lr';
    const lr = num(lrKey);
    if (lr !== undefined && lr > 0) { out.train.lr = lr; const ls = loc.span([...optPath, 'config', lrKey]); if (ls) out.spans['train.lr'] = ls; }
    else if (own(cfg, lrKey) !== undefined) rep.warn(loc.span([...optPath, 'config', lrKey]), 'a learning-rate schedule is analysed with the optimizer\'s default learning rate');
    const clip = num('clipnorm') ?? num('global_clipnorm');
    if (clip !== undefined && clip > 0) { out.train.clip = clip; const cs = loc.span([...optPath, 'config', num('clipnorm') !== undefined ? 'clipnorm' : 'global_clipnorm']); if (cs) out.spans['train.clip'] = cs; }
    if (opt === 'adam') { if (num('beta_1') !== undefined) out.train.beta1 = num('beta_1'); if (num('beta_2') !== undefined) out.train.beta2 = num('beta_2'); }
    if (opt === 'rmsprop' && num('rho') !== undefined) out.train.rho = num('rho');
    const eps = num('epsilon'); if (eps !== undefined && eps > 0) out.train.epsilon = eps;
  }
}

// ---- public API -------------------------------------------------------------------------------------------

/** Import a Keras/TF.js model JSON as a network config (teacher data of the model's input shape). */
export function importKeras(json: unknown, text: string, fileName: string, opts?: Partial<FinishOptions>): ParseResult {
  const rep = new Reporter();
  try {
    const kd = readKeras(json, text, rep);
    const draft: Draft = { file: fileName, layers: kd.layers, train: kd.train, probe: {}, diagnostics: {}, spans: kd.spans, keras: fileName };
    if (kd.name) draft.name = kd.name;
    if (kd.input) draft.input = kd.input;
    else if (kd.layers.length) rep.error(kd.layers[0].span, 'the model does not say its input shape (no InputLayer, batch_input_shape or build_input_shape)');
    if (!draft.layers.length) {
      if (!rep.hasErrors) rep.error(undefined, 'the model has no layers'); // readKeras said it; kept as a guard
      return { problems: rep.problems };
    }
    const config = draft.input ? finishConfig(draft, rep, { readFile: opts?.readFile ?? (() => { throw new Error('no files'); }), workspaceRoot: opts?.workspaceRoot }) : undefined;
    if (!config) return { problems: rep.problems };
    return rep.hasErrors ? { problems: rep.problems, partial: config } : { config, problems: rep.problems };
  } catch (e) {
    rep.error(undefined, `could not read the Keras model: ${(e as Error).message}`);
    return { problems: rep.problems };
  }
}

function activationYaml(a: ActivationSpec): unknown {
  const extra = Object.entries(a).filter(([k, v]) => k !== 'name' && v !== undefined);
  return extra.length ? Object.fromEntries([['name', a.name], ...extra]) : a.name;
}

function initYaml(i: InitSpec): unknown {
  const canon = canonicalInitName(i.name) ?? i.name;
  const plain = resolveInit(canon);
  const params = Object.entries(i).filter(([k, v]) => !['name', 'kind'].includes(k) && v !== undefined && (plain as unknown as Record<string, unknown>)?.[k] !== v);
  return params.length ? Object.fromEntries([['name', canon], ...params]) : canon;
}

/** A *.nn.yaml text for a config (the imported layers written out, so they can be edited and quick-fixed). */
export function toConfigYaml(config: NetworkConfig, sourceName?: string, opts: { weights?: string } = {}): string {
  const layers = config.model.layers.map(l => {
    const o: Record<string, unknown> = { type: l.type, name: l.name };
    switch (l.type) {
      case 'dense':
        o.units = l.units; o.activation = activationYaml(l.activation);
        if (l.init.name !== DEFAULT_INIT) o.init = initYaml(l.init);
        if (l.biasInit.kind !== 'zeros') o.bias_init = initYaml(l.biasInit);
        if (!l.useBias) o.use_bias = false;
        break;
      case 'conv2d':
        o.filters = l.filters; o.kernel = l.kernel[0] === l.kernel[1] ? l.kernel[0] : l.kernel;
        if (l.stride[0] !== 1 || l.stride[1] !== 1) o.stride = l.stride[0] === l.stride[1] ? l.stride[0] : l.stride;
        o.padding = l.padding; o.activation = activationYaml(l.activation);
        if (l.init.name !== DEFAULT_INIT) o.init = initYaml(l.init);
        if (l.biasInit.kind !== 'zeros') o.bias_init = initYaml(l.biasInit);
        if (!l.useBias) o.use_bias = false;
        break;
      case 'maxpool2d': case 'avgpool2d':
        o.size = l.size[0] === l.size[1] ? l.size[0] : l.size;
        if (l.stride[0] !== l.size[0] || l.stride[1] !== l.size[1]) o.stride = l.stride[0] === l.stride[1] ? l.stride[0] : l.stride;
        if (l.padding !== 'valid') o.padding = l.padding;
        break;
      case 'dropout': o.rate = l.rate; break;
      case 'batchnorm': o.momentum = l.momentum; o.epsilon = l.epsilon; break;
      case 'activation': o.activation = activationYaml(l.activation); break;
      default: break;
    }
    return o;
  });
  const d = config.data;
  const data: Record<string, unknown> = { source: d.source, samples: d.samples };
  if (d.source === 'teacher') { if (d.shape) data.shape = d.shape; data.classes = d.classes ?? 0; }
  if (d.noise) data.noise = d.noise;
  data.validation = d.validation;
  const t = config.train;
  const train: Record<string, unknown> = { loss: t.loss, optimizer: t.optimizer, lr: t.lr, batch: t.batch };
  if (t.epochs !== undefined) train.epochs = t.epochs; else train.steps = t.steps;
  if (t.clip !== undefined) train.clip = t.clip;
  const doc = {
    ...(config.name ? { name: config.name } : {}),
    seed: config.seed,
    data,
    model: { input: config.model.input.length === 1 ? config.model.input[0] : config.model.input, ...(opts.weights ? { weights: opts.weights, init: 'random' } : {}), layers },
    train,
  };
  const header = [
    sourceName ? `# Imported from the ${/\.onnx$/i.test(sourceName) ? 'ONNX' : 'Keras'} model ${sourceName} by Activation Lens.` : '# Written by Activation Lens.',
    '# Without real data the network trains on a random teacher network of the same input shape (data.source: teacher);',
    '# point data: at your own data (csv) to diagnose it on that.',
    ...(opts.weights ? [`# model.init: from-model starts training from the trained weights in ${opts.weights} (matched by layer name);`,
      '# on synthetic data findings speak about the architecture and initialisation, not about learning.'] : []),
  ].join('\n');
  return `${header}\n${YAML.stringify(doc, { lineWidth: 120, flowCollectionPadding: false })}`;
}
