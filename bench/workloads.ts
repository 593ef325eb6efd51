/** Benchmark workloads W1-W3 (MLPs) and C1 (small conv net) as NetworkConfigs, plus their FLOP counts. */
import type { ActivationName, Dataset, LayerSpec, LossName, NetworkConfig } from '../src/model';
import { resolveInit } from '../src/core/initializers';
import { Rng } from '../src/core/rng';
import { layerShapes } from '../src/core/network';

export interface Workload {
  name: string;
  batches: number[];
  input: number[];
  layers: LayerSpec[];
  loss: LossName;
  classes: number;
  description: string;
}

let counter = 0;
const base = () => ({ name: `layer_${counter}`, index: counter++ });
const dense = (units: number, act: ActivationName): LayerSpec => ({
  type: 'dense', ...base(), units, activation: { name: act }, useBias: true,
  init: resolveInit(act === 'relu' ? 'he_normal' : 'glorot_uniform')!, biasInit: resolveInit('zeros')!,
});
const conv = (filters: number, act: ActivationName): LayerSpec => ({
  type: 'conv2d', ...base(), filters, kernel: [3, 3], stride: [1, 1], padding: 'valid', activation: { name: act }, useBias: true,
  init: resolveInit('he_normal')!, biasInit: resolveInit('zeros')!,
});
const pool = (): LayerSpec => ({ type: 'maxpool2d', ...base(), size: [2, 2], stride: [2, 2], padding: 'valid' });

function reindex(layers: LayerSpec[]): LayerSpec[] { return layers.map((l, index) => ({ ...l, index, name: `${l.type}_${index}` })); }

export const WORKLOADS: Workload[] = [
  { name: 'W1', batches: [64, 256], input: [784], loss: 'cross_entropy', classes: 10, description: '784-256-128-10 relu, softmax cross-entropy',
    layers: reindex([dense(256, 'relu'), dense(128, 'relu'), dense(10, 'softmax')]) },
  { name: 'W2', batches: [64, 256], input: [2], loss: 'binary_cross_entropy', classes: 1, description: '2-8-8-8-1 tanh, sigmoid output, BCE',
    layers: reindex([dense(8, 'tanh'), dense(8, 'tanh'), dense(8, 'tanh'), dense(1, 'sigmoid')]) },
  { name: 'W3', batches: [64, 256], input: [512], loss: 'cross_entropy', classes: 10, description: '512-(512 sigmoid x8)-10, softmax cross-entropy',
    layers: reindex([...Array.from({ length: 8 }, () => dense(512, 'sigmoid')), dense(10, 'softmax')]) },
  { name: 'C1', batches: [32], input: [28, 28, 1], loss: 'cross_entropy', classes: 10, description: '28x28x1, conv 32 3x3 relu, maxpool 2, conv 64 3x3 relu, maxpool 2, dense 128 relu, dense 10',
    layers: reindex([conv(32, 'relu'), pool(), conv(64, 'relu'), pool(), { type: 'flatten', ...base() }, dense(128, 'relu'), dense(10, 'softmax')]) },
];

/**
 * The flops a full training step does per sample: 2 per multiply-accumulate of the forward pass, 2 for the weight
 * gradient and 2 for the input gradient, except the first weighted layer's input gradient, which nothing needs and
 * the core never computes (counting it made W1 read 119% of the ceiling).
 */
export function flopsPerSample(w: Workload): number {
  let flops = 0, first = true;
  for (const { layer, in: inShape, out } of layerShapes(w.input, w.layers)) {
    const spec = layer.spec;
    const macs = spec.type === 'dense' ? inShape[0] * spec.units
      : spec.type === 'conv2d' ? out[0] * out[1] * spec.kernel[0] * spec.kernel[1] * inShape[2] * spec.filters : 0;
    if (!macs) continue;
    flops += (first ? 4 : 6) * macs;
    first = false;
  }
  return flops;
}

export function workloadConfig(w: Workload, batch: number, steps: number): NetworkConfig {
  return {
    seed: 1, data: { source: 'teacher', samples: 0, noise: 0, validation: 0 },
    model: { input: w.input, layers: w.layers },
    train: { loss: w.loss, optimizer: 'sgd', lr: 0.01, batch, steps, weightDecay: 0, momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, rho: 0.9 },
    probe: { every: Math.max(1, Math.floor(steps / 50)), samples: 256 }, diagnostics: {}, spans: {},
  };
}

/** Random inputs and labels (throughput does not depend on the values). */
export function workloadData(w: Workload, n: number, nVal: number): Dataset {
  const r = new Rng(42), size = w.input.reduce((a, b) => a * b, 1);
  const split = (m: number) => ({
    x: new Float32Array(m * size).map(() => r.normal()),
    y: new Float32Array(m).map(() => (w.classes > 1 ? r.int(w.classes) : r.int(2))),
    n: m,
  });
  return { inputShape: w.input, task: w.classes > 1 ? 'classification' : 'binary', targetDim: w.classes, train: split(n), val: split(nVal) };
}
