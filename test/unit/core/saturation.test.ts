/**
 * The saturated fraction a probe reports (SPEC §4: f'(z) < 0.1 max f'), through the real Trainer probe,
 * for the activations whose saturation is derivative-based (sigmoid, tanh, softsign, hard_sigmoid) and for
 * relu6 (z >= 6). Expected values come from (a) closed-form thresholds and hand-counted inputs and (b)
 * TensorFlow.js: the derivative computed by tf.grad of tf's own activation, saturation counted from it.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ActivationName, Dataset } from '../../../src/model';
import { Trainer } from '../../../src/core/train';
import { Rng } from '../../../src/core/rng';
import { makeConfig } from './helpers';

const UNITS = 8;

/** saturatedFraction of an activation layer whose pre-activations are exactly `z` (rows x UNITS). */
function probeSaturation(act: ActivationName, z: number[], kernels: 'js' | 'wasm'): number | null {
  const rows = z.length / UNITS;
  const c = makeConfig([UNITS], [{ type: 'activation', activation: act }, { type: 'dense', units: 1 }]);
  c.probe.samples = rows;
  const split = (x: number[]) => ({ x: Float32Array.from(x), y: new Float32Array(x.length / UNITS), n: x.length / UNITS });
  const data: Dataset = { inputShape: [UNITS], task: 'regression', targetDim: 1, train: split(z.map(v => v * 0.5)), val: split(z) };
  return new Trainer(c, data, { kernels }).probe().layers[0].saturatedFraction;
}

// Closed forms of f'(x) = 0.1 max f': sigmoid s(1-s) = 0.025 <=> x = 2 atanh(sqrt(0.9)); tanh 1 - t^2 = 0.1
// <=> x = atanh(sqrt(0.9)); softsign 1/(1+|x|)^2 = 0.1 <=> |x| = sqrt(10) - 1; hard_sigmoid f' = 0 from |x| = 3.
const T = {
  sigmoid: 2 * Math.atanh(Math.sqrt(0.9)), // 3.6369
  tanh: Math.atanh(Math.sqrt(0.9)), // 1.8184
  softsign: Math.sqrt(10) - 1, // 2.1623
};

describe('saturated fraction of a probe: hand-computed cases', () => {
  for (const kernels of ['js', 'wasm'] as const) {
    it(`${kernels}: sigmoid, tanh, softsign just inside and just outside their thresholds`, () => {
      for (const [act, t] of Object.entries(T) as [ActivationName, number][]) {
        // Row 1: t-0.01 and -(t-0.01) are not saturated, t+0.01, -(t+0.01), 100, -100 are; 0 and 1 are not.
        // Row 2: only 1e4 is.
        const z = [t - 0.01, t + 0.01, -t - 0.01, -t + 0.01, 0, 100, -100, 1, 0.1, -0.2, 0.3, 1e4, -0.5, 0.6, t / 2, -t / 2];
        assert.equal(probeSaturation(act, z, kernels), 5 / 16, `${act} (threshold ${t.toFixed(4)})`);
      }
    });
    it(`${kernels}: hard_sigmoid is saturated from |z| = 3 on (f'(3) = 0), not only beyond`, () => {
      const z = [3, -3, 2.999, -2.999, 0, 5, -5, 1];
      assert.equal(probeSaturation('hard_sigmoid', z, kernels), 4 / 8);
    });
    it(`${kernels}: relu6 is saturated where z >= 6`, () => {
      assert.equal(probeSaturation('relu6', [6, 5.99, 7, -1, 0, 100, 3, -100], kernels), 3 / 8);
    });
    it(`${kernels}: activations without a saturation judgement report null`, () => {
      assert.equal(probeSaturation('relu', [1, 2, 3, 4, 5, 6, 7, 8], kernels), null);
    });
  }
});

describe('saturated fraction of a probe against TensorFlow.js derivatives', function () {
  this.timeout(60000);
  before(async () => { await tf.setBackend('cpu'); await tf.ready(); });
  const tfAct: Record<string, (x: tf.Tensor) => tf.Tensor> = {
    sigmoid: x => tf.sigmoid(x),
    tanh: x => tf.tanh(x),
    softsign: x => tfl.layers.activation({ activation: 'softsign' }).apply(x) as tf.Tensor,
    // Keras 3's hard_sigmoid (tfjs-layers has the Keras 2 form 0.2x + 0.5).
    hard_sigmoid: x => tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1),
  };
  /** Fraction of z where tf's derivative is below 0.1 of its maximum over [-10, 10]. */
  const tfFraction = (f: (x: tf.Tensor) => tf.Tensor, z: Float32Array): number => tf.tidy(() => {
    const d = tf.grad(x => tf.sum(f(x)) as tf.Scalar);
    const grid = tf.linspace(-10, 10, 20001);
    const max = tf.max(d(grid)).dataSync()[0];
    const dz = d(tf.tensor1d(z)).dataSync();
    let c = 0;
    for (const v of dz) if (v < 0.1 * max) c++;
    return c / z.length;
  });
  for (const act of Object.keys(tfAct) as ActivationName[]) {
    it(`${act}: 512 values of N(0, 3^2), the same fraction as tf's derivative says`, () => {
      const r = new Rng(7), z = new Float32Array(512).map(() => 3 * r.normal());
      const want = tfFraction(tfAct[act], z);
      assert.ok(want > 0.1 && want < 0.9, `the sample straddles the threshold (${want})`);
      for (const kernels of ['js', 'wasm'] as const) assert.equal(probeSaturation(act, Array.from(z), kernels), want, `${act} ${kernels}`);
    });
  }
});
