/**
 * `init: from-model`: the model's own weights for each layer of a config (or for the layers that say
 * `init: from-model` themselves), in the core's layout, matched by layer name. From an ONNX file (its initializers, external data beside it) or a TF.js layers-model
 * model.json with the .bin shards its weightsManifest names beside it.
 *
 * Two readers share one check (modelWeightProblems): lint compares the dims of the model's tensors with the
 * layers' shapes without reading the values (on every keystroke, cached by the file's size and mtime), and
 * loadModelWeights reads the values at run time and throws the first problem as an InputError.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, type InputProblem, type LayerSpec, type NetworkConfig, type Span } from '../model';
import { openUserFile, readUserFile, readUserFileText, statUserFile, UserFileError, type UserFileInfo } from '../io/userFile';
import { safeName } from '../format';
import { isOnnxName, onnxParamShapes, onnxWeights, type LayerParamShapes, type LayerWeights } from './onnx';
import { inferShapes } from './shapes';

/** The file `from-model` reads, relative to the config's folder. */
export function weightsSource(config: NetworkConfig): string | undefined {
  return config.model.weights ?? config.model.onnx ?? config.model.keras;
}

/** What the model file holds for one layer (by name): its parameters' dims, and their values once loaded. */
interface ModelLayer { shapes: LayerParamShapes; weights?: LayerWeights }
type ModelLayers = Map<string, ModelLayer>;

const WEIGHTED = new Set(['dense', 'conv2d', 'batchnorm']);
/**
 * A layer whose parameters a model file can hold: dense, conv2d, batchnorm, and a prelu activation layer (its
 * learned alphas, Keras' PReLU layer). A per-layer from-model (Verify's, applySuggestion) must keep those too.
 */
export const holdsModelWeights = (l: LayerSpec): boolean => WEIGHTED.has(l.type) || (l.type === 'activation' && l.activation.name === 'prelu');
const fmt = (d: number[]) => `[${d.join(', ')}]`;

/** Where a problem with the model file itself is shown: model.init, else the key naming the file. */
function configSpan(config: NetworkConfig, key = 'model.init'): Span | undefined {
  return config.spans[key] ?? config.spans['model.weights'] ?? config.spans['model.onnx'] ?? config.spans['model.keras'];
}

const fail = (config: NetworkConfig, message: string, key = 'model.init'): never => {
  const span = configSpan(config, key);
  throw new InputError({ severity: 'error', message, ...(span ? { span } : {}) }, config.file);
};

/** A problem with one layer's model weights: at its own `init: from-model` (or `key`), else at model.init. */
function layerProblem(config: NetworkConfig, layer: LayerSpec, message: string, key = 'init'): InputProblem {
  const span = (layer.fromModel || key !== 'init' ? layer.spans?.[key] ?? layer.spans?.init ?? layer.span : undefined) ?? configSpan(config);
  return { severity: 'error', message, ...(span ? { span } : {}), layer: layer.name };
}

/** A parameter's dims as a layer of the config needs them (the core's layout), and how to read them. */
interface Wanted { dims: number[]; layout: string }

/** The dims each parameter of each layer needs, from the config's shape flow. */
function wantedShapes(config: NetworkConfig): Record<string, Wanted>[] {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  return config.model.layers.map((l, i): Record<string, Wanted> => {
    const inShape = i ? shapes[i - 1]?.outputShape ?? [] : config.model.input;
    const channels = inShape[inShape.length - 1] ?? 1;
    const vec = (n: number, what: string): Wanted => ({ dims: [n], layout: what });
    switch (l.type) {
      case 'dense': return {
        kernel: { dims: [shapes[i]?.fanIn ?? 0, l.units], layout: '[in, out]' },
        ...(l.useBias ? { bias: vec(l.units, '[units]') } : {}),
        ...(l.activation.name === 'prelu' ? { alpha: vec(l.units, '[units]') } : {}),
      };
      case 'conv2d': return {
        kernel: { dims: [l.kernel[0], l.kernel[1], channels, l.filters], layout: '[kh, kw, in, out]' },
        ...(l.useBias ? { bias: vec(l.filters, '[filters]') } : {}),
        ...(l.activation.name === 'prelu' ? { alpha: vec(l.filters, '[filters]') } : {}),
      };
      case 'batchnorm': return Object.fromEntries(['gamma', 'beta', 'moving_mean', 'moving_variance'].map(k => [k, vec(channels, '[channels]')]));
      case 'activation': return l.activation.name === 'prelu' ? { alpha: vec(channels, '[channels]') } : {};
      default: return {};
    }
  });
}

/** PReLU slopes shared over the spatial axes are [1, 1, C] in Keras: the same C values as the core's [C]. */
const squeezeLeadingOnes = (d: number[]) => { let i = 0; while (i < d.length - 1 && d[i] === 1) i++; return d.slice(i); };
const sameDims = (param: string, a: number[], b: number[]) => {
  const [x, y] = param === 'alpha' ? [squeezeLeadingOnes(a), squeezeLeadingOnes(b)] : [a, b];
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/**
 * The problems of taking the weights in `model` for the config's layers: a wanted layer the model has no
 * weights for, a parameter whose dims differ from the layer's (same value count or not), a bias the layer
 * would drop (use_bias: false). Each at the layer's `init:` (or model.init), naming the layer and both shapes.
 */
export function modelWeightProblems(config: NetworkConfig, model: ModelLayers, rel: string): InputProblem[] {
  const whole = !!config.model.fromModel;
  const own = config.model.layers.filter(l => l.fromModel);
  const wanted = (l: LayerSpec) => whole || !!l.fromModel;
  const problems: InputProblem[] = [];
  const available = () => {
    const names = [...model.keys()].filter(n => Object.keys(model.get(n)?.shapes ?? {}).length);
    return names.length ? `; it has weights for ${names.slice(0, 12).map(n => `"${n}"`).join(', ')}${names.length > 12 ? ', ...' : ''}` : '; it holds no layer weights';
  };
  if (whole) {
    const missing = config.model.layers.filter(l => !model.has(l.name) && WEIGHTED.has(l.type) && !l.fromModel);
    if (missing.length) {
      const span = configSpan(config);
      problems.push({ severity: 'error', message: `${safeName(rel)} has no weights for layer${missing.length > 1 ? 's' : ''} ${missing.map(l => `"${l.name}"`).join(', ')} (layers are matched by name${available()})`, ...(span ? { span } : {}) });
    }
  }
  for (const l of own) {
    if (!holdsModelWeights(l)) problems.push(layerProblem(config, l, `layer "${l.name}" (${l.type}) has no weights to take from the model`));
    else if (!model.has(l.name)) problems.push(layerProblem(config, l, `${safeName(rel)} has no weights for layer "${l.name}" (layers are matched by name${available()})`));
  }
  const need = wantedShapes(config);
  config.model.layers.forEach((l, i) => {
    const m = wanted(l) ? model.get(l.name) : undefined;
    if (!m) return;
    // One problem per layer: the kernel's shape says it; a bias of another width follows from it.
    const differs = Object.entries(need[i]).find(([param, want]) => m.shapes[param] && !sameDims(param, m.shapes[param].dims, want.dims));
    if (differs) {
      const [param, want] = differs, got = m.shapes[param];
      problems.push(layerProblem(config, l, `layer "${l.name}": the model's ${param} is ${fmt(got.dims)}${got.origin ? ` (${got.origin})` : ''} but this ${l.type} layer needs ${fmt(want.dims)} ${want.layout}: its shape differs from the model's`));
      return;
    }
    // A trained bias left out changes what every unit computes (also before a batchnorm, whose moving mean
    // was learnt with it): an error, not a silent partial load.
    const bias = m.shapes.bias;
    if (bias && (l.type === 'dense' || l.type === 'conv2d') && !l.useBias) {
      problems.push(layerProblem(config, l, `layer "${l.name}" has use_bias: false but the model has a bias for it${bias.origin ? ` (${bias.origin})` : ''}: it would be dropped and the layer would compute something else than the model; remove use_bias: false`, 'use_bias'));
    }
  });
  return problems;
}

/** How a lint reads the files a config names (the parser's readers, so Restricted Mode and tests can supply theirs). */
export interface WeightReaders {
  root?: string;
  readBytes?: (abs: string) => Uint8Array;
  readText?: (abs: string) => string;
}

/** Model parameter shapes by file (real path, device, inode, size, mtime, ctime): the editor lints on every keystroke, the model rarely changes. */
const shapeCache = new Map<string, { key: string; read: (config: NetworkConfig) => ModelLayers | null }>();

/**
 * Lint: the problems of `init: from-model` that the model file's tensor dims show, without reading their values.
 * A model file that cannot be read or understood gives no problem here: the run reads it and says why.
 */
export function lintModelWeights(config: NetworkConfig, baseDir: string, readers: WeightReaders = {}): InputProblem[] {
  if (!config.model.fromModel && !config.model.layers.some(l => l.fromModel)) return [];
  const rel = weightsSource(config);
  if (!rel) return [];
  const abs = path.resolve(baseDir, rel);
  const onnx = isOnnxName(rel);
  let key: string;
  try {
    const st = statUserFile(abs, { kind: onnx ? 'onnx' : 'keras', root: readers.root });
    key = `${st.realPath}:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return [];
  }
  let hit = shapeCache.get(abs);
  if (!hit || hit.key !== key) {
    // An unreadable model is cached too (read gives nothing to check: the run reports why), so a broken file
    // is not read and parsed again on every keystroke.
    let read: (config: NetworkConfig) => ModelLayers | null = () => null;
    try {
      if (onnx) {
        const bytes = readers.readBytes ? readers.readBytes(abs) : readUserFile(abs, { kind: 'onnx', root: readers.root });
        const { shapes, names, problems } = onnxParamShapes(bytes, abs);
        if (!problems.some(p => p.severity === 'error')) {
          const byName: ModelLayers = new Map(names.map((n, i) => [n, { shapes: shapes[i] }]));
          read = () => byName;
        }
      } else {
        const text = readers.readText ? readers.readText(abs) : readUserFileText(abs, { kind: 'keras', root: readers.root });
        const specs = tfjsSpecs(JSON.parse(text), msg => { throw new Error(msg); });
        read = c => tfjsLayers(c, specs);
      }
    } catch { /* unreadable: cached as nothing to check */ }
    hit = { key, read };
    if (shapeCache.size >= 8) shapeCache.delete(shapeCache.keys().next().value!);
    shapeCache.set(abs, hit);
  }
  try {
    const layers = hit.read(config);
    return layers ? modelWeightProblems(config, layers, rel) : [];
  } catch {
    return [];
  }
}

/**
 * Weights by layer index for a config with `init: from-model` on the model (every weighted layer) or on some
 * layers (only those; the others keep their drawn weights). Undefined when nothing comes from the model.
 */
export function loadModelWeights(config: NetworkConfig, baseDir: string, root?: string, memoryLimitMB = 1024): (LayerWeights | undefined)[] | undefined {
  const whole = !!config.model.fromModel;
  const own = config.model.layers.filter(l => l.fromModel);
  if (!whole && !own.length) return undefined;
  const rel = weightsSource(config);
  if (!rel) {
    if (whole) return fail(config, 'init: from-model needs model.onnx, model.keras or model.weights');
    throw new InputError(layerProblem(config, own[0], `layer "${own[0].name}" has init: from-model but the config names no model file: add model.weights`), config.file);
  }
  const abs = path.resolve(baseDir, rel);
  const model = isOnnxName(rel) ? fromOnnx(config, abs, rel, root) : fromTfjs(config, abs, rel, root, memoryLimitMB);
  const problem = modelWeightProblems(config, model, rel)[0];
  if (problem) throw new InputError(problem, config.file);
  const wanted = (l: LayerSpec) => whole || !!l.fromModel;
  return config.model.layers.map(l => (wanted(l) ? model.get(l.name)?.weights : undefined));
}

function read(config: NetworkConfig, abs: string, rel: string, root: string | undefined, kind: 'onnx' | 'weights'): Buffer {
  try { return readUserFile(abs, { kind, root, label: rel }); } catch (e) {
    return fail(config, e instanceof UserFileError ? e.message : `cannot read ${safeName(rel)}: ${(e as Error).message}`, 'model.weights');
  }
}

function fromOnnx(config: NetworkConfig, abs: string, rel: string, root: string | undefined): ModelLayers {
  const bytes = read(config, abs, rel, root, 'onnx');
  const { weights, shapes, names, problems } = onnxWeights(bytes, abs);
  const err = problems.find(p => p.severity === 'error');
  if (err) fail(config, `${safeName(rel)}: ${err.message}`, 'model.weights');
  return new Map(names.map((n, i) => [n, { shapes: shapes[i], weights: weights[i] }]));
}

/** One weight of a TF.js weightsManifest: where its float32 values lie and which parameter of which layer path it is. */
interface TfjsSpec { name: string; group: number; paths: string[]; dims: number[]; count: number; dtype: string; path: string[]; param?: string }

const TFJS_PARAMS: Record<string, string> = { kernel: 'kernel', bias: 'bias', gamma: 'gamma', beta: 'beta', moving_mean: 'moving_mean', moving_variance: 'moving_variance', alpha: 'alpha' };
/** More values than any model the core can hold: a declared shape past it is refused before anything is allocated. */
const MAX_WEIGHT_VALUES = 2 ** 31;

/** The weight specs of a TF.js model.json, their shapes checked (non-negative integers, a bounded count). */
function tfjsSpecs(json: unknown, refuse: (message: string) => never): TfjsSpec[] {
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) refuse('has no weightsManifest: from-model reads a TF.js model.json with its .bin files (or an ONNX file)');
  const out: TfjsSpec[] = [];
  (manifest as { paths?: unknown; weights?: unknown }[]).forEach((group, g) => {
    const paths = Array.isArray(group?.paths) ? group.paths as string[] : [];
    const specs = Array.isArray(group?.weights) ? group.weights as { name?: unknown; shape?: unknown; dtype?: unknown }[] : [];
    for (const s of specs) {
      const name = String(s?.name);
      const shape = s?.shape;
      if (!Array.isArray(shape) || shape.length > 8 || !shape.every(d => Number.isSafeInteger(d) && d >= 0)) {
        refuse(`weight "${name}" has shape ${JSON.stringify(shape)?.slice(0, 80)}: expected a list of at most 8 non-negative integers`);
      }
      const dims = shape as number[];
      const count = dims.reduce((a, b) => a * b, 1);
      if (count > MAX_WEIGHT_VALUES) refuse(`weight "${name}" declares shape ${fmt(dims)}: more values than a model can hold`);
      // "sequential/dense_1/kernel" or "dense_1/kernel:0": the layer is a part before the parameter.
      const parts = name.replace(/:\d+$/, '').split('/');
      const param = TFJS_PARAMS[parts.pop()!];
      out.push({ name, group: g, paths, dims, count, dtype: typeof s?.dtype === 'string' ? s.dtype : 'float32', path: parts, ...(param ? { param } : {}) });
    }
  });
  return out;
}

/** The layer of the config a TF.js weight belongs to: the innermost part of its path that names one. */
function tfjsLayerOf(config: NetworkConfig, s: TfjsSpec): string | undefined {
  for (let k = s.path.length - 1; k >= 0; k--) if (config.model.layers.some(l => l.name === s.path[k])) return s.path[k];
  return undefined;
}

/** The dims of each config layer's parameters in a TF.js manifest (Keras keeps kernels as [in, out] and HWIO, the core's layout). */
function tfjsLayers(config: NetworkConfig, specs: TfjsSpec[]): ModelLayers {
  const out: ModelLayers = new Map();
  for (const s of specs) {
    const layer = s.param ? tfjsLayerOf(config, s) : undefined;
    if (!layer) continue;
    const m = out.get(layer) ?? { shapes: {} };
    m.shapes[s.param!] = { dims: s.dims, origin: `weight "${s.name}" ${fmt(s.dims)}` };
    out.set(layer, m);
  }
  return out;
}

/** TF.js: weightsManifest groups of shard paths and weight specs, float32, concatenated in order. */
function fromTfjs(config: NetworkConfig, abs: string, rel: string, root: string | undefined, memoryLimitMB: number): ModelLayers {
  let json: unknown;
  try { json = JSON.parse(readUserFileText(abs, { kind: 'keras', root, label: rel })); } catch (e) {
    return fail(config, e instanceof UserFileError ? e.message : `${safeName(rel)} is not valid JSON`, 'model.weights');
  }
  const specs = tfjsSpecs(json, message => fail(config, `${safeName(rel)} ${message}`, 'model.weights'));
  const out = tfjsLayers(config, specs);
  // Only float32 is read: say so before reading any shard.
  const other = specs.find(s => s.dtype !== 'float32');
  if (other) fail(config, `${safeName(rel)}: weight "${other.name}" is ${other.dtype}; only float32 weights are read`, 'model.weights');
  // A group's shards hold its weights' values back to back, in the manifest's order: each weight's byte offset.
  const offsetOf = new Map<TfjsSpec, number>();
  const declared = new Map<number, number>();
  for (const s of specs) {
    const off = declared.get(s.group) ?? 0;
    offsetOf.set(s, off);
    declared.set(s.group, off + 4 * s.count);
  }
  // Only the weights of the config's layers are read, and only their bytes: a weight no layer uses costs nothing,
  // whatever shape the manifest gives it. What they take is capped by the memory limit the run has.
  const used = specs.filter(s => s.param && tfjsLayerOf(config, s));
  const seenNames = new Set<string>();
  const seenFiles = new Map<string, string>();
  const shardsOf = new Map<number, { p: string; file: string; start: number; size: number; id: string }[]>();
  // Every shard of a group with a used weight is stat'ed (the read's checks) before any byte is read.
  const shards = (s: TfjsSpec) => {
    let list = shardsOf.get(s.group);
    if (list) return list;
    list = [];
    let total = 0;
    const want = declared.get(s.group)!;
    for (const p of s.paths) {
      // Shards are read only from the model's own folder, each once (TF.js never lists a shard twice).
      if (typeof p !== 'string' || p !== path.basename(p) || p === '..') fail(config, `${safeName(rel)}: weight file "${safeName(String(p))}" is not a file beside the model`, 'model.weights');
      if (seenNames.has(p)) fail(config, `${safeName(rel)}: weight file "${safeName(p)}" is listed twice in the weightsManifest (TF.js never repeats a shard)`, 'model.weights');
      seenNames.add(p);
      const file = path.join(path.dirname(abs), p);
      let info: UserFileInfo;
      try { info = statUserFile(file, { kind: 'weights', root, label: p }); } catch (e) {
        return fail(config, e instanceof UserFileError ? e.message : `cannot read ${p}: ${(e as Error).message}`, 'model.weights');
      }
      // Two names for one file (a symbolic or hard link) are one shard listed twice.
      const id = `${info.dev}:${info.ino}`;
      const twin = seenFiles.get(id);
      if (twin !== undefined) fail(config, `${safeName(rel)}: weight files "${safeName(twin)}" and "${safeName(p)}" are the same file (a link): TF.js never repeats a shard`, 'model.weights');
      seenFiles.set(id, p);
      list.push({ p, file, start: total, size: info.size, id });
      total += info.size;
      if (total > want) fail(config, `${safeName(rel)}: the .bin files hold more than the ${want} bytes the shapes of their weights need (${total} bytes up to ${safeName(p)}): not this model's weights`, 'model.weights');
    }
    // Too short: refused before reading, at the first weight that does not fit.
    const short = specs.find(w => w.group === s.group && offsetOf.get(w)! + 4 * w.count > total);
    if (short) fail(config, `${safeName(rel)}: the .bin files hold ${total} bytes, too few for weight "${short.name}" of shape ${fmt(short.dims)} (${short.count} values from byte ${offsetOf.get(short)})`, 'model.weights');
    shardsOf.set(s.group, list);
    return list;
  };
  for (const s of used) shards(s);
  // Stat'ed and whole: what the layers' weights take is refused past the memory limit before any is read.
  const usedBytes = used.reduce((a, s) => a + 4 * s.count, 0);
  if (usedBytes > memoryLimitMB * 1024 * 1024) fail(config, `${safeName(rel)}: the weights of this config's layers take ${Math.ceil(usedBytes / (1024 * 1024))} MB, more than the memory limit (${memoryLimitMB} MB, activationLens.memoryLimitMB)`, 'model.weights');
  for (const s of used) {
    const bytes = readRange(config, shards(s), offsetOf.get(s)!, 4 * s.count, root, rel);
    const v = new Float32Array(s.count);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < s.count; i++) v[i] = dv.getFloat32(4 * i, true);
    const m = out.get(tfjsLayerOf(config, s)!)!;
    (m.weights ??= {})[s.param!] = v;
  }
  return out;
}

/** `length` bytes from byte `from` of a group's shards (concatenated); each shard re-opened must be the file stat'ed. */
function readRange(config: NetworkConfig, shards: { p: string; file: string; start: number; size: number; id: string }[], from: number, length: number, root: string | undefined, rel: string): Buffer {
  const out = Buffer.allocUnsafe(length);
  let got = 0;
  for (const sh of shards) {
    if (got === length) break;
    const end = sh.start + sh.size;
    if (end <= from + got) continue;
    let fd: number | undefined;
    try {
      const info = openUserFile(sh.file, { kind: 'weights', root, label: sh.p });
      fd = info.fd;
      if (`${info.dev}:${info.ino}` !== sh.id) fail(config, `${safeName(rel)}: weight file "${safeName(sh.p)}" was replaced while being read`, 'model.weights');
      const at = from + got - sh.start;
      const want = Math.min(length - got, sh.size - at);
      let n = 0;
      while (n < want) {
        const r = fs.readSync(fd, out, got + n, want - n, at + n);
        if (r === 0) fail(config, `${safeName(rel)}: weight file "${safeName(sh.p)}" shrank while being read`, 'model.weights');
        n += r;
      }
      got += want;
    } catch (e) {
      if (e instanceof InputError) throw e;
      fail(config, e instanceof UserFileError ? e.message : `cannot read ${sh.p}: ${(e as Error).message}`, 'model.weights');
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
  if (got < length) fail(config, `${safeName(rel)}: the .bin files hold too few bytes for the weights (shrank while being read)`, 'model.weights');
  return out;
}
