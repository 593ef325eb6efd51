/**
 * The two layers whose train and inference paths differ:
 * - batchnorm: after SGD steps in training mode, the moving mean/variance and the inference output (moving
 *   statistics) equal a tfjs-layers model trained on the same batches from the same weights (model.predict);
 * - dropout: the backward pass with a fixed mask against central differences, and the kept units' factor
 *   1/(1-rate).
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { Network } from '../../../src/core/network';
import { Optimizer } from '../../../src/core/optimizers';
import { BatchNorm, type Dropout } from '../../../src/core/layers';
import { Rng } from '../../../src/core/rng';
import type { NetworkConfig } from '../../../src/model';
import { makeConfig, randomData, type LayerInput } from './helpers';

function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0, s = 0;
  assert.equal(ours.length, ref.length);
  for (let i = 0; i < ref.length; i++) { d = Math.max(d, Math.abs(ours[i] - ref[i])); s = Math.max(s, Math.abs(ref[i])); }
  return d / Math.max(s, 1e-6);
}

/** Trains ours and a tfjs-layers model (built by `tfModel` from our initial weights) for `steps` SGD steps. */
async function trainBoth(c: NetworkConfig, tfModel: (net: Network) => tfl.LayersModel, steps: number, kernels: 'js' | 'wasm') {
  const B = 16, out = 2;
  const data = randomData(c.model.input, out, steps * B, 5);
  // Shift and scale the inputs so the batch statistics are far from the initial moving ones (0, 1).
  data.train.x = data.train.x.map(v => 3 * v + 1.5); data.val.x = data.val.x.map(v => 3 * v + 1.5);
  const net = new Network(c, { rows: Math.max(B, data.val.n), kernels });
  const opt = new Optimizer(c.train, net.params, net.heap);
  net.commit();
  const model = tfModel(net);
  model.compile({ optimizer: tf.train.sgd(c.train.lr), loss: 'meanSquaredError' });
  for (let s = 0; s < steps; s++) {
    net.loadRows(data.train.x, data.train.y, out, null, s * B, B);
    net.forward(B, 'train'); net.computeLoss(B, true); net.backward(B, true); opt.step(1);
    const x = tf.tensor(data.train.x.slice(s * B * net.inputSize, (s + 1) * B * net.inputSize), [B, ...c.model.input]);
    const y = tf.tensor(data.train.y.slice(s * B * out, (s + 1) * B * out), [B, out]);
    await model.trainOnBatch(x, y);
    x.dispose(); y.dispose();
  }
  const V = data.val.n;
  net.loadRows(data.val.x, data.val.y, out, null, 0, V);
  net.forward(V, 'eval');
  const ours = net.layers[net.layers.length - 1].out.v.slice(0, V * out);
  const predicted = (model.predict(tf.tensor(data.val.x, [V, ...c.model.input])) as tf.Tensor).dataSync();
  const bn = net.layers.find(l => l instanceof BatchNorm) as BatchNorm;
  const tfBn = model.layers.find(l => l.getClassName() === 'BatchNormalization')!;
  const [, , tfMean, tfVar] = tfBn.getWeights().map(w => w.dataSync());
  return { ours, predicted, bn, tfMean, tfVar };
}

/** Our parameters, in the order tfjs-layers lists a layer's weights. */
const weightsOf = (net: Network, i: number) => net.layers[i].params.map(p => tf.tensor(Float32Array.from(p.w.v), p.shape));

describe('batchnorm moving statistics and inference against tfjs-layers (model.predict)', function () {
  this.timeout(60000);
  before(async () => { await tf.setBackend('cpu'); await tf.ready(); });
  for (const kernels of ['js', 'wasm'] as const) {
    it(`${kernels}: dense -> batchnorm(momentum 0.8) -> relu -> dense, 6 SGD steps`, async () => {
      const layers: LayerInput[] = [
        { type: 'dense', units: 5, useBias: false }, { type: 'batchnorm', momentum: 0.8, epsilon: 1e-3 },
        { type: 'activation', activation: 'relu' }, { type: 'dense', units: 2 }];
      const c = makeConfig([4], layers, { lr: 0.05, loss: 'mse' });
      const r = await trainBoth(c, net => {
        const m = tfl.sequential({ layers: [
          tfl.layers.dense({ units: 5, useBias: false, inputShape: [4] }),
          tfl.layers.batchNormalization({ momentum: 0.8, epsilon: 1e-3 }),
          tfl.layers.activation({ activation: 'relu' }), tfl.layers.dense({ units: 2 })] });
        m.layers.forEach((l, i) => { if (l.getWeights().length) l.setWeights(weightsOf(net, i)); });
        return m;
      }, 6, kernels);
      const moved = Array.from(r.tfMean).some(v => Math.abs(v) > 0.1);
      assert.ok(moved, `the moving mean moved away from 0: ${Array.from(r.tfMean)}`);
      assert.ok(relErr(r.bn.movingMean.w.v, r.tfMean) < 1e-4, `moving mean ${Array.from(r.bn.movingMean.w.v)} vs tf ${Array.from(r.tfMean)}`);
      assert.ok(relErr(r.bn.movingVar.w.v, r.tfVar) < 1e-4, `moving variance ${Array.from(r.bn.movingVar.w.v)} vs tf ${Array.from(r.tfVar)}`);
      assert.ok(relErr(r.ours, r.predicted) < 1e-4, `inference output vs model.predict: ${relErr(r.ours, r.predicted)}`);
    });
  }
  it('conv2d -> batchnorm (statistics per channel over batch, height and width) -> flatten -> dense, 4 steps', async () => {
    const layers: LayerInput[] = [
      { type: 'conv2d', filters: 3, kernel: [3, 3], activation: 'linear', useBias: false }, { type: 'batchnorm', momentum: 0.6 },
      { type: 'flatten' }, { type: 'dense', units: 2 }];
    const c = makeConfig([5, 5, 2], layers, { lr: 0.02, loss: 'mse' });
    const r = await trainBoth(c, net => {
      const m = tfl.sequential({ layers: [
        tfl.layers.conv2d({ filters: 3, kernelSize: 3, useBias: false, inputShape: [5, 5, 2] }),
        tfl.layers.batchNormalization({ momentum: 0.6, epsilon: 1e-3 }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] });
      m.layers.forEach((l, i) => { if (l.getWeights().length) l.setWeights(weightsOf(net, i)); });
      return m;
    }, 4, 'wasm');
    assert.ok(relErr(r.bn.movingMean.w.v, r.tfMean) < 1e-4, 'moving mean');
    assert.ok(relErr(r.bn.movingVar.w.v, r.tfVar) < 1e-4, 'moving variance');
    assert.ok(relErr(r.ours, r.predicted) < 1e-4, `inference output vs model.predict: ${relErr(r.ours, r.predicted)}`);
  });
});

describe('dropout backward with a fixed mask', () => {
  const rate = 0.3, N = 4 * 30;
  function setup() {
    const c = makeConfig([30], [{ type: 'dense', units: 30 }, { type: 'dropout', rate }, { type: 'dense', units: 1 }]);
    const net = new Network(c, { rows: 4, kernels: 'js' }).commit();
    const [dense, drop] = net.layers as [typeof net.layers[0], Dropout];
    const r = new Rng(8);
    for (let i = 0; i < N; i++) dense.out.v[i] = r.normal();
    const g = Float64Array.from({ length: N }, () => r.normal());
    /** Sum of g * dropout(x), with the mask the seed 99 draws. */
    const objective = (): number => {
      drop.rng = new Rng(99);
      drop.forward(dense.out, 4, 'train');
      let s = 0;
      for (let i = 0; i < N; i++) s += g[i] * drop.out.v[i];
      return s;
    };
    return { dense, drop, g, objective };
  }
  it('dL/dx matches central differences of sum(g * dropout(x)) with the same mask', () => {
    const { dense, drop, g, objective } = setup();
    objective();
    drop.dOut.v.set(Float32Array.from(g));
    const dx = { ...dense.dOut, v: new Float32Array(N) };
    drop.backward(dense.out, dx, 4);
    let kept = 0;
    for (let i = 0; i < N; i++) {
      const x0 = dense.out.v[i], h = 1e-2;
      dense.out.v[i] = x0 + h; const lp = objective();
      dense.out.v[i] = x0 - h; const lm = objective();
      dense.out.v[i] = x0;
      const num = (lp - lm) / (Math.fround(x0 + h) - Math.fround(x0 - h));
      assert.ok(Math.abs(num - dx.v[i]) < 1e-3 * Math.max(1, Math.abs(num)), `x[${i}]: numeric ${num}, backward ${dx.v[i]}`);
      if (num !== 0) kept++;
    }
    assert.ok(kept > 0.5 * N && kept < 0.9 * N, `kept ${kept} of ${N} at rate ${rate}`);
  });
  it('a kept unit passes g / (1 - rate), a dropped one 0', () => {
    const { dense, drop, g, objective } = setup();
    objective();
    drop.dOut.v.set(Float32Array.from(g));
    const dx = { ...dense.dOut, v: new Float32Array(N) };
    drop.backward(dense.out, dx, 4);
    for (let i = 0; i < N; i++) {
      const keptUnit = drop.out.v[i] !== 0;
      const want = keptUnit ? g[i] / (1 - rate) : 0;
      assert.ok(Math.abs(dx.v[i] - want) < 1e-5 * Math.max(1, Math.abs(want)), `unit ${i} (${keptUnit ? 'kept' : 'dropped'}): ${dx.v[i]} vs ${want}`);
    }
  });
});
