/**
 * `init: from-model`: the model's own weights for each layer of a config, in the core's layout, matched by
 * layer name. From an ONNX file (its initializers, external data beside it) or a TF.js layers-model
 * model.json with the .bin shards its weightsManifest names beside it. Read at run time (not on every
 * keystroke), through the bounded reader; problems are an InputError at model.init / model.weights.
 */
import * as path from 'node:path';
import { InputError, type NetworkConfig, type Span } from '../model';
import { readUserFile, readUserFileText, UserFileError } from '../io/userFile';
import { isOnnxName, onnxWeights, type LayerWeights } from './onnx';

const fail = (config: NetworkConfig, message: string, key = 'model.init'): never => {
  const span: Span | undefined = config.spans[key] ?? config.spans['model.weights'] ?? config.spans['model.onnx'] ?? config.spans['model.keras'];
  throw new InputError({ severity: 'error', message, ...(span ? { span } : {}) }, config.file);
};

/** The file `from-model` reads, relative to the config's folder. */
export function weightsSource(config: NetworkConfig): string | undefined {
  return config.model.weights ?? config.model.onnx ?? config.model.keras;
}

/** Weights by layer index for a config with `init: from-model` (undefined otherwise). */
export function loadModelWeights(config: NetworkConfig, baseDir: string, root?: string): (LayerWeights | undefined)[] | undefined {
  if (!config.model.fromModel) return undefined;
  const rel = weightsSource(config);
  if (!rel) return fail(config, 'init: from-model needs model.onnx, model.keras or model.weights');
  const abs = path.resolve(baseDir, rel);
  const byName = isOnnxName(rel) ? fromOnnx(config, abs, rel, root) : fromTfjs(config, abs, rel, root);
  const out = config.model.layers.map(l => byName.get(l.name));
  const missing = config.model.layers.filter((l, i) => !out[i] && (l.type === 'dense' || l.type === 'conv2d' || l.type === 'batchnorm'));
  if (missing.length) fail(config, `${rel} has no weights for layer${missing.length > 1 ? 's' : ''} ${missing.map(l => `"${l.name}"`).join(', ')} (layers are matched by name)`);
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
