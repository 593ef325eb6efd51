/**
 * The whole network against TensorFlow.js (tfjs-core ops, tfjs-layers activations, cpu backend) as an
 * oracle: same weights, same batches. Compared: forward output, loss, every gradient, and the parameters
 * after three steps of each optimizer. Error of a tensor = max|ours - tf| / max|tf| (relative to the
 * tensor's scale, so that near-zero entries do not dominate); the bound is 1e-4.
 *
 * Optimizer formulas: tfjs puts adam's epsilon after bias correction (Keras before); with epsilon 1e-20 both
 * agree far below the bound. Epsilon placement itself is checked at 1e-3 in optimizer-rules.test.ts.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ActivationName, LayerSpec, NetworkConfig, OptimizerName } from '../../../src/model';
import { Network } from '../../../src/core/network';
import { Optimizer } from '../../../src/core/optimizers';
import { ACTIVATION_NAMES } from '../../../src/core/activations';
import type { Layer } from '../../../src/core/layers';
import { makeConfig, randomData, type LayerInput } from './helpers';

const BOUND = 1e-4;

function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0, s = 0;
  assert.equal(ours.length, ref.length);
  for (let i = 0; i < ref.length; i++) { d = Math.max(d, Math.abs(ours[i] - ref[i])); s = Math.max(s, Math.abs(ref[i])); }
  return d / Math.max(s, 1e-6);
}

function tfActivation(name: ActivationName, x: tf.Tensor, alpha?: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'linear': return x;
    case 'leaky_relu': return tf.leakyRelu(x, 0.01);
    case 'prelu': return tf.prelu(x, alpha!);
    case 'relu6': return tf.relu6(x);
    case 'hard_sigmoid': return tf.clipByValue(tf.div(tf.add(x, 3), 6), 0, 1); // Keras 3 form; tfjs-layers uses 0.2x+0.5
    case 'softmax': return tf.softmax(x);
    default: return (tfl.layers.activation({ activation: name as 'relu' }).apply(x) as tf.Tensor);
  }
}

/** Variables mirroring our parameters, layer by layer. */
function mirror(net: Network): { vars: tf.Variable[]; byLayer: Map<Layer, Record<string, tf.Variable>> } {
  const vars: tf.Variable[] = [];
  const byLayer = new Map<Layer, Record<string, tf.Variable>>();
  for (const l of net.layers) {
    const rec: Record<string, tf.Variable> = {};
    for (const p of l.params) {
      const v = tf.variable(tf.tensor(Float32Array.from(p.w.v), p.shape), p.trainable);
      rec[p.name] = v;
      if (p.trainable) vars.push(v);
    }
    byLayer.set(l, rec);
  }
  return { vars, byLayer };
}

function tfForward(config: NetworkConfig, net: Network, m: ReturnType<typeof mirror>, x: tf.Tensor): { logits: tf.Tensor; out: tf.Tensor } {
  let h = x, logits = x;
  net.layers.forEach((l, i) => {
    const spec = l.spec as LayerSpec, p = m.byLayer.get(l)!;
    switch (spec.type) {
      case 'dense': case 'conv2d': {
        let z = spec.type === 'dense' ? tf.matMul(h as tf.Tensor2D, p.kernel as tf.Tensor2D)
          : tf.conv2d(h as tf.Tensor4D, p.kernel as tf.Tensor4D, spec.stride, spec.padding);
        if (p.bias) z = tf.add(z, p.bias);
        logits = z;
        h = tfActivation(spec.activation.name, z, p.alpha);
        break;
      }
      case 'maxpool2d': h = tf.maxPool(h as tf.Tensor4D, spec.size, spec.stride, spec.padding); break;
      case 'avgpool2d': h = tf.avgPool(h as tf.Tensor4D, spec.size, spec.stride, spec.padding); break;
      case 'global_avgpool2d': h = tf.mean(h, [1, 2]); break;
      case 'flatten': h = tf.reshape(h, [h.shape[0], -1]); break;
      case 'dropout': break; // eval mode
      case 'batchnorm': {
        const axes = [...Array(h.rank - 1).keys()];
        const { mean, variance } = tf.moments(h, axes);
        h = tf.batchNorm(h, mean, variance, p.beta, p.gamma, spec.epsilon);
        break;
      }
      case 'activation': logits = h; h = tfActivation(spec.activation.name, h, p.alpha); break;
    }
    void i;
  });
  return { logits, out: h };
}

function tfLoss(config: NetworkConfig, logits: tf.Tensor, out: tf.Tensor, y: tf.Tensor, fused: boolean): tf.Scalar {
  switch (config.train.loss) {
    case 'cross_entropy': return fused ? tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar : tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(out)), -1))) as tf.Scalar;
    case 'binary_cross_entropy': return tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
    default: return tf.losses.meanSquaredError(y, out) as tf.Scalar;
  }
}

function tfOptimizer(name: OptimizerName, config: NetworkConfig): tf.Optimizer {
  const t = config.train;
  switch (name) {
    case 'sgd': return tf.train.sgd(t.lr);
    case 'momentum': return tf.train.momentum(t.lr, t.momentum);
    case 'adam': return tf.train.adam(t.lr, t.beta1, t.beta2, t.epsilon);
    case 'rmsprop': return tf.train.rmsprop(t.lr, t.rho, 0, t.epsilon);
  }
}

/** Runs the comparison; returns the worst error by what was compared. */
function compare(config: NetworkConfig, classes?: number, optimizers: OptimizerName[] = ['sgd', 'momentum', 'adam', 'rmsprop'], B = 8): Record<string, number> {
  const outLayer = config.model.layers[config.model.layers.length - 1] as { units?: number };
  const outW = outLayer.units ?? 1;
  const data = randomData(config.model.input, outW, 3 * B, 23, classes);
  const yWidth = classes && classes > 1 ? 1 : outW;
  const worst: Record<string, number> = {};
  const note = (k: string, e: number) => { worst[k] = Math.max(worst[k] ?? 0, e); };
  for (const optName of optimizers) {
    const cfg: NetworkConfig = { ...config, train: { ...config.train, optimizer: optName } };
    const net = new Network(cfg, { rows: B, kernels: 'wasm' });
    const opt = new Optimizer(cfg.train, net.params, net.heap);
    net.commit();
    const m = mirror(net);
    const tfOpt = tfOptimizer(optName, cfg);
    const trainable = net.params.filter(p => p.trainable);
    for (let s = 0; s < 3; s++) {
      net.loadRows(data.train.x, data.train.y, yWidth, null, s * B, B);
      const x = tf.tensor(net.input.v.slice(0, B * net.inputSize), [B, ...cfg.model.input]);
      const y = tf.tensor(net.target.v.slice(0, B * net.outWidth), [B, net.outWidth]);
      net.forward(B, 'probe');
      const loss = net.computeLoss(B, true);
      net.backward(B, true);
      const { value, grads } = tf.variableGrads(() => {
        const { logits, out } = tfForward(cfg, net, m, x);
        // a conv as the last layer: its [B, OH, OW, F] output against the target rows
        return tfLoss(cfg, tf.reshape(logits, [B, -1]), tf.reshape(out, [B, -1]), y, net.loss.fused);
      }, m.vars);
      if (s === 0) {
        const { out } = tfForward(cfg, net, m, x);
        note('forward', relErr(net.layers[net.layers.length - 1].out.v.subarray(0, B * net.outWidth), out.dataSync()));
      }
      note('loss', Math.abs(loss - value.dataSync()[0]) / Math.max(Math.abs(value.dataSync()[0]), 1e-6));
      m.vars.forEach((v, i) => note('grad', relErr(trainable[i].g.v, grads[v.name].dataSync())));
      tfOpt.applyGradients(grads);
      opt.step(1);
    }
    m.vars.forEach((v, i) => note(`params after 3 ${optName} steps`, relErr(trainable[i].w.v, v.dataSync())));
    m.vars.forEach(v => v.dispose());
  }
  return worst;
}

function assertWithin(worst: Record<string, number>, label: string): void {
  for (const [k, e] of Object.entries(worst)) assert.ok(e < BOUND, `${label}: ${k} relative error ${e.toExponential(2)} >= ${BOUND}`);
}

describe('whole network against TensorFlow.js (max relative error 1e-4)', function () {
  this.timeout(60000);
  before(async () => { await tf.setBackend('cpu'); await tf.ready(); });
  const hidden = ACTIVATION_NAMES.filter(a => a !== 'softmax');
  const eps = { epsilon: 1e-20, lr: 0.05 };
  for (const act of hidden) {
    it(`MLP 6-16-12-4 with ${act} hidden layers, softmax cross-entropy, all optimizers`, () => {
      const c = makeConfig([6], [
        { type: 'dense', units: 16, activation: act, init: 'glorot_uniform' },
        { type: 'dense', units: 12, activation: act, init: 'glorot_uniform' },
        { type: 'dense', units: 4, activation: 'softmax' }], { loss: 'cross_entropy', ...eps });
      assertWithin(compare(c, 4), act);
    });
  }
  it('MLP with sigmoid output and binary cross-entropy; MLP with linear output and mse', () => {
    assertWithin(compare(makeConfig([5], [{ type: 'dense', units: 9, activation: 'tanh' }, { type: 'dense', units: 1, activation: 'sigmoid' }], { loss: 'binary_cross_entropy', ...eps }), 1), 'bce');
    assertWithin(compare(makeConfig([5], [{ type: 'dense', units: 9, activation: 'elu' }, { type: 'dense', units: 2 }], { loss: 'mse', ...eps })), 'mse');
  });
  it('small conv net: conv same/valid with stride, maxpool, avgpool, global pool, dense', () => {
    const c = makeConfig([10, 9, 2], [
      { type: 'conv2d', filters: 6, kernel: [3, 3], padding: 'same', activation: 'relu', init: 'he_normal' },
      { type: 'maxpool2d', size: [2, 2] },
      { type: 'conv2d', filters: 8, kernel: [3, 2], stride: [1, 2], padding: 'valid', activation: 'tanh' },
      // 'valid': tfjs-backend-cpu's AvgPoolGrad divides by the full window at 'same' borders (its forward
      // does not), so avgpool 'same' is checked by finite differences in gradients.test.ts instead.
      { type: 'avgpool2d', size: [2, 2], stride: [1, 1], padding: 'valid' },
      { type: 'flatten' },
      { type: 'dense', units: 3, activation: 'softmax' }], { loss: 'cross_entropy', ...eps });
    assertWithin(compare(c, 3), 'conv');
    const g = makeConfig([6, 6, 3], [
      { type: 'conv2d', filters: 5, kernel: [3, 3], padding: 'same', activation: 'gelu' },
      { type: 'global_avgpool2d' }, { type: 'dense', units: 2, activation: 'softmax' }], { loss: 'cross_entropy', ...eps });
    assertWithin(compare(g, 2), 'global pool');
  });
  // A bias right before batchnorm has a true gradient of 0 (batchnorm removes the mean); both sides then
  // differ only in float noise, so those layers use no bias, as Keras practice does.
  it('batchnorm (batch statistics) in dense and conv nets, dropout in eval mode, activation layers, prelu', () => {
    const c = makeConfig([6], [
      { type: 'dense', units: 10, activation: 'linear', useBias: false },
      { type: 'batchnorm' }, { type: 'activation', activation: 'relu' }, { type: 'dropout', rate: 0.3 },
      { type: 'dense', units: 8, activation: 'prelu' },
      { type: 'dense', units: 3, activation: 'softmax' }], { loss: 'cross_entropy', ...eps });
    assertWithin(compare(c, 3), 'batchnorm dense');
    const k = makeConfig([6, 6, 2], [
      { type: 'conv2d', filters: 4, kernel: [3, 3], activation: 'linear', useBias: false }, { type: 'batchnorm' }, { type: 'activation', activation: 'swish' },
      { type: 'flatten' }, { type: 'dense', units: 2, activation: 'softmax' }], { loss: 'cross_entropy', ...eps });
    assertWithin(compare(k, 2), 'batchnorm conv');
  });
  // A conv on one input channel is computed directly (Conv2D.direct): hostile geometries against tfjs.
  it('a conv on one input channel (direct kernels): stride past the kernel, a kernel past the input, 1x1 output, 1x1 and non-square kernels, 121 and 380 taps, 1 to 33 filters, no bias, every kind of activation, batch 1', () => {
    const cases: [string, number[], Record<string, unknown>, number, string][] = [
      ['stride 3 > kernel 2, same', [10, 11, 1], { filters: 3, kernel: [2, 2], stride: [3, 3], padding: 'same', activation: 'relu' }, 8, 'cross_entropy'],
      ['stride 3x2 > kernel 2x1, valid', [10, 11, 1], { filters: 5, kernel: [2, 1], stride: [3, 2], padding: 'valid', activation: 'sigmoid' }, 8, 'cross_entropy'],
      ['kernel 7x9 past a 5x4 input, same', [5, 4, 1], { filters: 1, kernel: [7, 9], padding: 'same', activation: 'tanh' }, 8, 'cross_entropy'],
      ['valid to 1x1', [5, 5, 1], { filters: 33, kernel: [5, 5], padding: 'valid', activation: 'elu' }, 8, 'cross_entropy'],
      ['1x1 kernel, no bias', [9, 7, 1], { filters: 4, kernel: [1, 1], activation: 'linear', useBias: false }, 8, 'cross_entropy'],
      ['1x5 stride 2x1 same prelu', [9, 8, 1], { filters: 8, kernel: [1, 5], stride: [2, 1], padding: 'same', activation: 'prelu' }, 8, 'cross_entropy'],
      ['11x11 same, batch 1', [28, 27, 1], { filters: 3, kernel: [11, 11], padding: 'same', activation: 'relu' }, 1, 'cross_entropy'],
      ['19x20 same (380 taps)', [21, 20, 1], { filters: 5, kernel: [19, 20], padding: 'same', activation: 'tanh' }, 2, 'cross_entropy'],
      ['20x20 same (400 taps, im2col)', [21, 20, 1], { filters: 5, kernel: [20, 20], padding: 'same', activation: 'tanh' }, 2, 'cross_entropy'],
      ['softmax over filters, no bias', [7, 9, 1], { filters: 5, kernel: [3, 3], padding: 'same', activation: 'softmax', useBias: false }, 3, 'cross_entropy'],
    ];
    for (const [label, input, conv, B, loss] of cases) {
      const c = makeConfig(input, [{ type: 'conv2d', init: 'glorot_uniform', ...conv } as LayerInput, { type: 'flatten' }, { type: 'dense', units: 3, activation: 'softmax' }], { loss: loss as 'cross_entropy', ...eps });
      assertWithin(compare(c, 3, ['sgd'], B), label);
    }
  });
  it('a conv on one input channel after another layer (its input gradient), and as the last layer with sigmoid + binary cross-entropy', () => {
    const mid = makeConfig([8, 7, 2], [
      { type: 'conv2d', filters: 1, kernel: [3, 3], padding: 'same', activation: 'tanh' },
      { type: 'conv2d', filters: 5, kernel: [3, 2], stride: [2, 1], padding: 'same', activation: 'relu' },
      { type: 'conv2d', filters: 1, kernel: [2, 2], padding: 'valid', activation: 'sigmoid' },
      { type: 'conv2d', filters: 3, kernel: [2, 2], padding: 'same', activation: 'relu' },
      { type: 'flatten' }, { type: 'dense', units: 3, activation: 'softmax' }], { loss: 'cross_entropy', ...eps });
    assertWithin(compare(mid, 3, ['sgd']), 'one-channel convs after others');
    const last = makeConfig([6, 6, 2], [
      { type: 'conv2d', filters: 1, kernel: [3, 3], padding: 'same', activation: 'relu' },
      { type: 'conv2d', filters: 1, kernel: [6, 6], padding: 'valid', activation: 'sigmoid' }], { loss: 'binary_cross_entropy', ...eps });
    assertWithin(compare(last, 1, ['sgd']), 'one-channel conv last, sigmoid + bce');
  });
});
