import { locationName } from './format';

/**
 * The canonical model description: the single type that the config parser and the Keras importer
 * produce and that the training core, the diagnosis rules, the CLI and the editor all read.
 * No `vscode` import here or anywhere under src/ except src/vscode/.
 */

/** A place in the user's file. line and character are 0-based (as VS Code), offset is a UTF-16 index. */
export interface Pos { line: number; character: number; offset: number }
export interface Span { start: Pos; end: Pos }

/** 1-based line/column for people and reports (file:line:col). */
export function displayPos(p: Pos): { line: number; column: number } {
  return { line: p.line + 1, column: p.character + 1 };
}

/** A problem with the user's input, at its exact place. Never thrown at the user as a stack trace. */
export interface InputProblem {
  severity: 'error' | 'warning';
  message: string;
  span?: Span;
  /** Layer name when the problem belongs to one layer. */
  layer?: string;
}

export type ActivationName =
  | 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'relu6' | 'leaky_relu' | 'prelu' | 'elu' | 'selu'
  | 'gelu' | 'swish' | 'mish' | 'softplus' | 'softsign' | 'hard_sigmoid' | 'softmax';

export interface ActivationSpec {
  name: ActivationName;
  /** leaky_relu slope, elu alpha, prelu initial alpha. */
  alpha?: number;
  /** swish beta. */
  beta?: number;
  /** gelu: 'tanh' for the tanh approximation; default exact (erf). */
  approximate?: 'tanh' | 'none';
}

export type FanMode = 'fan_in' | 'fan_out' | 'fan_avg';
export type InitDistribution = 'uniform' | 'normal' | 'truncated_normal' | 'untruncated_normal';

/**
 * An initializer. Named Keras initializers (glorot_uniform, he_normal, lecun_normal, ...) are normalized to
 * kind 'variance_scaling' with their scale/mode/distribution; `name` keeps what the user wrote for display.
 */
export interface InitSpec {
  name: string;
  kind: 'variance_scaling' | 'random_normal' | 'random_uniform' | 'truncated_normal' | 'orthogonal' | 'identity' | 'zeros' | 'ones' | 'constant';
  scale?: number; mode?: FanMode; distribution?: InitDistribution;
  mean?: number; stddev?: number; minval?: number; maxval?: number; gain?: number; value?: number;
}

interface LayerBase {
  /** Unique, e.g. "dense_1" or the user's `name:`. */
  name: string;
  /** Index in the config's layer list, 0-based, dropout/flatten included. */
  index: number;
  /** Span of the whole layer item, and of each key's value by key ("activation", "init", "units", ...). */
  span?: Span;
  spans?: Record<string, Span>;
  /** `init: from-model` on this layer: its weights come from the model file (model.weights), the others are drawn. */
  fromModel?: boolean;
}

export interface DenseLayer extends LayerBase {
  type: 'dense'; units: number; activation: ActivationSpec; init: InitSpec; biasInit: InitSpec; useBias: boolean;
}
export interface Conv2DLayer extends LayerBase {
  type: 'conv2d'; filters: number; kernel: [number, number]; stride: [number, number]; padding: 'same' | 'valid';
  activation: ActivationSpec; init: InitSpec; biasInit: InitSpec; useBias: boolean;
}
export interface PoolLayer extends LayerBase {
  type: 'maxpool2d' | 'avgpool2d'; size: [number, number]; stride: [number, number]; padding: 'same' | 'valid';
}
export interface GlobalAvgPoolLayer extends LayerBase { type: 'global_avgpool2d' }
export interface FlattenLayer extends LayerBase { type: 'flatten' }
export interface DropoutLayer extends LayerBase { type: 'dropout'; rate: number }
export interface BatchNormLayer extends LayerBase { type: 'batchnorm'; momentum: number; epsilon: number }
export interface ActivationLayer extends LayerBase { type: 'activation'; activation: ActivationSpec }

export type LayerSpec =
  | DenseLayer | Conv2DLayer | PoolLayer | GlobalAvgPoolLayer | FlattenLayer | DropoutLayer | BatchNormLayer | ActivationLayer;
export type LayerType = LayerSpec['type'];

export type DataSourceName =
  | 'spiral' | 'circles' | 'xor' | 'moons' | 'gaussians' | 'checkerboard' | 'sine' | 'teacher' | 'shapes' | 'csv' | 'iris' | 'tensorboard'
  | 'npy' | 'npz' | 'idx' | 'images';

export interface DataSpec {
  source: DataSourceName;
  samples: number;
  noise: number;
  /** Classes for classification sources; for teacher, 0 means regression. */
  classes?: number;
  /** gaussians/teacher input features. */
  features?: number;
  /** teacher: input shape of any rank. */
  shape?: number[];
  /** shapes: image side in pixels. */
  size?: number;
  validation: number;
  /** csv: path relative to the config file; target column; normalization. */
  path?: string;
  target?: string;
  /** csv: the file's size in bytes when the config was parsed (the loader holds its text in memory). */
  fileBytes?: number;
  normalize?: 'standard' | 'minmax' | 'none';
  /** tensorboard: log directory and tag overrides. */
  logdir?: string;
  tags?: Record<string, string>;
}

export type LossName = 'mse' | 'binary_cross_entropy' | 'cross_entropy';
export type OptimizerName = 'sgd' | 'momentum' | 'adam' | 'rmsprop';

export interface TrainSpec {
  loss: LossName;
  optimizer: OptimizerName;
  lr: number;
  batch: number;
  /** Exactly one of epochs/steps is set after parsing; steps is what the trainer runs. */
  epochs?: number;
  steps: number;
  clip?: number;
  weightDecay: number;
  /** momentum (momentum optimizer), beta1/beta2/epsilon (adam), rho/epsilon (rmsprop). */
  momentum: number; beta1: number; beta2: number; epsilon: number; rho: number;
  /** Which engine trains: the built-in core (default), PyTorch, or auto (docs/engines.md). Absent = the setting's. */
  engine?: EngineName;
  /** torch engine: cpu, cuda, or auto (cuda when torch sees one). */
  device?: 'cpu' | 'cuda' | 'auto';
  /**
   * Threads one run uses (default: all cores). Core engine: big GEMMs, im2col and activations are split
   * over helper threads with bit-identical results, small nets stay on one (src/core/parallel.ts). torch
   * engine: intra-op threads per process (shared by the processes).
   */
  threads?: number;
  /** torch engine: DistributedDataParallel processes on this machine (default 1). */
  processes?: number;
}

export type EngineName = 'core' | 'torch' | 'auto';

export interface ProbeSpec { every: number; samples: number }

/** Threshold overrides from the config's `diagnostics:` section and the settings (keys as in SPEC §4). */
export type Thresholds = Record<string, number>;

export interface NetworkConfig {
  /** Path of the file it came from, as given. */
  file?: string;
  name?: string;
  seed: number;
  data: DataSpec;
  model: {
    /** Input shape without the batch dimension: [features] or [h, w, c]. */
    input: number[];
    layers: LayerSpec[];
    /** Where the layers came from when imported (`model.keras:` or a Keras file given directly). */
    keras?: string;
    /** Where the layers came from when imported from an ONNX file (`model.onnx:` or the file given directly). */
    onnx?: string;
    /** `model.weights`: the model file whose weights `init: from-model` starts from (default: keras/onnx). */
    weights?: string;
    /** `model.init: from-model`: training starts from the model's own weights instead of drawn ones. */
    fromModel?: boolean;
  };
  train: TrainSpec;
  probe: ProbeSpec;
  diagnostics: Thresholds;
  /** Spans of top-level and nested keys' values by dotted path ("train.lr", "data.source", "model.layers"). */
  spans: Record<string, Span>;
}

/** A data set in memory, row-major float32. */
export interface Dataset {
  /** Input shape per sample (without batch). */
  inputShape: number[];
  task: 'classification' | 'binary' | 'regression';
  /** Number of classes (classification), 1 (binary), or target width (regression). */
  targetDim: number;
  train: { x: Float32Array; y: Float32Array; n: number };
  val: { x: Float32Array; y: Float32Array; n: number };
  /** For classification y holds class indices (one number per sample); otherwise targetDim numbers per sample. */
  classNames?: string[];
}

/** Thrown by parsers, importers and data loaders for bad input; callers turn it into a file:line:col message. */
export class InputError extends Error {
  constructor(readonly problem: InputProblem, readonly file?: string) {
    super(problem.message);
    this.name = 'InputError';
  }
}

/** `file:line:col: message`, the one-line form the CLI prints on stderr. */
export function formatProblem(file: string, p: InputProblem): string {
  // A binary model file has no lines: its problems name the node instead (`model.onnx: node X (Conv): ...`).
  if (!p.span && /\.(onnx|keras)$/i.test(file)) return `${locationName(file)}: ${p.message}`;
  const at = p.span ? displayPos(p.span.start) : { line: 1, column: 1 };
  return `${locationName(file)}:${at.line}:${at.column}: ${p.message}`;
}
