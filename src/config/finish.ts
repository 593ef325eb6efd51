/**
 * The defaults and cross-section checks shared by the config parser and the Keras importer: data defaults,
 * the input shape inferred from the data, shape flow, output layer vs data vs loss, the loss inferred when
 * omitted, steps from epochs, the probe interval and batch.
 */
import * as path from 'node:path';
import type { ActivationName, DataSpec, LayerSpec, LossName, NetworkConfig, OptimizerName, ProbeSpec, Span, Thresholds, TrainSpec } from '../model';
import { SOURCES, sourceClasses, sourceInputShape, splitSizes } from '../data/sources';
import { columnList, columnName, csvOutline, CsvShapeError, type CsvOutline } from '../data/csv';
import { inferShapes } from './shapes';
import { UserFileError, type UserFileKind } from '../io/userFile';
import { safeName } from '../format';
import type { Reporter } from './read';

/** A config before defaults: what the file said. */
export interface Draft {
  file: string;
  name?: string;
  seed?: number;
  /** undefined when the file has no data section. */
  data?: Partial<DataSpec> & { source: DataSpec['source'] };
  input?: number[];
  layers: LayerSpec[];
  keras?: string;
  onnx?: string;
  /** model.weights: the file `init: from-model` reads (else the imported model). */
  weights?: string;
  fromModel?: boolean;
  train: Partial<TrainSpec>;
  probe: Partial<ProbeSpec>;
  diagnostics: Thresholds;
  spans: Record<string, Span>;
}

export interface FinishOptions {
  readFile: (absPath: string, kind: UserFileKind) => string;
  workspaceRoot?: string;
  /** Header and data-row count of a csv; default: csvOutline(readFile(path)). The editor parses on every keystroke, so index.ts caches this. */
  csvOutline?: (absPath: string) => CsvOutline;
}

export const DEFAULT_LR: Record<OptimizerName, number> = { sgd: 0.01, momentum: 0.01, adam: 0.001, rmsprop: 0.001 };
export const DEFAULT_EPOCHS = 20;
export const MIN_PROBES = 50;
export const DEFAULT_PROBE_SAMPLES = 256;

/** The activation the network ends with (the last layer that has one; pooling/batchnorm leave it linear). */
export function outputActivation(layers: LayerSpec[]): ActivationName {
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    if (l.type === 'dropout' || l.type === 'flatten') continue;
    if (l.type === 'dense' || l.type === 'conv2d' || l.type === 'activation') return l.activation.name;
    return 'linear';
  }
  return 'linear';
}

/** The last layer that sets the output width (dense or conv2d). */
function outputLayer(layers: LayerSpec[]): LayerSpec | undefined {
  for (let i = layers.length - 1; i >= 0; i--) if (layers[i].type === 'dense' || layers[i].type === 'conv2d') return layers[i];
  return undefined;
}

export function finishConfig(d: Draft, rep: Reporter, opts: FinishOptions): NetworkConfig | undefined {
  const at = (p: string): Span | undefined => d.spans[p] ?? d.spans[p.split('.')[0]] ?? d.spans['model.layers'] ?? d.spans['model.keras'] ?? d.spans['model.onnx'];
  const data = fillData(d, rep, at);
  // Input: the file's, else the data's.
  let input = d.input;
  const dataShape = data ? sourceInputShape(data, data.source === 'csv' ? csvFeatureCount(d, data, opts, rep) : undefined) : undefined;
  if (!input) {
    if (dataShape) input = dataShape;
    else {
      rep.error(at('model'), data
        ? `model.input is needed: it cannot be inferred from data source ${data.source}`
        : 'the config has no data section: add data: {source: ...}, or model.input to train on a random teacher network of that input shape', '/model');
      return undefined;
    }
  } else if (dataShape && dataShape.join('x') !== input.join('x') && data?.source !== 'tensorboard') {
    rep.error(d.spans['model.input'] ?? at('model'), `model.input [${input.join(', ')}] does not match the ${data!.source} data, whose samples have shape [${dataShape.join(', ')}]`, '/model/input');
  }
  if (!d.layers.length) return undefined;
  const { shapes, problems } = inferShapes(input, d.layers);
  for (const p of problems) rep.error(p.span, p.message, undefined, p.layer);

  const outAct = outputActivation(d.layers);
  const classes = data ? sourceClasses(data) : undefined;
  const out = outputLayer(d.layers);
  const outUnits = shapes.length ? shapes[shapes.length - 1].outputShape[shapes[shapes.length - 1].outputShape.length - 1] : undefined;

  // Loss: the file's, else from the output activation and the targets.
  let loss = d.train.loss;
  if (!loss) {
    const binaryTargets = classes === 2 || (classes === undefined && outUnits === 1);
    loss = outAct === 'softmax' ? 'cross_entropy' : outAct === 'sigmoid' && binaryTargets && outUnits === 1 ? 'binary_cross_entropy' : 'mse';
  }
  // A layer dropped for a bad value would make its predecessor look like the output layer: no second, misleading error.
  const droppedLayer = rep.problems.some(p => p.severity === 'error' && p.layer !== undefined && !d.layers.some(l => l.name === p.layer));
  if (data && out && outUnits !== undefined && !droppedLayer) checkOutput(rep, data, classes, loss, outUnits, out);

  const train = fillTrain(d, data, loss, rep, at);
  const probe = fillProbe(d, data, train);
  const config: NetworkConfig = {
    file: d.file,
    seed: d.seed ?? 0,
    data: data ?? { source: 'tensorboard', samples: 0, noise: 0, validation: 0.2 },
    model: { input, layers: d.layers, ...(d.keras ? { keras: d.keras } : {}), ...(d.onnx ? { onnx: d.onnx } : {}), ...(d.weights ? { weights: d.weights } : {}), ...(d.fromModel ? { fromModel: true } : {}) },
    train, probe,
    diagnostics: d.diagnostics,
    spans: d.spans,
  };
  if (d.name !== undefined) config.name = d.name;
  return config;
}

function fillData(d: Draft, rep: Reporter, at: (p: string) => Span | undefined): DataSpec | undefined {
  const given = d.data;
  if (!given) {
    // A Keras import without data trains on a teacher of the model's input shape (SPEC §2.1).
    if (!d.input) return undefined;
    const classes = teacherClasses(d.layers);
    // Wide inputs (images, 30k features) get fewer samples so the data stays around 16 MB.
    const features = d.input.reduce((a, b) => a * b, 1);
    const samples = Math.max(100, Math.min(SOURCES.teacher.defaults.samples, Math.floor(4e6 / features)));
    return { source: 'teacher', samples, noise: 0, validation: 0.2, shape: d.input, classes };
  }
  const info = SOURCES[given.source];
  const data: DataSpec = {
    ...given,
    source: given.source,
    samples: given.samples ?? info.defaults.samples,
    noise: given.noise ?? info.defaults.noise,
    validation: given.validation ?? 0.2,
  };
  if (info.defaults.classes !== undefined && data.classes === undefined && given.source !== 'teacher') data.classes = info.defaults.classes;
  if (given.source === 'gaussians') data.features ??= info.defaults.features;
  if (given.source === 'shapes') data.size ??= info.defaults.size;
  if (given.source === 'teacher') {
    data.classes ??= teacherClasses(d.layers);
    if (!data.shape && data.features === undefined && d.input) data.shape = [...d.input];
    if (data.classes === 1) rep.error(d.spans['data.classes'], '"classes" must be 0 (regression) or at least 2', '/data/classes');
  }
  if (given.source === 'iris') data.samples = 150;
  if (given.source === 'csv') {
    if (!data.path) rep.error(at('data'), 'data.source csv needs "path" (relative to this file)', '/data/path');
    data.normalize ??= 'standard';
  }
  if (given.source === 'npy' || given.source === 'npz' || given.source === 'idx' || given.source === 'images') {
    if (!data.path) rep.error(at('data'), `data.source ${given.source} needs "path" (relative to this file)`, '/data/path');
    if ((given.source === 'npy' || given.source === 'idx') && !data.target) rep.error(at('data'), `data.source ${given.source} needs "target": the file with the labels`, '/data/target');
  }
  if (given.source === 'tensorboard' && !data.logdir) rep.error(at('data'), 'data.source tensorboard needs "logdir"', '/data/logdir');
  if (given.source === 'spiral' || given.source === 'gaussians') {
    if ((data.classes ?? 0) < 2) rep.error(d.spans['data.classes'], `"classes" must be at least 2 for ${given.source}`, '/data/classes');
  }
  return data;
}

/** Teacher targets that fit the model's output: softmax -> its width in classes, sigmoid on 1 unit -> binary. */
function teacherClasses(layers: LayerSpec[]): number {
  const act = outputActivation(layers);
  const out = outputLayer(layers);
  const units = out?.type === 'dense' ? out.units : out?.type === 'conv2d' ? out.filters : 1;
  if (act === 'softmax') return Math.max(2, units);
  if (act === 'sigmoid' && units === 1) return 2;
  return 0;
}

/** Feature count of a csv data source (header minus target), read through opts.readFile; reports unreadable files. */
function csvFeatureCount(d: Draft, data: DataSpec, opts: FinishOptions, rep: Reporter): number | undefined {
  const outline = readCsvOutline(d, data, opts, rep);
  return outline ? Math.max(0, outline.columns.length - 1) : undefined;
}

/** Header and row count of the csv (the parser's view; the loader reads it fully), problems at data.path. */
function readCsvOutline(d: Draft, data: DataSpec, opts: FinishOptions, rep: Reporter): CsvOutline | undefined {
  let result: CsvOutline | null = null;
  const span = d.spans['data.path'];
  if (data.path) {
    const abs = path.resolve(path.dirname(path.resolve(d.file)), data.path);
    const root = opts.workspaceRoot ? path.resolve(opts.workspaceRoot) : undefined;
    if (root && path.relative(root, abs).split(path.sep)[0] === '..') {
      rep.error(span, `data.path "${safeName(data.path)}" is outside the workspace`, '/data/path');
      return undefined;
    }
    try {
      result = opts.csvOutline ? opts.csvOutline(abs) : csvOutline(opts.readFile(abs, 'csv'));
      if (result.columns.length < 2) {
        rep.error(span, `${safeName(data.path)} needs a header with at least one feature column and the target column`, '/data/path');
        result = null;
      }
    } catch (e) {
      // A missing csv may be generated later (a warning); one that can never be read as data is an error.
      const why = e instanceof UserFileError ? e.reason : (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : safeName(String((e as Error).message).split('\n')[0]);
      const fatal = e instanceof CsvShapeError || (e instanceof UserFileError && (e.code === 'NOT_REGULAR' || e.code === 'OUTSIDE_ROOT' || e.code === 'TOO_LARGE'));
      if (fatal) rep.error(span, `cannot read ${safeName(data.path)}: ${why}`, '/data/path');
      else rep.warn(span, `cannot read ${safeName(data.path)}: ${why}`);
      result = null;
    }
  }
  if (result) {
    data.samples = result.rows;
    data.fileBytes = result.bytes;
    if (data.target !== undefined && !result.columns.includes(data.target) && !(/^\d+$/.test(data.target) && Number(data.target) < result.columns.length)) {
      // A wrong target name is worth knowing while typing, not only at run time.
      rep.error(d.spans['data.target'], `target column ${columnName(data.target)} is not in the CSV header (${columnList(result.columns)})`, '/data/target');
    }
  }
  return result ?? undefined;
}

function checkOutput(rep: Reporter, data: DataSpec, classes: number | undefined, loss: LossName, outUnits: number, out: LayerSpec): void {
  const span = out.spans?.units ?? out.spans?.filters ?? out.span;
  const layer = out.name;
  if (classes === undefined) return; // csv: the loader knows the targets
  const src = data.source;
  if (classes >= 2) {
    if (loss === 'cross_entropy' && outUnits !== classes) {
      rep.error(span, `the output layer "${layer}" has ${outUnits} unit${outUnits === 1 ? '' : 's'} but the ${src} data has ${classes} classes`, undefined, layer);
    } else if (loss === 'binary_cross_entropy' && (outUnits !== 1 || classes !== 2)) {
      rep.error(span, classes !== 2
        ? `binary_cross_entropy needs 2 classes, but the ${src} data has ${classes}; use cross_entropy with a softmax output of ${classes} units`
        : `binary_cross_entropy needs 1 output unit, the output layer "${layer}" has ${outUnits}`, undefined, layer);
    } else if (loss === 'mse' && outUnits !== classes && !(outUnits === 1 && classes === 2)) {
      rep.error(span, `the output layer "${layer}" has ${outUnits} units; mse on the ${classes} classes of ${src} needs ${classes} (one-hot targets)${classes === 2 ? ' or 1' : ''}`, undefined, layer);
    }
  } else if (src === 'sine' && outUnits !== 1) {
    rep.error(span, `sine data has one target per sample; the output layer "${layer}" has ${outUnits} units`, undefined, layer);
  } else if (loss !== 'mse' && classes === 0) {
    rep.error(span, `${loss} needs class targets, but the ${src} data is regression${src === 'teacher' ? ' (set data.classes)' : ''}`, undefined, layer);
  }
}

function fillTrain(d: Draft, data: DataSpec | undefined, loss: LossName, rep: Reporter, at: (p: string) => Span | undefined): TrainSpec {
  const t = d.train;
  const optimizer = t.optimizer ?? 'adam';
  const batch = t.batch ?? 32;
  const samples = data?.samples ?? 0;
  const split = samples > 1 ? splitSizes(samples, data!.validation) : { train: 0, val: 0 };
  if (t.epochs !== undefined && t.steps !== undefined) {
    rep.error(d.spans['train.steps'], 'give either train.epochs or train.steps, not both', '/train/steps');
  }
  let epochs = t.steps === undefined ? t.epochs ?? DEFAULT_EPOCHS : undefined;
  let steps = t.steps ?? 0;
  if (t.steps === undefined) {
    steps = split.train > 0 ? epochs! * Math.ceil(split.train / batch) : 1000;
    if (split.train === 0) epochs = undefined;
  }
  if (split.train > 0 && batch > split.train) {
    rep.warn(d.spans['train.batch'] ?? at('train'), `batch ${batch} is larger than the ${split.train} training samples: every step sees the whole set`);
  }
  const train: TrainSpec = {
    loss, optimizer, lr: t.lr ?? DEFAULT_LR[optimizer], batch, steps,
    weightDecay: t.weightDecay ?? 0,
    momentum: t.momentum ?? 0.9, beta1: t.beta1 ?? 0.9, beta2: t.beta2 ?? 0.999, epsilon: t.epsilon ?? 1e-7, rho: t.rho ?? 0.9,
  };
  if (epochs !== undefined) train.epochs = epochs;
  if (t.clip !== undefined) train.clip = t.clip;
  for (const k of ['engine', 'device', 'threads', 'processes'] as const) if (t[k] !== undefined) (train as unknown as Record<string, unknown>)[k] = t[k];
  return train;
}

function fillProbe(d: Draft, data: DataSpec | undefined, train: TrainSpec): ProbeSpec {
  const samples = data?.samples ?? 0;
  const val = samples > 1 ? splitSizes(samples, data!.validation).val : DEFAULT_PROBE_SAMPLES;
  return {
    every: d.probe.every ?? Math.max(1, Math.floor(train.steps / MIN_PROBES)),
    samples: Math.min(d.probe.samples ?? DEFAULT_PROBE_SAMPLES, val),
  };
}
