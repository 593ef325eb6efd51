/**
 * `init: from-model`: the model's own weights for each layer of a config (or for the layers that say
 * `init: from-model` themselves), in the core's layout, matched by layer name. From an ONNX file (its initializers, external data beside it) or a TF.js layers-model
 * model.json with the .bin shards its weightsManifest names beside it. Read at run time (not on every
 * keystroke), through the bounded reader; problems are an InputError at model.init / model.weights.
 */
import * as path from 'node:path';
import { InputError, type LayerSpec, type NetworkConfig, type Span } from '../model';
import { readUserFile, readUserFileText, UserFileError } from '../io/userFile';
import { isOnnxName, onnxWeights, type LayerWeights } from './onnx';
import { inferShapes } from './shapes';

const fail = (config: NetworkConfig, message: string, key = 'model.init'): never => {
  const span: Span | undefined = config.spans[key] ?? config.spans['model.weights'] ?? config.spans['model.onnx'] ?? config.spans['model.keras'];
  throw new InputError({ severity: 'error', message, ...(span ? { span } : {}) }, config.file);
};

/** The file `from-model` reads, relative to the config's folder. */
export function weightsSource(config: NetworkConfig): string | undefined {
  return config.model.weights ?? config.model.onnx ?? config.model.keras;
}

/** Where a problem with a layer's model weights is shown: its own `init: from-model`, else model.init. */
const layerFail = (config: NetworkConfig, layer: LayerSpec, message: string): never => {
  const span = layer.fromModel ? layer.spans?.init ?? layer.span : undefined;
  if (!span) return fail(config, message);
  throw new InputError({ severity: 'error', message, span, layer: layer.name }, config.file);
};

/** How many values each parameter of a layer holds (the core's layout), from the config's shape flow. */
function parameterSizes(config: NetworkConfig): Record<string, number>[] {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  return config.model.layers.map((l, i): Record<string, number> => {
    const inShape = i ? shapes[i - 1]?.outputShape ?? [] : config.model.input;
    switch (l.type) {
      case 'dense': return { kernel: (shapes[i]?.fanIn ?? 0) * l.units, ...(l.useBias ? { bias: l.units } : {}) };
      case 'conv2d': return { kernel: (shapes[i]?.fanIn ?? 0) * l.filters, ...(l.useBias ? { bias: l.filters } : {}) };
      case 'batchnorm': { const c = inShape[inShape.length - 1] ?? 1; return { gamma: c, beta: c, moving_mean: c, moving_variance: c }; }
      default: return {};
    }
  });
}

const WEIGHTED = new Set(['dense', 'conv2d', 'batchnorm']);

/**
 * Weights by layer index for a config with `init: from-model` on the model (every weighted layer) or on some
 * layers (only those; the others keep their drawn weights). Undefined when nothing comes from the model.
 */
export function loadModelWeights(config: NetworkConfig, baseDir: string, root?: string): (LayerWeights | undefined)[] | undefined {
  const whole = !!config.model.fromModel;
  const own = config.model.layers.filter(l => l.fromModel);
  if (!whole && !own.length) return undefined;
  const rel = weightsSource(config);
  if (!rel) return whole ? fail(config, 'init: from-model needs model.onnx, model.keras or model.weights') : layerFail(config, own[0], `layer "${own[0].name}" has init: from-model but the config names no model file: add model.weights`);
  const abs = path.resolve(baseDir, rel);
  const byName = isOnnxName(rel) ? fromOnnx(config, abs, rel, root) : fromTfjs(config, abs, rel, root);
  const wanted = (l: LayerSpec) => whole || !!l.fromModel;
  const out = config.model.layers.map(l => (wanted(l) ? byName.get(l.name) : undefined));
  const available = () => {
    const names = [...byName.keys()].filter(n => Object.keys(byName.get(n) ?? {}).length);
    return names.length ? `; it has weights for ${names.slice(0, 12).map(n => `"${n}"`).join(', ')}${names.length > 12 ? ', ...' : ''}` : '; it holds no layer weights';
  };
  if (whole) {
    const missing = config.model.layers.filter((l, i) => !out[i] && WEIGHTED.has(l.type));
    if (missing.length) fail(config, `${rel} has no weights for layer${missing.length > 1 ? 's' : ''} ${missing.map(l => `"${l.name}"`).join(', ')} (layers are matched by name${available()})`);
  }
  for (const l of own) {
    if (!WEIGHTED.has(l.type)) layerFail(config, l, `layer "${l.name}" (${l.type}) has no weights to take from the model`);
    if (!out[l.index]) layerFail(config, l, `${rel} has no weights for layer "${l.name}" (layers are matched by name${available()})`);
  }
  // A layer whose shape differs from the model's is an error at the layer, not a silent partial load.
  const sizes = parameterSizes(config);
  out.forEach((w, i) => {
    if (!w) return;
    const l = config.model.layers[i];
    for (const [param, n] of Object.entries(sizes[i])) {
      const v = w[param];
      if (v && v.length !== n) layerFail(config, l, `layer "${l.name}": the model's ${param} has ${v.length} values but this ${l.type} layer needs ${n}: its shape differs from the model's`);
    }
  });
  return out;
}

function read(config: NetworkConfig, abs: string, rel: string, root: string | undefined, kind: 'onnx' | 'weights'): Buffer {
  try { return readUserFile(abs, { kind, root, label: rel }); } catch (e) {
    return fail(config, e instanceof UserFileError ? e.message : `cannot read ${rel}: ${(e as Error).message}`, 'model.weights');
  }
}

function fromOnnx(config: NetworkConfig, abs: string, rel: string, root: string | undefined): Map<string, LayerWeights> {
  const bytes = read(config, abs, rel, root, 'onnx');
  const { weights, names, problems } = onnxWeights(bytes, abs);
  const err = problems.find(p => p.severity === 'error');
  if (err) fail(config, `${rel}: ${err.message}`, 'model.weights');
  return new Map(names.map((n, i) => [n, weights[i]]));
}

interface WeightSpec { name: string; shape: number[]; dtype?: string }

/** TF.js: weightsManifest groups of shard paths and weight specs, float32, concatenated in order. */
function fromTfjs(config: NetworkConfig, abs: string, rel: string, root: string | undefined): Map<string, LayerWeights> {
  let json: unknown;
  try { json = JSON.parse(readUserFileText(abs, { kind: 'keras', root, label: rel })); } catch (e) {
    return fail(config, e instanceof UserFileError ? e.message : `${rel} is not valid JSON`, 'model.weights');
  }
  const manifest = (json as { weightsManifest?: unknown }).weightsManifest;
  if (!Array.isArray(manifest)) return fail(config, `${rel} has no weightsManifest: from-model reads a TF.js model.json with its .bin files (or an ONNX file)`, 'model.weights');
  const out = new Map<string, LayerWeights>();
  for (const group of manifest as { paths?: unknown; weights?: unknown }[]) {
    const paths = Array.isArray(group?.paths) ? group.paths : [];
    const specs = Array.isArray(group?.weights) ? group.weights as WeightSpec[] : [];
    const parts: Buffer[] = [];
    for (const p of paths) {
      // Shards are read only from the model's own folder.
      if (typeof p !== 'string' || p !== path.basename(p) || p === '..') fail(config, `${rel}: weight file "${String(p)}" is not a file beside the model`, 'model.weights');
      parts.push(read(config, path.join(path.dirname(abs), p as string), p as string, root, 'weights'));
    }
    const data = Buffer.concat(parts);
    let off = 0;
    for (const s of specs) {
      const n = (Array.isArray(s.shape) ? s.shape : []).reduce((a: number, b: number) => a * b, 1);
      if ((s.dtype ?? 'float32') !== 'float32') fail(config, `${rel}: weight "${s.name}" is ${s.dtype}; only float32 weights are read`, 'model.weights');
      if (!Number.isSafeInteger(n) || n < 0 || off + 4 * n > data.length) fail(config, `${rel}: the .bin files hold ${data.length} bytes, too few for weight "${s.name}"`, 'model.weights');
      const v = new Float32Array(n);
      const dv = new DataView(data.buffer, data.byteOffset + off, 4 * n);
      for (let i = 0; i < n; i++) v[i] = dv.getFloat32(4 * i, true);
      off += 4 * n;
      // "sequential/dense_1/kernel" or "dense_1/kernel:0": the layer is the part before the parameter.
      const parts2 = String(s.name).replace(/:\d+$/, '').split('/');
      const param = parts2.pop()!;
      const key = { kernel: 'kernel', bias: 'bias', gamma: 'gamma', beta: 'beta', moving_mean: 'moving_mean', moving_variance: 'moving_variance', alpha: 'alpha' }[param];
      if (!key) continue;
      for (let k = parts2.length - 1; k >= 0; k--) {
        const layer = parts2[k];
        if (config.model.layers.some(l => l.name === layer)) {
          const w = out.get(layer) ?? {};
          w[key] = v;
          out.set(layer, w);
          break;
        }
      }
    }
  }
  return out;
}
