/**
 * From the source tree of a *.nn.yaml / *.nn.json to a Draft: every section and key read with its span,
 * unknown keys and names reported with "did you mean".
 */
import type { DataSpec, LossName, OptimizerName, Span, TrainSpec } from '../model';
import { SOURCES, SOURCE_NAMES } from '../data/sources';
import type { Draft } from './finish';
import { readLayers } from './layers';
import { checkMap, readEnum, readNumber, readString, type At, type Reporter } from './read';
import { describe, type SNode } from './tree';

const TOP_KEYS = ['$schema', 'name', 'seed', 'data', 'model', 'train', 'probe', 'diagnostics'];
const DATA_KEYS = ['source', 'samples', 'noise', 'classes', 'features', 'shape', 'size', 'validation', 'path', 'target', 'normalize', 'logdir', 'tags'];
const MODEL_KEYS = ['input', 'layers', 'keras', 'onnx', 'weights', 'init'];
const TRAIN_KEYS = ['loss', 'optimizer', 'lr', 'batch', 'epochs', 'steps', 'clip', 'weight_decay', 'momentum', 'beta1', 'beta2', 'epsilon', 'rho',
  'engine', 'device', 'threads', 'processes'];
const PROBE_KEYS = ['every', 'samples'];
/** Bounds of train.epochs and train.steps (the schema says the same); the CLI's --epochs/--steps use them too. */
export const TRAIN_LIMITS = { epochs: 100_000, steps: 10_000_000 } as const;
export const LOSS_NAMES: LossName[] = ['mse', 'binary_cross_entropy', 'cross_entropy'];
export const OPTIMIZER_NAMES: OptimizerName[] = ['sgd', 'momentum', 'adam', 'rmsprop'];

/** Loss spellings from Keras/PyTorch mapped to ours. */
export const LOSS_ALIASES: Record<string, LossName> = Object.assign(Object.create(null), {
  mse: 'mse', mean_squared_error: 'mse', meansquarederror: 'mse', l2: 'mse',
  binary_cross_entropy: 'binary_cross_entropy', binary_crossentropy: 'binary_cross_entropy', bce: 'binary_cross_entropy', binarycrossentropy: 'binary_cross_entropy',
  cross_entropy: 'cross_entropy', categorical_crossentropy: 'cross_entropy', sparse_categorical_crossentropy: 'cross_entropy',
  categorical_cross_entropy: 'cross_entropy', crossentropy: 'cross_entropy', ce: 'cross_entropy', categoricalcrossentropy: 'cross_entropy', sparsecategoricalcrossentropy: 'cross_entropy',
});

/** Records the value span of every key under `map` by dotted path (two levels: "train.lr", "data.tags"). */
function recordSpans(map: SNode, prefix: string, spans: Record<string, Span>, depth: number): void {
  if (map.kind !== 'map') return;
  for (const e of map.entries) {
    const p = prefix ? `${prefix}.${e.key}` : e.key;
    spans[p] = e.value.span;
    if (depth < 1) recordSpans(e.value, p, spans, depth + 1);
  }
}

export interface ReadResult { draft?: Draft; kerasPath?: { path: string; span: Span }; onnxPath?: { path: string; span: Span } }

export function readConfigTree(root: SNode, file: string, rep: Reporter): ReadResult {
  const rootAt: At = { node: root, key: 'the config', pointer: '' };
  if (root.kind !== 'map') {
    rep.error(root.span, `a network config is a map with data, model, train sections, got ${describe(root)}`, '');
    return {};
  }
  checkMap(rep, rootAt, TOP_KEYS, 'the config');
  const spans: Record<string, Span> = {};
  recordSpans(root, '', spans, 0);
  const get = (m: SNode, key: string, pointer: string): At | undefined => {
    const e = m.kind === 'map' ? m.entries.find(x => x.key === key) : undefined;
    return e ? { node: e.value, key, pointer: `${pointer}/${key}` } : undefined;
  };
  const draft: Draft = { file, layers: [], train: {}, probe: {}, diagnostics: {}, spans };
  const nameAt = get(root, 'name', '');
  if (nameAt) draft.name = readString(rep, nameAt);
  const seedAt = get(root, 'seed', '');
  if (seedAt) draft.seed = readNumber(rep, seedAt, { int: true, min: 0, max: 4294967295 });

  // data
  const dataAt = get(root, 'data', '');
  if (dataAt && checkMap(rep, dataAt, DATA_KEYS, 'data')) draft.data = readData(rep, dataAt);

  // model
  const modelAt = get(root, 'model', '');
  let kerasPath: ReadResult['kerasPath'];
  let onnxPath: ReadResult['onnxPath'];
  if (!modelAt) rep.error(root.span.start.line === root.span.end.line ? root.span : { start: root.span.start, end: root.span.start }, 'the config has no "model" section (model: {layers: [...]})', '/model');
  else if (checkMap(rep, modelAt, MODEL_KEYS, 'model')) {
    const inputAt = get(modelAt.node, 'input', '/model');
    if (inputAt) draft.input = readShape(rep, inputAt);
    const layersAt = get(modelAt.node, 'layers', '/model');
    const kerasAt = get(modelAt.node, 'keras', '/model');
    const onnxAt = get(modelAt.node, 'onnx', '/model');
    const given = [layersAt && 'layers', kerasAt && 'keras', onnxAt && 'onnx'].filter(Boolean);
    if (given.length > 1) {
      const second = (given[1] === 'keras' ? kerasAt : onnxAt)!;
      rep.error(second.node.span, `model has both "${given[0]}" and "${given[1]}": keep one`, `/model/${given[1]}`);
    } else if (kerasAt) {
      const p = readString(rep, kerasAt);
      if (p !== undefined) kerasPath = { path: p, span: kerasAt.node.span };
    } else if (onnxAt) {
      const p = readString(rep, onnxAt);
      if (p !== undefined) onnxPath = { path: p, span: onnxAt.node.span };
    } else if (layersAt) draft.layers = readLayers(rep, layersAt) ?? [];
    else rep.error(modelAt.node.span, 'model needs "layers" (a list of layers), "keras" (a Keras/TF.js model JSON) or "onnx" (an ONNX model)', '/model');
    // Where `init: from-model` reads the trained weights: model.weights, else the imported model itself.
    const weightsAt = get(modelAt.node, 'weights', '/model');
    if (weightsAt) { const w = readString(rep, weightsAt); if (w !== undefined) draft.weights = w; }
    const initAt = get(modelAt.node, 'init', '/model');
    if (initAt && readEnum(rep, initAt, ['random', 'from-model'] as const) === 'from-model') {
      draft.fromModel = true;
      // Every weighted layer then starts from the model: a layer's own drawn init would be silently ignored.
      for (const l of draft.layers ?? []) {
        const at = l.spans?.init;
        if (at && !l.fromModel && ['dense', 'conv2d', 'batchnorm'].includes(l.type)) rep.warn(at, `model.init: from-model overrides layer "${l.name}"'s init: it starts from the model's weights`, `/model/layers/${l.index}/init`, l.name);
      }
      if (!weightsAt && !onnxAt && !kerasAt) rep.error(initAt.node.span, 'init: from-model needs the model the weights come from: model.onnx, model.keras (a TF.js model.json with its .bin files) or model.weights', '/model/init');
    }
    // A layer's own `init: from-model` reads model.weights (a config with layers names no model.onnx/keras).
    if (!weightsAt) for (const l of draft.layers ?? []) {
      if (l.fromModel) rep.error(l.spans?.init ?? l.span!, `layer "${l.name}" has init: from-model but the config names no model file: add model.weights (an ONNX file, or a TF.js model.json with its .bin files beside it)`, `/model/layers/${l.index}/init`, l.name);
    }
  }

  // train
  const trainAt = get(root, 'train', '');
  if (trainAt && checkMap(rep, trainAt, TRAIN_KEYS, 'train')) draft.train = readTrain(rep, trainAt);

  // probe
  const probeAt = get(root, 'probe', '');
  if (probeAt && checkMap(rep, probeAt, PROBE_KEYS, 'probe')) {
    const every = get(probeAt.node, 'every', '/probe');
    if (every) draft.probe.every = readNumber(rep, every, { int: true, min: 1, max: 10_000_000 });
    const samples = get(probeAt.node, 'samples', '/probe');
    if (samples) draft.probe.samples = readNumber(rep, samples, { int: true, min: 1, max: 4096 });
  }

  // diagnostics: threshold overrides, numbers by key (the rules own the key names)
  const diagAt = get(root, 'diagnostics', '');
  if (diagAt) {
    if (diagAt.node.kind !== 'map') rep.error(diagAt.node.span, `"diagnostics" must be a map of threshold overrides (e.g. dead_warning: 0.2), got ${describe(diagAt.node)}`, '/diagnostics');
    else for (const e of diagAt.node.entries) {
      const v = readNumber(rep, { node: e.value, key: e.key, pointer: `/diagnostics/${e.key}` }, {});
      if (v !== undefined) Object.defineProperty(draft.diagnostics, e.key, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return { draft, kerasPath, onnxPath };
}

function readShape(rep: Reporter, at: At): number[] | undefined {
  const rule = { int: true, min: 1, max: 1_000_000 };
  if (at.node.kind === 'seq') {
    if (at.node.items.length < 1 || at.node.items.length > 3) {
      rep.error(at.node.span, `"${at.key}" must be a number of features or [height, width, channels], got a list of ${at.node.items.length}`, at.pointer);
      return undefined;
    }
    const dims = at.node.items.map((n, i) => readNumber(rep, { node: n, key: at.key, pointer: `${at.pointer}/${i}` }, rule));
    return dims.every(x => x !== undefined) ? dims as number[] : undefined;
  }
  const v = readNumber(rep, at, rule);
  return v === undefined ? undefined : [v];
}

function readData(rep: Reporter, at: At): Draft['data'] {
  const m = at.node;
  const get = (key: string): At | undefined => {
    const e = m.kind === 'map' ? m.entries.find(x => x.key === key) : undefined;
    return e ? { node: e.value, key, pointer: `/data/${key}` } : undefined;
  };
  const srcAt = get('source');
  if (!srcAt) { rep.error(m.span, `data needs "source" (one of ${SOURCE_NAMES.join(', ')})`, '/data'); return undefined; }
  const source = readEnum(rep, srcAt, SOURCE_NAMES);
  if (!source) return undefined;
  const data: Partial<DataSpec> & { source: DataSpec['source'] } = { source };
  const allowed = new Set(['source', 'validation', ...SOURCES[source].keys]);
  if (m.kind === 'map') for (const e of m.entries) {
    if (!DATA_KEYS.includes(e.key) || allowed.has(e.key)) continue;
    rep.warn(e.keySpan, `"${e.key}" has no effect on data source ${source} (it reads ${[...allowed].join(', ')})`);
  }
  const num = (key: string, rule: Parameters<typeof readNumber>[2]) => { const a = get(key); return a && readNumber(rep, a, rule); };
  const samples = num('samples', { int: true, min: 10, max: 200_000 }); if (samples !== undefined) data.samples = samples;
  const noise = num('noise', { min: 0, max: 10 }); if (noise !== undefined) data.noise = noise;
  const classes = num('classes', { int: true, min: source === 'teacher' ? 0 : 2, max: 1000 }); if (classes !== undefined) data.classes = classes;
  const features = num('features', { int: true, min: 1, max: 100_000 }); if (features !== undefined) data.features = features;
  const size = num('size', { int: true, min: 8, max: 64 }); if (size !== undefined) data.size = size;
  const validation = num('validation', { exclusiveMin: 0, max: 0.9 }); if (validation !== undefined) data.validation = validation;
  const shapeAt = get('shape'); if (shapeAt) { const s = readShape(rep, shapeAt); if (s) data.shape = s; }
  const pathAt = get('path'); if (pathAt) data.path = readString(rep, pathAt);
  const targetAt = get('target');
  if (targetAt) {
    const v = targetAt.node.kind === 'scalar' && typeof targetAt.node.value === 'number' && Number.isInteger(targetAt.node.value) && targetAt.node.value >= 0
      ? String(targetAt.node.value) : readString(rep, targetAt);
    if (v !== undefined) data.target = v;
  }
  const normAt = get('normalize'); if (normAt) data.normalize = readEnum(rep, normAt, ['standard', 'minmax', 'none'] as const);
  const logAt = get('logdir'); if (logAt) data.logdir = readString(rep, logAt);
  const tagsAt = get('tags');
  if (tagsAt) {
    if (tagsAt.node.kind !== 'map') rep.error(tagsAt.node.span, `"tags" must be a map of tag names, got ${describe(tagsAt.node)}`, '/data/tags');
    else {
      const tags: Record<string, string> = {};
      for (const e of tagsAt.node.entries) {
        const v = readString(rep, { node: e.value, key: e.key, pointer: `/data/tags/${e.key}` });
        if (v !== undefined) Object.defineProperty(tags, e.key, { value: v, enumerable: true, writable: true, configurable: true });
      }
      data.tags = tags;
    }
  }
  return data;
}

function readTrain(rep: Reporter, at: At): Partial<TrainSpec> {
  const m = at.node;
  const get = (key: string): At | undefined => {
    const e = m.kind === 'map' ? m.entries.find(x => x.key === key) : undefined;
    return e ? { node: e.value, key, pointer: `/train/${key}` } : undefined;
  };
  const t: Partial<TrainSpec> = {};
  const lossAt = get('loss');
  if (lossAt) {
    const raw = lossAt.node.kind === 'scalar' && typeof lossAt.node.value === 'string' ? lossAt.node.value : undefined;
    const near = raw !== undefined && !(LOSS_NAMES as string[]).includes(raw) ? LOSS_ALIASES[raw.trim().toLowerCase().replace(/-/g, '_')] : undefined;
    if (near) rep.error(lossAt.node.span, `unknown loss "${raw}" (did you mean "${near}"?); expected one of ${LOSS_NAMES.join(', ')}`, '/train/loss');
    else t.loss = readEnum(rep, lossAt, LOSS_NAMES);
  }
  const optAt = get('optimizer');
  if (optAt) {
    t.optimizer = readEnum(rep, optAt, OPTIMIZER_NAMES);
  }
  const num = (key: string, rule: Parameters<typeof readNumber>[2]) => { const a = get(key); return a && readNumber(rep, a, rule); };
  const set = <K extends keyof TrainSpec>(k: K, v: TrainSpec[K] | undefined) => { if (v !== undefined) t[k] = v; };
  set('lr', num('lr', { exclusiveMin: 0, max: 100 }));
  set('batch', num('batch', { int: true, min: 1, max: 65536 }));
  set('epochs', num('epochs', { int: true, min: 1, max: TRAIN_LIMITS.epochs }));
  set('steps', num('steps', { int: true, min: 1, max: TRAIN_LIMITS.steps }));
  set('clip', num('clip', { exclusiveMin: 0, max: 1e9 }));
  set('weightDecay', num('weight_decay', { min: 0, max: 1 }));
  set('momentum', num('momentum', { min: 0, exclusiveMax: 1 }));
  set('beta1', num('beta1', { min: 0, exclusiveMax: 1 }));
  set('beta2', num('beta2', { min: 0, exclusiveMax: 1 }));
  set('epsilon', num('epsilon', { exclusiveMin: 0, max: 1 }));
  set('rho', num('rho', { min: 0, exclusiveMax: 1 }));
  const engineAt = get('engine'); if (engineAt) set('engine', readEnum(rep, engineAt, ['core', 'torch', 'auto'] as const));
  const deviceAt = get('device'); if (deviceAt) set('device', readEnum(rep, deviceAt, ['cpu', 'cuda', 'auto'] as const));
  set('threads', num('threads', { int: true, min: 1, max: 1024 }));
  set('processes', num('processes', { int: true, min: 1, max: 1024 }));
  return t;
}
