/**
 * loadDataset: the data of a parsed config in memory, split into train and validation, targets encoded for
 * the config's loss. The task follows the loss: cross_entropy -> class indices, binary_cross_entropy -> 0/1,
 * mse -> numbers (one-hot for class data). Bad input throws InputError with a span (csv: row and column).
 */
import * as path from 'node:path';
import { InputError, type Dataset, type InputProblem, type NetworkConfig } from '../model';
import { Rng } from '../core/rng';
import { layerShapes } from '../core/network';
import { ArrayFormatError, parseIdx, parseNpy, parseNpz, MAX_ARRAY_BYTES, type NdArray } from './arrays';
import { decodeImage, ImageError, resizeTo } from './images';
import * as fs from 'node:fs';
import { columnName, parseCsvData } from './csv';
import { noteFolderRead, readUserFile, readUserFileText, UserFileError } from '../io/userFile';
import { safeName } from '../format';
import { shapes } from './shapes';
import { splitSizes } from './sources';
import { checkerboard, circles, gaussians, moons, sine, spiral, teacher, xor, type Raw } from './synthetic';
import { irisRaw } from './iris';

export { SOURCES, SOURCE_NAMES, sourceInputShape, splitSizes } from './sources';

function fail(config: NetworkConfig, message: string, key = 'data.source', file?: string): never {
  const p: InputProblem = { severity: 'error', message, span: config.spans[key] ?? config.spans.data };
  throw new InputError(p, file ?? config.file);
}

/** Width of the network's output (last axis of the last layer). */
function outputWidth(config: NetworkConfig): number {
  try {
    const s = layerShapes(config.model.input, config.model.layers);
    const last = s[s.length - 1]?.out ?? [1];
    return last[last.length - 1];
  } catch {
    return 1; // the shapes are reported by the parser; the loader only needs a width
  }
}

export function loadDataset(config: NetworkConfig, baseDir: string, opts?: { workspaceRoot?: string }): Dataset {
  const d = config.data;
  const rng = Rng.derive(config.seed, `data:${d.source}`);
  const outDim = outputWidth(config);
  let raw: Raw;
  switch (d.source) {
    case 'spiral': raw = spiral(d, rng); break;
    case 'circles': raw = circles(d, rng); break;
    case 'xor': raw = xor(d, rng); break;
    case 'moons': raw = moons(d, rng); break;
    case 'gaussians': raw = gaussians(d, rng); break;
    case 'checkerboard': raw = checkerboard(d, rng); break;
    case 'sine': raw = sine(d, rng); break;
    case 'teacher': raw = teacher(d, rng, outDim); break;
    case 'shapes': raw = shapes(d, rng); break;
    case 'iris': raw = irisRaw(); break;
    case 'csv': raw = csvRaw(config, baseDir, opts?.workspaceRoot); break;
    case 'npy': case 'npz': case 'idx': raw = arrayRaw(config, baseDir, opts?.workspaceRoot); break;
    case 'images': raw = imageFolderRaw(config, baseDir, opts?.workspaceRoot); break;
    case 'tensorboard': return fail(config, 'data.source tensorboard reads logged statistics; it has no samples to train on');
  }
  const want = config.model.input.reduce((a, b) => a * b, 1);
  const got = raw.shape.reduce((a, b) => a * b, 1);
  if (want !== got) fail(config, `the ${d.source} data has samples of shape [${raw.shape.join(', ')}] but model.input is [${config.model.input.join(', ')}]`, config.spans['model.input'] ? 'model.input' : 'data.source');
  if (raw.n < 2) fail(config, `the ${d.source} data has ${raw.n} sample${raw.n === 1 ? '' : 's'}: at least 2 are needed (training and validation)`);
  return encode(config, raw, outDim);
}

/** More distinct targets than this is a numeric column, not classes. */
const MAX_CLASSES = 1000;

function csvRaw(config: NetworkConfig, baseDir: string, workspaceRoot?: string): Raw {
  const d = config.data;
  if (!d.path) fail(config, 'data.source csv needs "path"');
  const abs = path.resolve(baseDir, d.path);
  if (workspaceRoot) {
    const rel = path.relative(path.resolve(workspaceRoot), abs);
    if (rel.split(path.sep)[0] === '..' || path.isAbsolute(rel)) fail(config, `data.path "${safeName(d.path)}" is outside the workspace`, 'data.path');
  }
  let text: string;
  try {
    text = readUserFileText(abs, { kind: 'csv', root: workspaceRoot, label: d.path });
  } catch (e) {
    return fail(config, e instanceof UserFileError ? e.message : `cannot read ${safeName(d.path)}: ${safeName((e as Error).message)}`, 'data.path');
  }
  const mse = config.train.loss === 'mse';
  const csv = parseCsvData(text, abs, { target: d.target, targets: mse ? 'numbers' : 'classes', maxClasses: MAX_CLASSES });
  text = ''; // the parsed arrays are all that is needed from here on
  normalize(csv.x, csv.n, csv.features, d.normalize ?? 'standard');
  const raw: Raw = { x: csv.x, shape: [csv.features], n: csv.n };
  if (mse) return { ...raw, targets: csv.numbers!, targetDim: 1 };
  const targetName = csv.header[csv.target];
  if (csv.tooManyClasses) fail(config, `the target column ${columnName(targetName)} has more than ${MAX_CLASSES} distinct values: too many classes (use loss: mse for a numeric target)`, 'data.target', abs);
  // Classes: distinct target values, numerically sorted when they are numbers.
  const values = csv.classValues!;
  const numeric = values.every(s => s !== '' && Number.isFinite(Number(s)));
  const order = values.map((_, i) => i);
  order.sort(numeric ? (a, b) => Number(values[a]) - Number(values[b]) : (a, b) => values[a] < values[b] ? -1 : values[a] > values[b] ? 1 : 0);
  const rank = new Int32Array(values.length);
  order.forEach((id, r) => { rank[id] = r; });
  const labels = csv.classIds!;
  for (let i = 0; i < labels.length; i++) labels[i] = rank[labels[i]];
  return { ...raw, labels, classes: values.length, classNames: order.map(i => values[i]) };
}

function readData(config: NetworkConfig, baseDir: string, rel: string, key: string, root?: string): Buffer {
  const abs = path.resolve(baseDir, rel);
  try {
    return readUserFile(abs, { kind: 'weights', maxBytes: MAX_ARRAY_BYTES, root, label: rel });
  } catch (e) {
    return fail(config, e instanceof UserFileError ? e.message : `cannot read ${safeName(rel)}: ${safeName((e as Error).message)}`, key);
  }
}

/** npy / npz / idx: inputs [N, ...] and labels [N] (classes) or targets [N] / [N, k] (regression). */
function arrayRaw(config: NetworkConfig, baseDir: string, root?: string): Raw {
  const d = config.data;
  let x: NdArray; let y: NdArray;
  try {
    if (d.source === 'npz') {
      const arrays = parseNpz(readData(config, baseDir, d.path!, 'data.path', root), safeName(d.path!));
      const pick = (names: string[], what: string, key: string): NdArray => {
        const name = names.find(n => arrays.has(n));
        if (!name) return fail(config, `${safeName(d.path!)} has no ${what} array (looked for ${names.join(', ')}; it has ${[...arrays.keys()].map(safeName).join(', ') || 'none'})`, key);
        return arrays.get(name)!();
      };
      x = pick(['x', 'x_train', 'X', 'X_train', 'inputs', 'features', 'data', 'images', 'arr_0'], 'input', 'data.path');
      y = pick(d.target ? [d.target] : ['y', 'y_train', 'Y', 'Y_train', 'labels', 'targets', 'target', 'arr_1'], 'label', d.target ? 'data.target' : 'data.path');
    } else {
      const parse = d.source === 'npy' ? parseNpy : parseIdx;
      x = parse(readData(config, baseDir, d.path!, 'data.path', root), safeName(d.path!));
      y = parse(readData(config, baseDir, d.target!, 'data.target', root), safeName(d.target!));
    }
  } catch (e) {
    if (e instanceof ArrayFormatError) fail(config, e.message, 'data.path');
    throw e;
  }
  const n0 = x.shape[0] ?? 0;
  if (x.shape.length < 2) fail(config, `the inputs have shape [${x.shape.join(', ')}]: expected [samples, features...]`, 'data.path');
  if (y.shape[0] !== n0) fail(config, `the inputs have ${n0} samples but the labels have ${y.shape[0] ?? 0}`, d.source === 'npz' ? 'data.path' : 'data.target');
  const n = d.samples > 0 ? Math.min(d.samples, n0) : n0;
  const per = x.data.length / Math.max(1, n0);
  const xs = x.data.subarray(0, n * per);
  // Pixels stored as bytes are scaled to [0, 1] (what ToTensor does); other arrays are used as they are.
  if (d.normalize) normalize(xs, n, per, d.normalize);
  else if (x.dtype === 'u1') for (let i = 0; i < xs.length; i++) xs[i] /= 255;
  const raw: Raw = { x: xs, shape: x.shape.slice(1), n };
  const ys = y.data.subarray(0, n * (y.data.length / Math.max(1, n0)));
  const integral = y.shape.length === 1 && (y.integer || ys.every(v => Number.isInteger(v)));
  if (config.train.loss === 'mse' && !integral) return { ...raw, targets: Float32Array.from(ys), targetDim: y.shape.length === 1 ? 1 : y.data.length / n0 };
  if (!integral) fail(config, `the labels have shape [${y.shape.join(', ')}]${y.shape.length === 1 ? ' and fractional values' : ''}: class labels are one integer per sample (use loss: mse for numeric targets)`, d.source === 'npz' ? 'data.path' : 'data.target');
  let max = -1;
  for (const v of ys) { if (v < 0) fail(config, `the labels contain ${v}: class labels are 0, 1, 2, ...`, d.source === 'npz' ? 'data.path' : 'data.target'); if (v > max) max = v; }
  if (max + 1 > MAX_CLASSES) fail(config, `the labels go up to ${max}: more than ${MAX_CLASSES} classes`, d.source === 'npz' ? 'data.path' : 'data.target');
  return { ...raw, labels: Int32Array.from(ys), classes: Math.max(2, max + 1) };
}

/** At most this many images are read from a folder (more is a data set to subsample first). */
const MAX_IMAGES = 100_000;

/** ImageFolder: class sub-folders (sorted, as torchvision) of PNG / JPEG images, resized to model.input. */
function imageFolderRaw(config: NetworkConfig, baseDir: string, root?: string): Raw {
  const d = config.data;
  const dir = path.resolve(baseDir, d.path!);
  const input = config.model.input;
  const [h, w, c] = input.length === 3 ? input : input.length === 2 ? [input[0], input[1], 1] : [0, 0, 0];
  if (!h) fail(config, `data.source images needs an image input [height, width, channels], model.input is [${input.join(', ')}]`, 'data.source');
  let classes: string[];
  try {
    classes = fs.readdirSync(dir, { withFileTypes: true }).filter(e => e.isDirectory() && !e.name.startsWith('.')).map(e => e.name).sort();
  } catch (e) {
    return fail(config, `cannot read the folder ${safeName(d.path!)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : safeName((e as Error).message)}`, 'data.path');
  }
  // All of the folder is input (the CLI writes no report inside it), the images not read yet too.
  noteFolderRead(dir, d.path!);
  if (classes.length < 2) fail(config, `${safeName(d.path!)} has ${classes.length} class folder${classes.length === 1 ? '' : 's'}: the ImageFolder layout is one sub-folder of images per class (at least 2)`, 'data.path');
  const files: { file: string; label: number }[] = [];
  classes.forEach((cls, label) => {
    const names = fs.readdirSync(path.join(dir, cls)).filter(f => /\.(png|jpe?g)$/i.test(f)).sort();
    for (const f of names) if (files.length < MAX_IMAGES) files.push({ file: path.join(cls, f), label });
  });
  if (!files.length) fail(config, `${safeName(d.path!)} has no .png or .jpg images in its class folders`, 'data.path');
  // Interleave the classes so that a samples cap keeps every class.
  const byClass = classes.map((_, k) => files.filter(f => f.label === k));
  const order: typeof files = [];
  for (let i = 0; order.length < files.length; i++) for (const list of byClass) if (i < list.length) order.push(list[i]);
  const n = d.samples > 0 ? Math.min(d.samples, order.length) : order.length;
  const per = h * w * c;
  const x = new Float32Array(n * per);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const { file, label } = order[i];
    const rel = path.join(d.path!, file);
    const bytes = readData(config, baseDir, rel, 'data.path', root);
    try { resizeTo(decodeImage(bytes, safeName(rel)), h, w, c, x, i * per); } catch (e) {
      if (e instanceof ImageError) fail(config, e.message, 'data.path');
      throw e;
    }
    labels[i] = label;
  }
  return { x, shape: [h, w, c], n, labels, classes: classes.length, classNames: classes };
}

function normalize(x: Float32Array, n: number, f: number, how: 'standard' | 'minmax' | 'none'): void {
  if (how === 'none') return;
  for (let j = 0; j < f; j++) {
    let a = 0, b = 0;
    if (how === 'standard') {
      let s = 0; for (let i = 0; i < n; i++) s += x[i * f + j];
      const mean = s / n; let v = 0;
      for (let i = 0; i < n; i++) v += (x[i * f + j] - mean) ** 2;
      a = mean; b = Math.sqrt(v / n) || 1;
    } else {
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < n; i++) { lo = Math.min(lo, x[i * f + j]); hi = Math.max(hi, x[i * f + j]); }
      a = lo; b = hi - lo || 1;
    }
    for (let i = 0; i < n; i++) x[i * f + j] = (x[i * f + j] - a) / b;
  }
}

/** Shuffle (seeded), split, and encode the targets for the loss. */
function encode(config: NetworkConfig, raw: Raw, outDim: number): Dataset {
  const loss = config.train.loss;
  const src = config.data.source;
  const per = raw.shape.reduce((a, b) => a * b, 1);
  let task: Dataset['task']; let targetDim: number;
  let y: Float32Array;
  if (raw.labels) {
    const c = raw.classes!;
    if (loss === 'cross_entropy') {
      if (outDim !== c) fail(config, `the output layer has ${outDim} units but the ${src} data has ${c} classes`, 'model.layers');
      task = 'classification'; targetDim = c; y = Float32Array.from(raw.labels);
    } else if (loss === 'binary_cross_entropy') {
      if (c !== 2) fail(config, `binary_cross_entropy needs 2 classes, the ${src} data has ${c}`, config.spans['train.loss'] ? 'train.loss' : 'data.source');
      task = 'binary'; targetDim = 1; y = Float32Array.from(raw.labels);
    } else if (outDim === 1 && c === 2) {
      task = 'regression'; targetDim = 1; y = Float32Array.from(raw.labels);
    } else {
      if (outDim !== c) fail(config, `mse on the ${c} classes of ${src} needs ${c} outputs (one-hot targets), the output layer has ${outDim}`, 'model.layers');
      task = 'regression'; targetDim = c; y = new Float32Array(raw.n * c);
      raw.labels.forEach((l, i) => { y[i * c + l] = 1; });
    }
  } else {
    if (loss !== 'mse') fail(config, `${loss} needs class targets, but the ${src} data is regression`, config.spans['train.loss'] ? 'train.loss' : 'data.source');
    targetDim = raw.targetDim!;
    if (outDim !== targetDim) fail(config, `the ${src} data has ${targetDim} target${targetDim === 1 ? '' : 's'} per sample, the output layer has ${outDim} units`, 'model.layers');
    task = 'regression'; y = raw.targets!;
  }
  const order = new Uint32Array(raw.n);
  for (let i = 0; i < raw.n; i++) order[i] = i;
  Rng.derive(config.seed, 'split').shuffle(order);
  const { train: nTrain, val: nVal } = splitSizes(raw.n, config.data.validation);
  const yw = task === 'classification' ? 1 : targetDim; // class indices: one number per sample
  const pick = (from: number, count: number) => {
    const x = new Float32Array(count * per); const yy = new Float32Array(count * yw);
    // Plain loops: a subarray per sample costs more than the copy on millions of short rows.
    const rx = raw.x;
    for (let i = 0; i < count; i++) {
      const s = order[from + i];
      for (let k = 0, a = s * per, b = i * per; k < per; k++) x[b + k] = rx[a + k];
      for (let k = 0, a = s * yw, b = i * yw; k < yw; k++) yy[b + k] = y[a + k];
    }
    return { x, y: yy, n: count };
  };
  const ds: Dataset = { inputShape: [...config.model.input], task, targetDim, train: pick(0, nTrain), val: pick(nTrain, nVal) };
  if (raw.classNames) ds.classNames = raw.classNames;
  return ds;
}
