/**
 * Layer behaviour the gradient and TensorFlow.js oracles do not reach: TensorFlow's conv/pool output-size and
 * padding arithmetic at its edges (stride larger than the kernel, a kernel larger than the input), the shape
 * refusals that name the layer, and the probe mode (SPEC §4: probes see the network as it trains, without
 * dropout masks and without moving the batchnorm statistics).
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { convAxis, makeLayer } from '../../../src/core/layers';
import { Network } from '../../../src/core/network';
import { Trainer } from '../../../src/core/train';
import { layers, makeConfig, randomData, type LayerInput } from './helpers';

describe("layer shapes (TensorFlow's conv arithmetic)", () => {
  it('valid: floor((n - k) / s) + 1 outputs, none when the kernel is larger than the input', () => {
    assert.deepEqual(convAxis(7, 3, 2, 'valid'), { out: 3, pad: 0 });
    assert.deepEqual(convAxis(6, 3, 1, 'valid'), { out: 4, pad: 0 });
    assert.deepEqual(convAxis(2, 3, 1, 'valid'), { out: 0, pad: 0 });
  });
  it('same: ceil(n / s) outputs; padding (out-1)*s + k - n, at least 0, the odd one after', () => {
    assert.deepEqual(convAxis(7, 3, 2, 'same'), { out: 4, pad: 1 }); // total 2
    assert.deepEqual(convAxis(6, 3, 2, 'same'), { out: 3, pad: 0 }); // total 1: all after
    assert.deepEqual(convAxis(6, 4, 1, 'same'), { out: 6, pad: 1 }); // total 3: 1 before, 2 after
    assert.deepEqual(convAxis(5, 1, 3, 'same'), { out: 2, pad: 0 }); // (2-1)*3 + 1 - 5 = -1: no padding
  });
  it('a 1x1 kernel with stride 3 and same padding reads rows 0 and 3 (no negative padding)', () => {
    const c = makeConfig([5, 1, 1], [{ type: 'conv2d', filters: 1, kernel: [1, 1], stride: [3, 1], padding: 'same', init: 'ones', useBias: false }, { type: 'flatten' }]);
    const net = new Network(c, { rows: 1, kernels: 'js' }).commit();
    net.loadRows(Float32Array.from([10, 11, 12, 13, 14]), new Float32Array(2), 2, null, 0, 1);
    net.forward(1, 'train');
    assert.deepEqual(Array.from(net.layers[1].out.v.slice(0, 2)), [10, 13]);
  });
  it('shapes a layer cannot take are refused with the layer name and what to do', () => {
    const [dense, conv, pool, gap] = layers([
      { type: 'dense', units: 2, name: 'd1' }, { type: 'conv2d', filters: 2, name: 'c1' },
      { type: 'maxpool2d', name: 'p1' }, { type: 'global_avgpool2d', name: 'g1' },
    ]);
    assert.throws(() => makeLayer(dense, [4, 4, 1]), { message: 'layer d1: dense needs a flat input, got shape [4,4,1] (add a flatten layer)' });
    assert.throws(() => makeLayer(conv, [16]), { message: 'layer c1: conv2d needs an [h, w, c] input, got [16]' });
    assert.throws(() => makeLayer(pool, [4, 4]), { message: 'layer p1: maxpool2d needs an [h, w, c] input, got [4,4]' });
    assert.throws(() => makeLayer(gap, [16]), { message: 'layer g1: global_avgpool2d needs an [h, w, c] input, got [16]' });
    assert.deepEqual(makeLayer(conv, [5, 5, 3]).outShape, [3, 3, 2]);
    assert.deepEqual(makeLayer(gap, [5, 5, 3]).outShape, [3]);
    assert.deepEqual(makeLayer(dense, [7]).outShape, [2]);
  });
});

describe('probe mode', () => {
  function net(list: LayerInput[], input: number[], x: number[], rows: number) {
    const n = new Network(makeConfig(input, list), { rows, kernels: 'js' }).commit();
    n.loadRows(Float32Array.from(x), new Float32Array(rows), 1, null, 0, rows);
    return n;
  }
  it('dropout passes its input through in a probe and at evaluation, masks only in training', () => {
    const x = Array.from({ length: 32 }, (_, i) => i + 1);
    const n = net([{ type: 'dropout', rate: 0.5 }, { type: 'flatten' }, { type: 'dense', units: 1 }], [8], x, 4);
    for (const mode of ['probe', 'eval'] as const) {
      n.forward(4, mode);
      assert.deepEqual(Array.from(n.layers[0].out.v.slice(0, 32)), x, mode);
    }
    n.forward(4, 'train');
    const out = Array.from(n.layers[0].out.v.slice(0, 32));
    assert.ok(out.some(v => v === 0) && out.every((v, i) => v === 0 || v === 2 * x[i]), `train: ${out}`);
  });
  it('batchnorm in a probe normalizes with the batch statistics and leaves the moving statistics (0, 1) alone', () => {
    // 4 samples x 2 channels: channel 0 = 1, 2, 3, 4 (mean 2.5, variance 1.25), channel 1 = 10, 10, 10, 14 (11, 3).
    const x = [1, 10, 2, 10, 3, 10, 4, 14];
    const n = net([{ type: 'batchnorm', epsilon: 1e-3 }, { type: 'dense', units: 1 }], [2], x, 4);
    n.forward(4, 'probe');
    const bn = n.layers[0];
    const want = x.map((v, i) => (i % 2 ? (v - 11) / Math.sqrt(3 + 1e-3) : (v - 2.5) / Math.sqrt(1.25 + 1e-3)));
    Array.from(bn.out.v.slice(0, 8)).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `probe out[${i}] ${v}, expected ${want[i]}`));
    const [, , mm, mv] = bn.params;
    assert.deepEqual([...mm.w.v, ...mv.w.v], [0, 0, 1, 1], 'moving statistics after a probe');
    n.forward(4, 'eval');
    Array.from(bn.out.v.slice(0, 8)).forEach((v, i) => assert.ok(Math.abs(v - x[i] / Math.sqrt(1 + 1e-3)) < 1e-5, `eval out[${i}] ${v}`));
  });
});

describe('average pooling with same padding and stride 2 against TensorFlow.js (padding not counted)', () => {
  it('forward and backward of a 3x3 window, stride 2, on 5x7x2', () => {
    const shape = [5, 7, 2];
    const c = makeConfig(shape, [{ type: 'avgpool2d', size: [3, 3], stride: [2, 2], padding: 'same' }, { type: 'flatten' }]);
    const n = new Network(c, { rows: 2, kernels: 'js' }).commit();
    const size = 5 * 7 * 2, x = Float32Array.from({ length: 2 * size }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 5));
    const outN = 3 * 4 * 2;
    n.loadRows(x, new Float32Array(2 * outN), outN, null, 0, 2);
    n.forward(2, 'train');
    const xt = tf.tensor4d(x, [2, 5, 7, 2]);
    const want = tf.avgPool(xt, [3, 3], [2, 2], 'same').dataSync();
    const pool = n.layers[0];
    assert.equal(pool.outSize, outN);
    Array.from(pool.out.v.slice(0, 2 * outN)).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `out[${i}] ${v}, tf ${want[i]}`));
    // backward: dL/dx for L = sum(g * pool(x)) with a fixed g, against tf's gradient.
    const g = Float32Array.from({ length: 2 * outN }, (_, i) => Math.cos(i * 0.9));
    pool.dOut.v.set(g);
    const dx = { ...n.input, v: new Float32Array(2 * size) };
    pool.backward(n.input, dx as typeof n.input, 2, true);
    // tfjs' own avgPool gradient divides by the full window at the border (it disagrees with its forward), so the
    // expected dL/dx is a central difference of tf's forward: L is linear in x, so (L(x+e_i) - L(x-e_i)) / 2 is exact.
    const gt = tf.tensor4d(g, [2, 3, 4, 2]);
    const L = (v: Float32Array) => tf.tidy(() => tf.sum(tf.mul(tf.avgPool(tf.tensor4d(v, [2, 5, 7, 2]), [3, 3], [2, 2], 'same'), gt)).dataSync()[0]);
    const wantDx = Array.from(x, (_, i) => {
      const p = Float32Array.from(x), m = Float32Array.from(x);
      p[i] += 1; m[i] -= 1;
      return (L(p) - L(m)) / 2;
    });
    Array.from(dx.v).forEach((v, i) => assert.ok(Math.abs(v - wantDx[i]) < 1e-4, `dx[${i}] ${v}, tf ${wantDx[i]}`));
  });
});

describe('every layer type can come first (its backward has no input gradient to write)', () => {
  const cases: [string, number[], LayerInput[]][] = [
    ['avgpool2d', [4, 4, 2], [{ type: 'avgpool2d' }, { type: 'flatten' }, { type: 'dense', units: 1 }]],
    ['maxpool2d', [4, 4, 2], [{ type: 'maxpool2d' }, { type: 'flatten' }, { type: 'dense', units: 1 }]],
    ['global_avgpool2d', [4, 4, 2], [{ type: 'global_avgpool2d' }, { type: 'dense', units: 1 }]],
    ['flatten', [4, 4, 2], [{ type: 'flatten' }, { type: 'dense', units: 1 }]],
    ['dropout', [6], [{ type: 'dropout', rate: 0.3 }, { type: 'dense', units: 1 }]],
    ['batchnorm', [6], [{ type: 'batchnorm' }, { type: 'dense', units: 1 }]],
    ['activation', [6], [{ type: 'activation', activation: 'tanh' }, { type: 'dense', units: 1 }]],
    ['conv2d', [4, 4, 2], [{ type: 'conv2d', filters: 2, kernel: [3, 3] }, { type: 'flatten' }, { type: 'dense', units: 1 }]],
  ];
  for (const [name, input, list] of cases) {
    it(`${name}: a training step runs and gives the next layer a finite kernel gradient`, () => {
      const size = input.reduce((a, b) => a * b, 1);
      const n = new Network(makeConfig(input, list), { rows: 3, kernels: 'js' }).commit();
      n.loadRows(Float32Array.from({ length: 3 * size }, (_, i) => Math.sin(i)), Float32Array.from([1, -1, 0.5]), 1, null, 0, 3);
      n.forward(3, 'train');
      n.computeLoss(3, true);
      n.backward(3, true);
      const k = n.layers[n.layers.length - 1].params.find(p => p.kernel)!;
      assert.ok(Array.from(k.g.v).every(Number.isFinite) && Array.from(k.g.v).some(v => v !== 0));
    });
  }
});

describe('prelu at exactly z = 0 (the slope tfjs-core and PyTorch use there: alpha)', () => {
  for (const where of ['activation layer', 'dense layer'] as const) {
    it(`${where}: dL/dz against tf.grad of tf.prelu, with zeros in the input`, () => {
      const list: LayerInput[] = where === 'dense layer'
        ? [{ type: 'dense', units: 4, activation: 'prelu', init: 'identity' }, { type: 'dense', units: 1 }]
        : [{ type: 'activation', activation: 'prelu' }, { type: 'dense', units: 1 }];
      const n = new Network(makeConfig([4], list), { rows: 2, kernels: 'js' }).commit();
      const x = Float32Array.from([0, -2, 0, 3, 1, 0, -0.5, 0]);
      n.loadRows(x, Float32Array.from([1, -1]), 1, null, 0, 2);
      n.forward(2, 'train'); n.computeLoss(2, true);
      const layer = n.layers[0];
      const alpha = layer.params.find(p => p.name === 'alpha')!;
      alpha.w.v.set([0.1, 0.2, 0.3, 0.4]);
      const g = Float32Array.from([1, 2, 3, 4, -1, -2, -3, -4]);
      layer.dOut.v.set(g);
      layer.backward(n.input, null, 2, true);
      const at = tf.tensor1d([0.1, 0.2, 0.3, 0.4]);
      const want = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.prelu(t, at as tf.Tensor), tf.tensor2d(g, [2, 4]))))(tf.tensor2d(x, [2, 4])).dataSync();
      assert.deepEqual(Array.from(layer.dOut.v.slice(0, 8)), Array.from(want));
    });
  }
});

/**
 * Which parameters a layer has, which train and which decay, as Keras has them: BatchNormalization's weights are
 * gamma, beta, moving_mean, moving_variance, of which gamma and beta are trainable; weight decay (decoupled,
 * AdamW-style) shrinks kernels only, never biases, batchnorm scales and shifts or prelu slopes (Keras applies
 * its regularizer to the kernel only; PyTorch users exclude biases and norms by convention).
 */
describe('parameters: names, trainability and weight decay by kind', () => {
  const list: LayerInput[] = [
    { type: 'conv2d', filters: 3, kernel: [3, 3], padding: 'same', activation: { name: 'prelu', alpha: 0.3 }, biasInit: 'ones' },
    { type: 'batchnorm' }, { type: 'flatten' },
    { type: 'dense', units: 5, activation: { name: 'prelu', alpha: 0.2 }, biasInit: 'ones' },
    { type: 'activation', activation: { name: 'prelu', alpha: 0.1 } },
    { type: 'dense', units: 1 },
  ];
  it('names and trainable flags per layer (Keras: moving statistics are not trainable)', () => {
    const n = new Network(makeConfig([4, 4, 2], list), { rows: 4, kernels: 'js' }).commit();
    assert.deepEqual(n.layers.map(l => l.params.map(p => `${p.name}${p.trainable ? '' : ' (frozen)'}`)), [
      ['kernel', 'bias', 'alpha'], ['gamma', 'beta', 'moving_mean (frozen)', 'moving_variance (frozen)'], [],
      ['kernel', 'bias', 'alpha'], ['alpha'], ['kernel', 'bias'],
    ]);
  });
  it('biases start at bias_init, prelu slopes at the alpha given or 0.25, batchnorm at gamma 1, beta 0, moving (0, 1)', () => {
    const n = new Network(makeConfig([4, 4, 2], list), { rows: 4, kernels: 'js' }).commit();   // commit initializes
    const start = (i: number, name: string) => Array.from(n.layers[i].params.find(p => p.name === name)!.w.v);
    assert.deepEqual(start(0, 'bias'), [1, 1, 1]);
    assert.deepEqual(start(0, 'alpha'), Array(3).fill(Math.fround(0.3)));
    assert.deepEqual([start(1, 'gamma'), start(1, 'beta'), start(1, 'moving_mean'), start(1, 'moving_variance')], [[1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1]]);
    assert.deepEqual(start(3, 'bias'), [1, 1, 1, 1, 1]);
    assert.deepEqual(start(3, 'alpha'), Array(5).fill(Math.fround(0.2)));
    const plain = new Network(makeConfig([6], [{ type: 'dense', units: 2, activation: 'prelu' }]), { rows: 1, kernels: 'js' }).commit();
    assert.deepEqual(Array.from(plain.layers[0].params.find(p => p.name === 'alpha')!.w.v), [0.25, 0.25], 'no alpha given: 0.25');
    assert.deepEqual(start(4, 'alpha'), Array(5).fill(Math.fround(0.1)));
    assert.deepEqual(start(5, 'bias'), [0]);
  });
  for (const kernels of ['js', 'wasm'] as const) {
    it(`${kernels}: one sgd step with weight decay minus one without: -lr*wd*w on the three kernels, exactly 0 on every other parameter`, () => {
      const lr = 0.05, wd = 0.3;
      const data = randomData([4, 4, 2], 1, 16, 7);
      const run = (weightDecay: number) => {
        const t = new Trainer(makeConfig([4, 4, 2], list, { lr, weightDecay, batch: 8, steps: 1 }), data, { kernels });
        const before = t.net.layers.map(l => l.params.map(p => Float32Array.from(p.w.v)));
        t.trainSteps(1);
        return { before, after: t.net.layers.map(l => l.params.map(p => Float32Array.from(p.w.v))), names: t.net.layers.map(l => l.params.map(p => p.name)) };
      };
      const plain = run(0), decayed = run(wd);
      let kernelsSeen = 0;
      decayed.names.forEach((names, i) => names.forEach((name, j) => {
        const w0 = decayed.before[i][j], diff = Array.from(decayed.after[i][j], (v, e) => v - plain.after[i][j][e]);
        assert.deepEqual(Array.from(w0), Array.from(plain.before[i][j]), 'both runs start from the same weights');
        if (name !== 'kernel') { assert.ok(diff.every(d => d === 0), `layer ${i} ${name}: not decayed, got ${diff}`); return; }
        kernelsSeen++;
        diff.forEach((d, e) => assert.ok(Math.abs(d - -lr * wd * w0[e]) <= 1e-6, `layer ${i} kernel[${e}]: ${d} against ${-lr * wd * w0[e]}`));
      }));
      assert.equal(kernelsSeen, 3, 'the conv kernel and both dense kernels');
    });
  }
});

/**
 * A conv layer with a per-channel prelu, with and without bias, against TensorFlow.js: the output, dL/dz and
 * the kernel, bias and alpha gradients. Two images take the weight gradient's grouped path (a part per group of
 * images, summed in order); one image the single GEMM.
 */
describe('conv2d with prelu (per-channel slopes) against tf.conv2d and tf.prelu', () => {
  for (const kernels of ['js', 'wasm'] as const) for (const [rows, useBias] of [[2, true], [1, false]] as const) {
    it(`${kernels}: ${rows} image${rows > 1 ? 's' : ''}, ${useBias ? 'with' : 'without'} bias: output and every gradient`, () => {
      const [H, Wd, C, F] = [5, 5, 2, 3];
      const n = new Network(makeConfig([H, Wd, C], [
        { type: 'conv2d', filters: F, kernel: [3, 3], padding: 'same', activation: 'prelu', useBias }, { type: 'flatten' }, { type: 'dense', units: 1 },
      ]), { rows, kernels }).commit();
      const conv = n.layers[0];
      const param = (name: string) => conv.params.find(p => p.name === name);
      const w = Float32Array.from({ length: 9 * C * F }, (_, i) => Math.sin(1.7 * i) * 0.4);
      const b = useBias ? Float32Array.from([0.3, -0.2, 0.05]) : new Float32Array(F), alpha = Float32Array.from([0.1, 0.35, -0.2]);
      param('kernel')!.w.v.set(w); param('alpha')!.w.v.set(alpha);
      if (useBias) param('bias')!.w.v.set(b);
      const x = Float32Array.from({ length: rows * H * Wd * C }, (_, i) => Math.cos(0.9 * i) * 1.5);
      n.input.v.set(x);
      conv.forward(n.input, rows, 'train');
      const g = Float32Array.from({ length: rows * H * Wd * F }, (_, i) => Math.sin(0.31 * i + 1));
      const f = (xt: tf.Tensor4D, wt: tf.Tensor4D, bt: tf.Tensor1D, at: tf.Tensor1D) =>
        tf.prelu(tf.add(tf.conv2d(xt, wt, 1, 'same'), bt), at);
      const [xt, wt, bt, at] = [tf.tensor4d(x, [rows, H, Wd, C]), tf.tensor4d(w, [3, 3, C, F]), tf.tensor1d(b), tf.tensor1d(alpha)];
      const near = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
        assert.equal(got.length, want.length, what);
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `${what}[${i}]: ${got[i]} against ${want[i]}`);
      };
      near(conv.out.v.slice(0, g.length), f(xt, wt, bt, at).dataSync(), 'output');
      conv.dOut.v.set(g);
      conv.backward(n.input, null, rows, true);
      const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(xt, a as tf.Tensor4D, c as tf.Tensor1D, d as tf.Tensor1D), tf.tensor4d(g, [rows, H, Wd, F]))))([wt, bt, at]);
      near(param('kernel')!.g.v, grads[0].dataSync(), 'kernel gradient');
      if (useBias) near(param('bias')!.g.v, grads[1].dataSync(), 'bias gradient');
      near(param('alpha')!.g.v, grads[2].dataSync(), 'alpha gradient');
    });
  }
});
