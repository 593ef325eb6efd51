/**
 * Gradients, first one relu unit by hand, then every layer and activation against central finite differences.
 * Activations are checked in float64 on their scalar f/df; layers through a whole Network (float32), where
 * the finite difference of the loss is compared with the backward pass, norm-wise over sampled coordinates.
 */
import assert from 'node:assert/strict';
import { ACTIVATIONS, ACTIVATION_NAMES, backwardArray, forwardArray, softmaxBackwardRows, softmaxRows } from '../../../src/core/activations';
import { Network } from '../../../src/core/network';
import { Rng } from '../../../src/core/rng';
import { makeConfig, randomData } from './helpers';
import type { NetworkConfig } from '../../../src/model';

/**
 * One dense relu unit, mse, through the Network's forward, loss and backward (micrograd-sized): z = w·x + b,
 * a = relu(z), L = mean over rows of (a - y)², so per row dL/dz = (2/5)(a - y)·relu'(z), dL/dw its sum times x,
 * dL/db its sum; relu'(z) = 1 for z > 0 and 0 for z <= 0 (relu'(0) = 0, as in TensorFlow). w = 0.5, b = 0.25,
 * five rows, so the wasm kernel runs its 4-wide loop (rows 0-3) and its scalar tail (row 4), each with a row at the
 * kink. Targets put a - y at ±2.5 or 5, so (2/5)(a - y) is ±1 or 2:
 *   row 0, x = 2:    z = 1.25, a = 1.25, y = 3.75,  (a - y)² = 6.25, dL/dz = -1, dw += -1·2 = -2, db += -1
 *   row 1, x = -0.5: z = 0 (the kink), a = 0, y = 2.5, (a - y)² = 6.25, dL/dz = 0
 *   row 2, x = -2:   z = -0.75, a = 0, y = 2.5,      (a - y)² = 6.25, dL/dz = 0
 *   row 3, x = 4:    z = 2.25, a = 2.25, y = -2.75, (a - y)² = 25,   dL/dz = 2, dw += 2·4 = 8, db += 2
 *   row 4, x = -0.5: z = 0 (the kink, in the tail), a = 0, y = 2.5, (a - y)² = 6.25, dL/dz = 0
 *   L = (6.25·4 + 25)/5 = 10, dL/dw = -2 + 8 = 6, dL/db = -1 + 2 = 1.
 * A relu'(0) of 1 would add (-1)·(-0.5) = 0.5 to dL/dw and -1 to dL/db per kink row. Every number is a dyadic
 * fraction and the 1/5 cancels exactly in float64 (2·2.5·0.2 = 1), so the core must give them exactly.
 */
describe('one relu unit by hand, five rows: dL/dw = mean of 2(a - y)·x over rows with z > 0', () => {
  const x = [2, -0.5, -2, 4, -0.5], y = [3.75, 2.5, 2.5, -2.75, 2.5];
  const z = [1.25, 0, -0.75, 2.25, 0], a = [1.25, 0, 0, 2.25, 0];
  // -0 (a negative x times a zero gradient) is the 0 of the hand computation.
  const unsigned = (v: number) => v + 0;
  for (const kernels of ['js', 'wasm'] as const) {
    it(`${kernels} kernels: L = 10, dL/dw = 6, dL/db = 1 (kinks at z = 0 in the 4-wide rows and in the tail give 0)`, () => {
      const config = makeConfig([1], [{ type: 'dense', units: 1, activation: 'relu' }], { loss: 'mse' });
      const net = new Network(config, { rows: 5, kernels }).commit();
      net.loadWeights([{ kernel: Float32Array.of(0.5), bias: Float32Array.of(0.25) }]);
      net.loadRows(Float32Array.from(x), Float32Array.from(y), 1, null, 0, 5);
      net.forward(5, 'train'); const loss = net.computeLoss(5, true); net.backward(5, true);
      const [dense] = net.layers, [w, b] = dense.params;
      assert.deepEqual([...dense.z!.v.subarray(0, 5)].map(unsigned), z);
      assert.deepEqual([...dense.out.v.subarray(0, 5)].map(unsigned), a);
      assert.deepEqual([loss, w.g.v[0], b.g.v[0]].map(unsigned), [10, 6, 1]);
    });
  }
});

describe('activation derivatives (float64 central differences)', () => {
  const xs = [-6, -3.1, -1.7, -0.9, -0.31, 0.27, 0.8, 1.4, 2.9, 5.5];
  for (const name of ACTIVATION_NAMES) {
    it(`${name}: df matches (f(x+h)-f(x-h))/2h away from kinks`, () => {
      const a = ACTIVATIONS[name];
      for (const x of xs) {
        if (name === 'relu6' && Math.abs(x - 6) < 0.01) continue;
        const h = 1e-5;
        const num = (a.f(x + h) - a.f(x - h)) / (2 * h);
        assert.ok(Math.abs(num - a.df(x)) < 1e-6 * Math.max(1, Math.abs(num)), `${name} at ${x}: numeric ${num} vs df ${a.df(x)}`);
      }
    });
    it(`${name}: f and df finite for |x| up to 1e4`, () => {
      const a = ACTIVATIONS[name];
      for (const x of [-1e4, -800, -100, -30, 30, 100, 800, 1e4]) {
        assert.ok(Number.isFinite(a.f(x)) && Number.isFinite(a.df(x)), `${name}(${x}) = ${a.f(x)}, f' = ${a.df(x)}`);
      }
    });
  }
  it('parameterized forms: leaky_relu alpha, elu alpha, swish beta, gelu tanh approximation', () => {
    const cases: [typeof ACTIVATION_NAMES[number], object][] = [['leaky_relu', { alpha: 0.2 }], ['elu', { alpha: 0.5 }], ['swish', { beta: 1.7 }], ['gelu', { approximate: 'tanh' }]];
    for (const [name, p] of cases) for (const x of xs) {
      const a = ACTIVATIONS[name], h = 1e-5;
      const num = (a.f(x + h, p) - a.f(x - h, p)) / (2 * h);
      assert.ok(Math.abs(num - a.df(x, p)) < 1e-6 * Math.max(1, Math.abs(num)), `${name} ${JSON.stringify(p)} at ${x}`);
    }
    assert.equal(ACTIVATIONS.leaky_relu.f(-2, { alpha: 0.2 }), -0.4);
  });
  it('vectorized forward/backward agree with the scalar table', () => {
    const r = new Rng(5), n = 257;
    for (const name of ACTIVATION_NAMES) {
      if (name === 'softmax') continue;
      const z = new Float32Array(n).map(() => 3 * r.normal()), a = new Float32Array(n), g = new Float32Array(n).fill(1);
      forwardArray(name, {}, z, a, n);
      backwardArray(name, {}, z, a, g, n);
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(a[i] - ACTIVATIONS[name].f(z[i])) < 1e-5, `${name} f at ${z[i]}`);
        assert.ok(Math.abs(g[i] - ACTIVATIONS[name].df(z[i])) < 1e-5, `${name} df at ${z[i]}`);
      }
    }
  });
  it('softmax rows: stable at logits 1e4 and Jacobian-vector product matches differences', () => {
    const z = new Float32Array([1e4, 0, -1e4, 3, 1, 2]), a = new Float32Array(6);
    softmaxRows(z, a, 2, 3);
    assert.deepEqual(Array.from(a.subarray(0, 3)), [1, 0, 0]);
    const s = a[3] + a[4] + a[5];
    assert.ok(Math.abs(s - 1) < 1e-6);
    // d/dz_k of sum_i g_i softmax_i
    const g = [0.3, -1.2, 0.7], zz = [0.5, -0.2, 1.1], h = 1e-3;
    const val = (v: number[]) => { const t = new Float32Array(3), o = new Float32Array(v); softmaxRows(o, t, 1, 3); return g[0] * t[0] + g[1] * t[1] + g[2] * t[2]; };
    const aa = new Float32Array(3); softmaxRows(new Float32Array(zz), aa, 1, 3);
    const gg = new Float32Array(g); softmaxBackwardRows(aa, gg, 1, 3);
    for (let k = 0; k < 3; k++) {
      const p = zz.slice(), m = zz.slice(); p[k] += h; m[k] -= h;
      assert.ok(Math.abs((val(p) - val(m)) / (2 * h) - gg[k]) < 1e-3);
    }
  });
});

/**
 * The bound on gradCheck's relative error. The loss is float32 (rounded to ~6e-8 of itself), so the step must be
 * large, h = 1e-2·max(0.1, |w|); the central difference then carries a truncation error of order h², and a
 * one-sided slope wherever the step moves a pre-activation across a kink (relu-family, relu6, max pool). Measured
 * 1e-5 to 1e-4 on these nets (2 Dec 2026); a wrong derivative gives 0.4 (relu's doubled or dropped, tried once).
 */
const FD_BOUND = 2e-2;

/** ||numeric - analytic|| / ||analytic|| over up to 24 sampled coordinates of every trainable parameter. */
function gradCheck(config: NetworkConfig, classes?: number, kernels: 'js' | 'wasm' = 'js'): number {
  const rows = 6;
  const outUnits = (() => { const l = config.model.layers[config.model.layers.length - 1] as { units?: number }; return l.units ?? 1; })();
  const data = randomData(config.model.input, outUnits, rows, 11, classes);
  const net = new Network(config, { rows, kernels }).commit();
  const yWidth = classes && classes > 1 ? 1 : outUnits;
  net.loadRows(data.train.x, data.train.y, yWidth, null, 0, rows);
  const lossAt = () => { net.forward(rows, 'probe'); return net.computeLoss(rows, false); };
  net.forward(rows, 'probe'); net.computeLoss(rows, true); net.backward(rows, true);
  const r = new Rng(17);
  let num2 = 0, den2 = 0;
  for (const p of net.params) {
    if (!p.trainable) continue;
    const analytic = Float64Array.from(p.g.v);
    const picks = p.w.n <= 24 ? [...Array(p.w.n).keys()] : Array.from({ length: 24 }, () => r.int(p.w.n));
    for (const i of picks) {
      const w0 = p.w.v[i], h = 1e-2 * Math.max(0.1, Math.abs(w0));
      p.w.v[i] = w0 + h; const lp = lossAt();
      p.w.v[i] = w0 - h; const lm = lossAt();
      p.w.v[i] = w0;
      const hh = (Math.fround(w0 + h) - Math.fround(w0 - h));
      const num = (lp - lm) / hh;
      num2 += (num - analytic[i]) ** 2; den2 += analytic[i] ** 2;
    }
  }
  return Math.sqrt(num2 / Math.max(den2, 1e-30));
}

describe('layer gradients (float32 network, central differences)', () => {
  for (const name of ACTIVATION_NAMES) {
    if (name === 'softmax') continue;
    it(`dense + ${name}`, () => {
      const c = makeConfig([5], [{ type: 'dense', units: 7, activation: name, init: 'glorot_normal' }, { type: 'dense', units: 3 }], { loss: 'mse' });
      const e = gradCheck(c);
      assert.ok(e < FD_BOUND, `relative gradient error ${e}`);
    });
  }
  it('softmax + cross-entropy (fused) and sigmoid + BCE (fused)', () => {
    assert.ok(gradCheck(makeConfig([4], [{ type: 'dense', units: 6, activation: 'tanh' }, { type: 'dense', units: 3, activation: 'softmax' }], { loss: 'cross_entropy' }), 3) < FD_BOUND);
    assert.ok(gradCheck(makeConfig([4], [{ type: 'dense', units: 6, activation: 'tanh' }, { type: 'dense', units: 1, activation: 'sigmoid' }], { loss: 'binary_cross_entropy' }), 1) < FD_BOUND);
  });
  it('softmax output with mse (unfused Jacobian), sigmoid output with cross-entropy and tanh output with BCE (unfused)', () => {
    assert.ok(gradCheck(makeConfig([4], [{ type: 'dense', units: 6, activation: 'tanh' }, { type: 'dense', units: 3, activation: 'softmax' }], { loss: 'mse' })) < FD_BOUND);
    assert.ok(gradCheck(makeConfig([4], [{ type: 'dense', units: 6, activation: 'tanh' }, { type: 'dense', units: 3, activation: 'sigmoid' }], { loss: 'cross_entropy' }), 3) < FD_BOUND);
    // A linear activation layer after the sigmoid output makes binary cross-entropy unfused (it reads a, not z).
    assert.ok(gradCheck(makeConfig([4], [{ type: 'dense', units: 6, activation: 'tanh' }, { type: 'dense', units: 3, activation: 'sigmoid' }, { type: 'activation', activation: 'linear' }], { loss: 'binary_cross_entropy' })) < FD_BOUND);
  });
  it('conv2d valid/same with stride, maxpool, avgpool, flatten', () => {
    for (const kernels of ['js', 'wasm'] as const) {
      const c = makeConfig([7, 6, 2], [
        { type: 'conv2d', filters: 4, kernel: [3, 3], stride: [1, 1], padding: 'same', activation: 'tanh' },
        { type: 'maxpool2d', size: [2, 2], padding: 'same' },
        { type: 'conv2d', filters: 3, kernel: [2, 3], stride: [2, 1], padding: 'valid', activation: 'elu' },
        { type: 'avgpool2d', size: [2, 2], stride: [1, 1], padding: 'same' },
        { type: 'flatten' }, { type: 'dense', units: 2 }]);
      const e = gradCheck(c, undefined, kernels);
      assert.ok(e < FD_BOUND, `${kernels}: relative gradient error ${e}`);
    }
  });
  it('global_avgpool2d, batchnorm (batch statistics), activation layer, prelu', () => {
    const c = makeConfig([5, 5, 3], [
      { type: 'conv2d', filters: 4, kernel: [3, 3], activation: 'linear' },
      { type: 'batchnorm' }, { type: 'activation', activation: 'prelu' },
      { type: 'global_avgpool2d' }, { type: 'dense', units: 5, activation: 'prelu' }, { type: 'batchnorm' }, { type: 'dense', units: 2 }]);
    const e = gradCheck(c);
    assert.ok(e < FD_BOUND, `relative gradient error ${e}`);
  });
  it('dropout: train mode scales kept units by 1/(1-rate) and backward uses the same mask; eval is identity', () => {
    const c = makeConfig([50], [{ type: 'dense', units: 40 }, { type: 'dropout', rate: 0.25 }, { type: 'dense', units: 1 }]);
    const net = new Network(c, { rows: 4, kernels: 'js' }).commit();
    const d = randomData([50], 1, 4, 2);
    net.loadRows(d.train.x, d.train.y, 1, null, 0, 4);
    net.forward(4, 'train');
    const [dense, drop] = net.layers;
    let zeros = 0;
    for (let i = 0; i < 160; i++) {
      const o = drop.out.v[i], x = dense.out.v[i];
      if (o === 0) zeros++; else assert.ok(Math.abs(o - x / 0.75) < 1e-5 * Math.max(1, Math.abs(o)));
    }
    assert.ok(zeros > 20 && zeros < 60, `dropped ${zeros} of 160 at rate 0.25`);
    drop.dOut.v.fill(1);
    drop.backward(dense.out, dense.dOut, 4, true);
    for (let i = 0; i < 160; i++) assert.equal(dense.dOut.v[i] === 0, drop.out.v[i] === 0 && dense.out.v[i] !== 0 || dense.dOut.v[i] === 0);
    net.forward(4, 'eval');
    for (let i = 0; i < 160; i++) assert.equal(drop.out.v[i], dense.out.v[i]);
  });
});
