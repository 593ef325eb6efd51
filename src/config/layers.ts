/**
 * The `model.layers` list: each item becomes a LayerSpec with Keras defaults (init glorot_uniform, zero
 * bias, activation linear), the span of the item and of each key's value.
 */
import type { ActivationName, ActivationSpec, InitSpec, LayerSpec, LayerType, Span } from '../model';
import { ACTIVATION_NAMES, activationSpecOf, activationSpellings, resolveActivation } from '../core/activations';
import { canonicalInitName, INIT_NAMES, initRankProblem, resolveInit } from '../core/initializers';

/** The spellings the schema offers: the config language takes exactly these. */
const SPELLINGS = new Set(activationSpellings());
export const INIT_SPELLINGS = [...INIT_NAMES, 'xavier_uniform', 'xavier_normal', 'kaiming_uniform', 'kaiming_normal'];
import { didYouMean } from './names';
import { checkMap, readBool, readEnum, readNumber, readString, type At, type Reporter } from './read';
import { describe, type SNode } from './tree';

export const LAYER_TYPES: LayerType[] = ['dense', 'conv2d', 'maxpool2d', 'avgpool2d', 'global_avgpool2d', 'flatten', 'dropout', 'batchnorm', 'activation'];

const LAYER_KEYS: Record<LayerType, string[]> = {
  dense: ['units', 'activation', 'init', 'bias_init', 'use_bias'],
  conv2d: ['filters', 'kernel', 'stride', 'padding', 'activation', 'init', 'bias_init', 'use_bias'],
  maxpool2d: ['size', 'stride', 'padding'],
  avgpool2d: ['size', 'stride', 'padding'],
  global_avgpool2d: [],
  flatten: [],
  dropout: ['rate'],
  batchnorm: ['momentum', 'epsilon', 'init'],
  activation: ['activation'],
};

/** Type spellings people bring from Keras/PyTorch. */
/* Null prototype: looked up with user text ("constructor" is no alias). */
const TYPE_ALIASES: Record<string, LayerType> = Object.assign(Object.create(null), {
  linear: 'dense', fully_connected: 'dense', conv: 'conv2d', convolution2d: 'conv2d', maxpool: 'maxpool2d', maxpooling2d: 'maxpool2d', max_pooling2d: 'maxpool2d',
  avgpool: 'avgpool2d', averagepooling2d: 'avgpool2d', average_pooling2d: 'avgpool2d', globalaveragepooling2d: 'global_avgpool2d',
  global_average_pooling2d: 'global_avgpool2d', batch_normalization: 'batchnorm', batchnormalization: 'batchnorm', bn: 'batchnorm',
});

export const DEFAULT_INIT = 'glorot_uniform';
/** A layer's `init:` value that loads its weights from the model file instead of drawing them. */
export const FROM_MODEL = 'from-model';
export const DEFAULT_BIAS_INIT = 'zeros';

export function defaultInit(name = DEFAULT_INIT): InitSpec { return resolveInit(name)!; }

const MAX_UNITS = 1_000_000;

export function readActivation(rep: Reporter, at: At, layer: string): ActivationSpec | undefined {
  const { node } = at;
  // The spec the name stands for (gelu_new brings approximate: tanh).
  const resolveName = (n: SNode, pointer: string): ActivationSpec | undefined => {
    if (n.kind !== 'scalar' || typeof n.value !== 'string') {
      rep.error(n.span, `activation must be a name (e.g. relu) or {name: leaky_relu, alpha: 0.1}, got ${describe(n)}`, pointer, layer);
      return undefined;
    }
    const r = SPELLINGS.has(n.value) ? activationSpecOf(n.value) : undefined;
    if (!r) {
      const near = resolveActivation(n.value);
      rep.error(n.span, `unknown activation "${n.value}"${near ? ` (did you mean "${near}"?)` : didYouMean(n.value, ACTIVATION_NAMES)}`, pointer, layer);
    }
    return r;
  };
  if (node.kind !== 'map') return resolveName(node, at.pointer);
  if (!checkMap(rep, at, ['name', 'alpha', 'beta', 'approximate'], 'activation', layer)) return undefined;
  const nameEntry = node.entries.find(e => e.key === 'name');
  if (!nameEntry) { rep.error(node.span, 'activation needs a "name"', at.pointer, layer); return undefined; }
  const spec = resolveName(nameEntry.value, `${at.pointer}/name`);
  if (!spec) return undefined;
  const name: ActivationName = spec.name;
  for (const e of node.entries) {
    const sub: At = { node: e.value, key: e.key, pointer: `${at.pointer}/${e.key}` };
    if (e.key === 'alpha') spec.alpha = readNumber(rep, sub, { min: 0, max: 100 }, layer);
    if (e.key === 'beta') spec.beta = readNumber(rep, sub, { exclusiveMin: 0, max: 100 }, layer);
    if (e.key === 'approximate') spec.approximate = readEnum(rep, sub, ['tanh', 'none'] as const, layer);
  }
  if (spec.alpha !== undefined && !['leaky_relu', 'elu', 'prelu'].includes(name)) rep.warn(nodeSpan(node, 'alpha'), `"alpha" has no effect on ${name}`, undefined, layer);
  if (spec.beta !== undefined && name !== 'swish') rep.warn(nodeSpan(node, 'beta'), `"beta" has no effect on ${name}`, undefined, layer);
  if (spec.approximate !== undefined && name !== 'gelu') rep.warn(nodeSpan(node, 'approximate'), `"approximate" has no effect on ${name}`, undefined, layer);
  return spec;
}

function nodeSpan(map: SNode, key: string): Span {
  return (map.kind === 'map' ? map.entries.find(e => e.key === key)?.value.span : undefined) ?? map.span;
}

const INIT_KEYS = ['name', 'scale', 'mode', 'distribution', 'mean', 'stddev', 'minval', 'maxval', 'gain', 'value'];

export function readInit(rep: Reporter, at: At, layer: string): InitSpec | undefined {
  const { node } = at;
  const byName = (n: SNode, pointer: string, params?: Record<string, unknown>): InitSpec | undefined => {
    if (n.kind !== 'scalar' || typeof n.value !== 'string') {
      rep.error(n.span, `${at.key} must be an initializer name (e.g. he_normal) or {name: variance_scaling, scale: 2, mode: fan_in}, got ${describe(n)}`, pointer, layer);
      return undefined;
    }
    const spec = INIT_SPELLINGS.includes(n.value) ? resolveInit(n.value, params) : undefined;
    if (!spec) {
      const near = canonicalInitName(n.value);
      // A layer's init may also be from-model (read before this); bias_init may not.
      const names = at.key === 'init' ? [...INIT_NAMES, FROM_MODEL] : INIT_NAMES;
      rep.error(n.span, `unknown initializer "${n.value}"${near ? ` (did you mean "${near}"?)` : didYouMean(n.value, names)}`, pointer, layer);
    }
    return spec;
  };
  if (node.kind !== 'map') return byName(node, at.pointer);
  if (!checkMap(rep, at, INIT_KEYS, at.key, layer)) return undefined;
  const params: Record<string, unknown> = {};
  let ok = true;
  for (const e of node.entries) {
    const sub: At = { node: e.value, key: e.key, pointer: `${at.pointer}/${e.key}` };
    if (e.key === 'name') continue;
    if (e.key === 'mode') params.mode = readEnum(rep, sub, ['fan_in', 'fan_out', 'fan_avg'] as const, layer) ?? (ok = false);
    else if (e.key === 'distribution') params.distribution = readEnum(rep, sub, ['uniform', 'normal', 'truncated_normal', 'untruncated_normal'] as const, layer) ?? (ok = false);
    else if (e.key === 'scale') params.scale = readNumber(rep, sub, { exclusiveMin: 0, max: 1e6 }, layer) ?? (ok = false);
    else if (e.key === 'stddev') params.stddev = readNumber(rep, sub, { min: 0, max: 1e6 }, layer) ?? (ok = false);
    else params[e.key] = readNumber(rep, sub, { min: -1e6, max: 1e6 }, layer) ?? (ok = false);
  }
  const nameEntry = node.entries.find(e => e.key === 'name');
  if (!nameEntry) { rep.error(node.span, `${at.key} needs a "name"`, at.pointer, layer); return undefined; }
  const spec = byName(nameEntry.value, `${at.pointer}/name`, params);
  if (spec && typeof params.minval === 'number' && typeof params.maxval === 'number' && params.minval >= params.maxval) {
    rep.error(nodeSpan(node, 'maxval'), `maxval (${params.maxval}) must be greater than minval (${params.minval})`, `${at.pointer}/maxval`, layer);
    return undefined;
  }
  return ok ? spec : undefined;
}

function readPair(rep: Reporter, at: At, layer: string): [number, number] | undefined {
  const rule = { int: true, min: 1, max: 4096 };
  if (at.node.kind === 'seq') {
    if (at.node.items.length !== 2) { rep.error(at.node.span, `"${at.key}" must be a number or [height, width], got a list of ${at.node.items.length}`, at.pointer, layer); return undefined; }
    const a = readNumber(rep, { node: at.node.items[0], key: at.key, pointer: `${at.pointer}/0` }, rule, layer);
    const b = readNumber(rep, { node: at.node.items[1], key: at.key, pointer: `${at.pointer}/1` }, rule, layer);
    return a !== undefined && b !== undefined ? [a, b] : undefined;
  }
  const v = readNumber(rep, at, rule, layer);
  return v !== undefined ? [v, v] : undefined;
}

/** Reads the layer list: the layers that could be understood (the others are reported); undefined when it is no list. */
export function readLayers(rep: Reporter, at: At): LayerSpec[] | undefined {
  if (at.node.kind !== 'seq') { rep.error(at.node.span, `"layers" must be a list of layers, got ${describe(at.node)}`, at.pointer); return undefined; }
  if (!at.node.items.length) { rep.error(at.node.span, '"layers" is empty: add at least one layer', at.pointer); return undefined; }
  const layers: LayerSpec[] = [];
  const counts = new Map<string, number>();
  const names = new Map<string, Span>();
  at.node.items.forEach((item, index) => {
    const layer = readLayer(rep, { node: item, key: `layers[${index}]`, pointer: `${at.pointer}/${index}` }, index, counts);
    if (!layer) return;
    const prev = names.get(layer.name);
    if (prev) { rep.error(layer.spans?.name ?? layer.span, `duplicate layer name "${layer.name}"`, `${at.pointer}/${index}/name`, layer.name); return; }
    names.set(layer.name, layer.span!);
    layers.push(layer);
  });
  return layers;
}

function readLayer(rep: Reporter, at: At, index: number, counts: Map<string, number>): LayerSpec | undefined {
  const { node } = at;
  if (node.kind !== 'map') { rep.error(node.span, `each layer must be a map with a "type" (dense, conv2d, ...), got ${describe(node)}`, at.pointer); return undefined; }
  const typeEntry = node.entries.find(e => e.key === 'type');
  if (!typeEntry) { rep.error(node.span, `layer ${index} has no "type" (one of ${LAYER_TYPES.join(', ')})`, at.pointer); return undefined; }
  const typeAt: At = { node: typeEntry.value, key: 'type', pointer: `${at.pointer}/type` };
  const rawType = readString(rep, typeAt);
  if (rawType === undefined) return undefined;
  // Exact names only (as the schema the editor validates with); Keras/PyTorch spellings get a "did you mean".
  const type = (LAYER_TYPES as string[]).includes(rawType) ? rawType as LayerType : undefined;
  if (!type) {
    const alias = TYPE_ALIASES[rawType.trim().toLowerCase().replace(/-/g, '_')] ?? LAYER_TYPES.find(t => t === rawType.trim().toLowerCase());
    const hint = alias ? ` (did you mean "${alias}"?)` : didYouMean(rawType, LAYER_TYPES);
    rep.error(typeEntry.value.span, `unknown layer type "${rawType}"${hint}; expected one of ${LAYER_TYPES.join(', ')}`, typeAt.pointer);
    return undefined;
  }
  const n = (counts.get(type) ?? 0) + 1;
  counts.set(type, n);
  const spans: Record<string, Span> = {};
  for (const e of node.entries) spans[e.key] = e.value.span;
  const nameEntry = node.entries.find(e => e.key === 'name');
  let name = `${type}_${n}`;
  if (nameEntry) {
    const s = readString(rep, { node: nameEntry.value, key: 'name', pointer: `${at.pointer}/name` });
    if (s !== undefined && s.trim() !== '') name = s.trim().slice(0, 100);
  }
  const before = rep.problems.length;
  checkMap(rep, at, ['type', 'name', ...LAYER_KEYS[type]], `a ${type} layer`, name);
  const get = (key: string): At | undefined => {
    const e = node.entries.find(x => x.key === key);
    return e ? { node: e.value, key, pointer: `${at.pointer}/${key}` } : undefined;
  };
  const required = (key: string): At | undefined => {
    const a = get(key);
    if (!a) rep.error(node.span, `${type} layer "${name}" needs "${key}"`, at.pointer, name);
    return a;
  };
  const act = (): ActivationSpec => { const a = get('activation'); return (a && readActivation(rep, a, name)) || { name: 'linear' }; };
  const init = (key: string, dflt: string): InitSpec => { const a = get(key); return (a && readInit(rep, a, name)) || defaultInit(dflt); };
  // `init: from-model`: the layer's weights come from the model file; the default initializer only fills the
  // parameters the model has none for (a bias the model lacks).
  const initAt = get('init');
  const fromModel = initAt?.node.kind === 'scalar' && initAt.node.value === FROM_MODEL;
  const kernelInit = (): InitSpec => (fromModel ? defaultInit(DEFAULT_INIT) : init('init', DEFAULT_INIT));
  const base = { name, index, span: node.span, spans, ...(fromModel ? { fromModel: true } : {}) };
  const bool = (key: string, dflt: boolean): boolean => { const a = get(key); return (a && readBool(rep, a, name)) ?? dflt; };
  const padding = (): 'same' | 'valid' => { const a = get('padding'); return (a && readEnum(rep, a, ['same', 'valid'] as const, name)) ?? 'valid'; };
  let layer: LayerSpec | undefined;
  switch (type) {
    case 'dense': {
      const u = required('units');
      const units = u && readNumber(rep, u, { int: true, min: 1, max: MAX_UNITS }, name);
      layer = { ...base, type, units: units ?? 1, activation: act(), init: kernelInit(), biasInit: init('bias_init', DEFAULT_BIAS_INIT), useBias: bool('use_bias', true) };
      break;
    }
    case 'conv2d': {
      const f = required('filters');
      const filters = f && readNumber(rep, f, { int: true, min: 1, max: 100_000 }, name);
      const k = required('kernel');
      const kernel = k && readPair(rep, k, name);
      const s = get('stride');
      const stride = (s && readPair(rep, s, name)) || [1, 1] as [number, number];
      const convInit = kernelInit();
      const rankProblem = initRankProblem(convInit, 4);
      if (rankProblem) rep.error(spans.init ?? node.span, `${rankProblem} (conv2d "${name}")`, `${at.pointer}/init`, name);
      layer = { ...base, type, filters: filters ?? 1, kernel: kernel ?? [1, 1], stride, padding: padding(), activation: act(), init: convInit, biasInit: init('bias_init', DEFAULT_BIAS_INIT), useBias: bool('use_bias', true) };
      break;
    }
    case 'maxpool2d': case 'avgpool2d': {
      const s = get('size');
      const size = (s && readPair(rep, s, name)) || [2, 2] as [number, number];
      const st = get('stride');
      const stride = (st && readPair(rep, st, name)) || size;
      layer = { ...base, type, size, stride, padding: padding() };
      break;
    }
    case 'global_avgpool2d': case 'flatten':
      layer = { ...base, type };
      break;
    case 'dropout': {
      const r = required('rate');
      const rate = r && readNumber(rep, r, { min: 0, exclusiveMax: 1 }, name);
      layer = { ...base, type, rate: rate ?? 0 };
      break;
    }
    case 'batchnorm': {
      const m = get('momentum'); const e = get('epsilon');
      // Batch normalization has no initializer to choose: its init is either drawn (random) or the model's.
      if (initAt && !fromModel) readEnum(rep, initAt, ['random', FROM_MODEL] as const, name);
      layer = { ...base, type, momentum: (m && readNumber(rep, m, { min: 0, exclusiveMax: 1 }, name)) ?? 0.99, epsilon: (e && readNumber(rep, e, { exclusiveMin: 0, max: 1 }, name)) ?? 1e-3 };
      break;
    }
    case 'activation': {
      const a = required('activation');
      const spec = a && readActivation(rep, a, name);
      layer = { ...base, type, activation: spec ?? { name: 'linear' } };
      break;
    }
  }
  const failed = rep.problems.slice(before).some(p => p.severity === 'error');
  return failed ? undefined : layer;
}
