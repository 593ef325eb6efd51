/**
 * Parameters that change what an activation or an initializer computes, end to end from the config text:
 * - swish's beta and gelu's approximate, through a network's forward and backward, against tfjs-layers'
 *   gelu (erf) and gelu_new (tanh approximation) and tf's closed form x*sigmoid(beta*x), with tf.grad;
 * - gelu_new is the tanh approximation (as tfjs-layers and HuggingFace define it), not exact gelu;
 * - the identity initializer is Keras' Identity: gain * eye(rows, cols), refused for conv kernels.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseConfigText } from '../../../src/config';
import type { ActivationSpec, NetworkConfig } from '../../../src/model';
import { Network } from '../../../src/core/network';
import { effectiveVariance, fillInit, resolveInit } from '../../../src/core/initializers';
import { Rng } from '../../../src/core/rng';

const XS = [-4, -3, -2.2, -1.5, -1, -0.6, -0.2, 0.3, 0.7, 1.2, 2, 3.1];

const yaml = (layers: string) => `seed: 1
data: { source: teacher, samples: 64 }
model:
  input: ${XS.length}
  layers:
${layers}
train: { loss: mse, optimizer: sgd, steps: 1 }
`;

function parse(text: string): NetworkConfig {
  const r = parseConfigText(text, 'x.nn.yaml');
  const errors = r.problems.filter(p => p.severity === 'error');
  assert.equal(errors.length, 0, errors.map(e => e.message).join('; '));
  return r.config!;
}

/** f(XS) and f'(XS) of the first layer (an activation layer) of a parsed config, through the Network. */
function throughNetwork(activation: string): { f: number[]; df: number[]; spec: ActivationSpec } {
  const c = parse(yaml(`    - { type: activation, activation: ${activation} }\n    - { type: dense, units: 1 }`));
  const net = new Network(c, { rows: 1, kernels: 'wasm' }).commit();
  const act = net.layers[0];
  net.input.v.set(XS);
  net.forward(1, 'probe');
  const f = Array.from(act.out.v.subarray(0, XS.length));
  act.dOut.v.fill(1, 0, XS.length);
  const dx = { ...net.input, v: new Float32Array(XS.length) };
  act.backward(net.input, dx, 1, false);
  return { f, df: Array.from(dx.v), spec: c.model.layers[0].type === 'activation' ? c.model.layers[0].activation : { name: 'linear' } };
}

/** tf's values and derivatives of an activation at XS. */
function tfValues(fn: (x: tf.Tensor) => tf.Tensor): { f: number[]; df: number[] } {
  return tf.tidy(() => {
    const x = tf.tensor1d(XS);
    return { f: Array.from(fn(x).dataSync()), df: Array.from(tf.grad(v => tf.sum(fn(v)) as tf.Scalar)(x).dataSync()) };
  });
}

const layerAct = (name: string) => (x: tf.Tensor) => tfl.layers.activation({ activation: name as 'relu' }).apply(x) as tf.Tensor;
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

describe('activation parameters through the network, against tfjs', function () {
  this.timeout(30000);
  before(async () => { await tf.setBackend('cpu'); await tf.ready(); });
  it('gelu is exact (erf): equals tfjs-layers gelu', () => {
    const ours = throughNetwork('gelu'), ref = tfValues(layerAct('gelu'));
    assert.ok(maxDiff(ours.f, ref.f) < 2e-6, `f: ${maxDiff(ours.f, ref.f)}`);
    assert.ok(maxDiff(ours.df, ref.df) < 2e-5, `f': ${maxDiff(ours.df, ref.df)}`);
  });
  it('gelu with approximate: tanh equals tfjs-layers gelu_new, and differs from exact gelu', () => {
    const ours = throughNetwork('{ name: gelu, approximate: tanh }'), ref = tfValues(layerAct('gelu_new'));
    assert.ok(maxDiff(ours.f, ref.f) < 2e-6, `f: ${maxDiff(ours.f, ref.f)}`);
    assert.ok(maxDiff(ours.df, ref.df) < 2e-5, `f': ${maxDiff(ours.df, ref.df)}`);
    const exact = tfValues(layerAct('gelu'));
    assert.ok(maxDiff(exact.f, ref.f) > 1e-4, `the two forms are told apart at these points (${maxDiff(exact.f, ref.f)})`);
    assert.ok(maxDiff(exact.df, ref.df) > 1e-4, `and so are their derivatives (${maxDiff(exact.df, ref.df)})`);
  });
  it('gelu_new is the tanh approximation (tfjs-layers and HuggingFace); an explicit approximate wins', () => {
    const ref = tfValues(layerAct('gelu_new'));
    const ours = throughNetwork('gelu_new');
    assert.deepEqual(ours.spec, { name: 'gelu', approximate: 'tanh' });
    assert.ok(maxDiff(ours.f, ref.f) < 2e-6, `f: ${maxDiff(ours.f, ref.f)}`);
    assert.ok(maxDiff(ours.df, ref.df) < 2e-5, `f': ${maxDiff(ours.df, ref.df)}`);
    // An explicit approximate wins over what the alias implies.
    assert.deepEqual(throughNetwork('{ name: gelu_new, approximate: none }').spec, { name: 'gelu', approximate: 'none' });
  });
  it('swish uses beta: x * sigmoid(beta x) and its derivative, for beta 1.7 and 0.4 (and 1 by default)', () => {
    for (const beta of [1.7, 0.4]) {
      const ours = throughNetwork(`{ name: swish, beta: ${beta} }`);
      const ref = tfValues(x => tf.mul(x, tf.sigmoid(tf.mul(x, beta))));
      assert.ok(maxDiff(ours.f, ref.f) < 2e-6, `beta ${beta} f: ${maxDiff(ours.f, ref.f)}`);
      assert.ok(maxDiff(ours.df, ref.df) < 2e-5, `beta ${beta} f': ${maxDiff(ours.df, ref.df)}`);
    }
    const plain = throughNetwork('swish'), ref = tfValues(layerAct('swish'));
    assert.ok(maxDiff(plain.f, ref.f) < 2e-6 && maxDiff(plain.df, ref.df) < 2e-5, 'beta 1 = tfjs-layers swish');
    // Hand-computed: swish(2; beta 1.5) = 2 / (1 + e^-3) = 1.905148...
    assert.ok(Math.abs(throughNetwork('{ name: swish, beta: 1.5 }').f[XS.indexOf(2)] - 1.9051482536) < 1e-6);
  });
});

describe('the identity initializer (Keras Identity)', () => {
  const kernelOf = (layers: string): Float32Array => {
    const net = new Network(parse(yaml(layers)), { rows: 1, kernels: 'js' }).commit();
    return Float32Array.from(net.layers[0].params[0].w.v);
  };
  /** tf.eye(rows, cols) * gain, the Keras definition (ops.eye(*shape) * gain). */
  const eye = (rows: number, cols: number, gain: number) => Array.from(tf.mul(tf.eye(rows, cols), gain).dataSync());
  it('a square dense kernel is the identity matrix; gain scales it', () => {
    // input width 12 -> 12 units
    assert.deepEqual(Array.from(kernelOf(`    - { type: dense, units: 12, init: identity }`)), eye(12, 12, 1));
    assert.deepEqual(Array.from(kernelOf(`    - { type: dense, units: 12, init: { name: identity, gain: 2.5 } }`)), eye(12, 12, 2.5));
  });
  it('a non-square dense kernel gets ones on its main diagonal, as Keras does (12 -> 5 and 12 -> 20)', () => {
    assert.deepEqual(Array.from(kernelOf(`    - { type: dense, units: 5, init: identity }`)), eye(12, 5, 1));
    assert.deepEqual(Array.from(kernelOf(`    - { type: dense, units: 20, init: identity }`)), eye(12, 20, 1));
  });
  it('its E[w^2] is gain^2 * min(fan_in, fan_out) / (fan_in * fan_out)', () => {
    const init = resolveInit('identity', { gain: 3 })!;
    for (const [rows, cols] of [[4, 4], [6, 3], [2, 7]]) {
      const w = new Float32Array(rows * cols);
      fillInit(init, [rows, cols], w, new Rng(1));
      const meanSq = w.reduce((s, v) => s + v * v, 0) / w.length;
      assert.ok(Math.abs(effectiveVariance(init, rows, cols)! - meanSq) < 1e-9, `${rows}x${cols}`);
    }
  });
  it('a conv2d kernel (4D) is refused at the init value, with the layer name; fillInit refuses too', () => {
    const text = `seed: 1
data: { source: teacher, samples: 64 }
model:
  input: [6, 6, 1]
  layers:
    - { type: conv2d, name: c1, filters: 2, kernel: 3, init: identity }
    - { type: flatten }
    - { type: dense, units: 1 }
train: { loss: mse }
`;
    const r = parseConfigText(text, 'x.nn.yaml');
    const err = r.problems.find(p => p.severity === 'error');
    assert.ok(err, 'an error');
    assert.match(err.message, /identity initializer makes 2D matrices only.*conv2d "c1"/);
    assert.equal(err.layer, 'c1');
    assert.equal(text.slice(err.span!.start.offset, err.span!.end.offset), 'identity');
    assert.throws(() => fillInit(resolveInit('identity')!, [3, 3, 1, 2], new Float32Array(18), new Rng(1)), /2D matrices only/);
  });
  it('a Keras Dense with Identity(gain=0.5) imports as identity (not orthogonal); a Conv2D with Identity is refused', () => {
    const dense = (cls: string, extra: string) => `{"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 6, 6, 1], "name": "in"}},
      ${extra}
      {"class_name": "Flatten", "config": {"name": "f"}},
      {"class_name": "Dense", "config": {"name": "d", "units": 36, "activation": "linear", "use_bias": true,
        "kernel_initializer": {"class_name": "${cls}", "config": {"gain": 0.5}}, "bias_initializer": {"class_name": "Zeros", "config": {}}}}]},
      "keras_version": "2.12.0", "backend": "tensorflow"}`;
    const ok = parseConfigText(dense('Identity', ''), 'm.json');
    assert.equal(ok.problems.filter(p => p.severity === 'error').length, 0, ok.problems.map(p => p.message).join('; '));
    const d = ok.config!.model.layers[1];
    assert.ok(d.type === 'dense');
    assert.deepEqual([d.init.kind, d.init.gain], ['identity', 0.5]);
    const conv = `{"class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": [3, 3], "padding": "same", "activation": "relu",
        "kernel_initializer": {"class_name": "Identity", "config": {}}, "bias_initializer": {"class_name": "Zeros", "config": {}}}},`;
    const text = dense('GlorotUniform', conv);
    const bad = parseConfigText(text, 'm.json');
    const err = bad.problems.find(p => p.severity === 'error');
    assert.ok(err && /identity initializer makes 2D matrices only.*Conv2D "c"/.test(err.message), bad.problems.map(p => p.message).join('; '));
    assert.match(text.slice(err.span!.start.offset, err.span!.end.offset), /^\{"class_name": "Identity"/);
  });
});
