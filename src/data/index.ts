/**
 * loadDataset: the data of a parsed config in memory, split into train and validation, targets encoded for
 * the config's loss. The task follows the loss: cross_entropy -> class indices, binary_cross_entropy -> 0/1,
 * mse -> numbers (one-hot for class data). Bad input throws InputError with a span (csv: row and column).
 */
import * as path from 'node:path';
import { InputError, type Dataset, type InputProblem, type NetworkConfig } from '../model';
import { Rng } from '../core/rng';
import { inferShapes } from '../config/shapes';
import { columnName, parseCsvData } from './csv';
import { readUserFileText, UserFileError } from '../io/userFile';
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
  const { shapes: s } = inferShapes(config.model.input, config.model.layers);
  const last = s[s.length - 1]?.outputShape ?? [1];
  return last[last.length - 1];
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
    if (rel.split(path.sep)[0] === '..' || path.isAbsolute(rel)) fail(config, `data.path "${d.path}" is outside the workspace`, 'data.path');
  }
  let text: string;
  try {
    text = readUserFileText(abs, { kind: 'csv', root: workspaceRoot, label: d.path });
  } catch (e) {
    return fail(config, e instanceof UserFileError ? e.message : `cannot read ${d.path}: ${(e as Error).message}`, 'data.path');
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
