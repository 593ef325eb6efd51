/**
 * The wasm convolution kernels (im2col, col2im, max pooling, column sums, the blocked GEMM) on the shapes
 * that take their fast paths: channel counts that are multiples of 4 (whole f32x4 runs), a remainder channel
 * count, 2x2 windows, stride 2, 'same' padding. Oracle: TensorFlow.js (cpu backend) for the forward output and
 * every gradient of a two-conv net; the plain loops of the JS kernels (the implementation the tfjs oracle
 * tests validated first) for odd geometries and NaN handling, which tfjs does not pin down.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { Network } from '../../../src/core/network';
import { jsKernels, loadKernels, wasmAvailable, type Kernels } from '../../../src/core/kernels';
import { Rng } from '../../../src/core/rng';
import type { Conv2D } from '../../../src/core/layers';
import { makeConfig } from './helpers';

function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0, s = 0;
  assert.equal(ours.length, ref.length);
  for (let i = 0; i < ref.length; i++) { d = Math.max(d, Math.abs(ours[i] - ref[i])); s = Math.max(s, Math.abs(ref[i])); }
  return d / Math.max(s, 1e-6);
}

/**
 * A training forward pass of `rows` N(0,1) inputs, then a backward pass from N(0,1) gradients at the output of the
 * third layer (seeded): the inputs, that layer and its gradients, for the oracle to redo.
 */
function forwardBackward(net: Network, rows: number, seed: number) {
  const rng = new Rng(seed);
  const xs = Float32Array.from({ length: rows * net.inputSize }, () => rng.normal());
  net.input.v.set(xs);
  net.forward(rows, 'train');
  const last = net.layers[2];
  const R = Float32Array.from({ length: rows * last.outSize }, () => rng.normal());
  last.dOut.v.set(R);
  net.backward(rows, true);
  return { xs, last, R };
}

describe('convolution kernels', function () {
  this.timeout(60000);
  before(async function () {
    if (!wasmAvailable()) this.skip();
    await tf.setBackend('cpu'); await tf.ready();
  });

  for (const [C, label] of [[4, 'C=4 (whole f32x4 runs)'], [3, 'C=3 (scalar remainder)'], [8, 'C=8, 5x3 kernel']] as const) {
    it(`two convs and a max pool against TensorFlow.js: forward and every gradient, ${label}`, () => {
      const B = 3, k2: [number, number] = C === 8 ? [5, 3] : [3, 2];
      const config = makeConfig([11, 10, C], [
        { type: 'conv2d', filters: 8, kernel: [3, 3], padding: 'same', activation: 'linear' },
        { type: 'conv2d', filters: 12, kernel: k2, stride: [2, 2], padding: 'valid', activation: 'linear' },
        { type: 'maxpool2d', size: [2, 2], stride: [2, 2], padding: 'same' },
      ]);
      const net = new Network(config, { rows: B, kernels: 'wasm' }).commit();
      const { xs, last, R } = forwardBackward(net, B, 7);

      const [c1, c2] = [net.layers[0] as Conv2D, net.layers[1] as Conv2D];
      const vars = [c1.W, c1.b!, c2.W, c2.b!].map(p => tf.variable(tf.tensor(Float32Array.from(p.w.v), p.shape)));
      const x = tf.tensor4d(xs, [B, ...config.model.input] as [number, number, number, number]);
      const f = () => {
        let h = tf.add(tf.conv2d(x, vars[0] as tf.Tensor4D, 1, 'same'), vars[1]) as tf.Tensor4D;
        h = tf.add(tf.conv2d(h, vars[2] as tf.Tensor4D, 2, 'valid'), vars[3]) as tf.Tensor4D;
        return tf.maxPool(h, 2, 2, 'same');
      };
      const out = f();
      assert.deepEqual(out.shape.slice(1), last.outShape);
      assert.ok(relErr(last.out.v.subarray(0, B * last.outSize), out.dataSync()) < 1e-5, 'forward');
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(f(), tf.tensor(R, out.shape))) as tf.Scalar, vars);
      [c1.W, c1.b!, c2.W, c2.b!].forEach((p, i) => {
        const e = relErr(p.g.v, grads[vars[i].name].dataSync());
        assert.ok(e < 1e-4, `gradient of ${['conv1 kernel', 'conv1 bias', 'conv2 kernel', 'conv2 bias'][i]}: relative error ${e}`);
      });
      vars.forEach(v => v.dispose());
    });
  }

  it('a conv on one input channel (computed directly, no im2col) and a conv and max pool after it against TensorFlow.js: forward and every gradient, relu and tanh, same and valid, strides', () => {
    for (const [act, pad, k1, s1, kernels] of [['relu', 'same', [3, 3], [1, 1], 'wasm'], ['tanh', 'valid', [4, 3], [2, 1], 'wasm'], ['relu', 'valid', [3, 3], [1, 1], 'js']] as const) {
      const B = 5;
      const config = makeConfig([13, 11, 1], [
        { type: 'conv2d', filters: 12, kernel: [k1[0], k1[1]], stride: [s1[0], s1[1]], padding: pad, activation: act },
        { type: 'conv2d', filters: 8, kernel: [3, 2], padding: 'valid', activation: 'linear' },
        { type: 'maxpool2d', size: [2, 2], stride: [2, 2], padding: 'same' },
      ]);
      const net = new Network(config, { rows: B, kernels }).commit();
      const [c1, c2] = [net.layers[0] as Conv2D, net.layers[1] as Conv2D];
      assert.ok(c1.direct && !c2.direct, 'the first conv takes the direct kernels');
      const { xs, last, R } = forwardBackward(net, B, 17);

      const vars = [c1.W, c1.b!, c2.W, c2.b!].map(p => tf.variable(tf.tensor(Float32Array.from(p.w.v), p.shape)));
      const x = tf.tensor4d(xs, [B, ...config.model.input] as [number, number, number, number]);
      const z1 = () => tf.add(tf.conv2d(x, vars[0] as tf.Tensor4D, [s1[0], s1[1]], pad), vars[1]) as tf.Tensor4D;
      const f = () => {
        const h = act === 'relu' ? tf.relu(z1()) : tf.tanh(z1());
        return tf.maxPool(tf.add(tf.conv2d(h, vars[2] as tf.Tensor4D, 1, 'valid'), vars[3]) as tf.Tensor4D, 2, 2, 'same');
      };
      const label = `${act} ${pad} ${k1} stride ${s1} (${kernels})`;
      const out = f();
      assert.deepEqual(out.shape.slice(1), last.outShape);
      assert.ok(relErr(c1.z!.v.subarray(0, B * c1.outSize), z1().dataSync()) < 1e-5, `${label}: conv 1's pre-activation`);
      assert.ok(relErr(last.out.v.subarray(0, B * last.outSize), out.dataSync()) < 1e-5, `${label}: forward`);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(f(), tf.tensor(R, out.shape))) as tf.Scalar, vars);
      [c1.W, c1.b!, c2.W, c2.b!].forEach((p, i) => {
        const e = relErr(p.g.v, grads[vars[i].name].dataSync());
        assert.ok(e < 1e-4, `${label}: gradient of ${['conv1 kernel', 'conv1 bias', 'conv2 kernel', 'conv2 bias'][i]}: relative error ${e}`);
      });
      // the layer's dL/dz (what the probes read as gradRms): dL/da times f'(z), as tfjs has it
      const dz1 = tf.grad((z: tf.Tensor) => {
        const h = (act === 'relu' ? tf.relu(z) : tf.tanh(z)) as tf.Tensor4D;
        return tf.sum(tf.mul(tf.maxPool(tf.add(tf.conv2d(h, vars[2] as tf.Tensor4D, 1, 'valid'), vars[3]) as tf.Tensor4D, 2, 2, 'same'), tf.tensor(R, out.shape))) as tf.Scalar;
      })(z1());
      assert.ok(relErr(c1.dOut.v.subarray(0, B * c1.outSize), dz1.dataSync()) < 1e-5, `${label}: conv 1's dL/dz`);
      vars.forEach(v => v.dispose());
    }
  });

  /** A one-channel conv's geometry as convDirect reads it, and the im2col geometry of the same conv. */
  function directCases() {
    const axis = (n: number, k: number, s: number, same: boolean) => {
      if (!same) return { out: Math.floor((n - k) / s) + 1, pad: 0 };
      const out = Math.ceil(n / s); return { out, pad: Math.floor(Math.max((out - 1) * s + k - n, 0) / 2) };
    };
    // [H, W, kh, kw, sh, sw, same, F, rows]: C1's conv 1, odd sizes, filters not a multiple of 8 or 4, strides, padding
    const list = [[28, 28, 3, 3, 1, 1, false, 32, 3], [11, 10, 3, 3, 1, 1, true, 12, 3], [7, 13, 5, 4, 2, 1, true, 5, 4],
      [6, 5, 2, 3, 3, 2, false, 3, 5], [9, 9, 1, 1, 2, 2, true, 8, 2], [5, 7, 3, 3, 1, 1, true, 17, 1]] as const;
    return list.map(([H, W, kh, kw, sh, sw, same, F, rows]) => {
      const a = axis(H, kh, sh, same), b = axis(W, kw, sw, same);
      const g = [H, W, 1, kh, kw, sh, sw, a.pad, b.pad, a.out, b.out] as const;
      // the zero frames convDirect copies the images into when a window leaves the image (Conv2D.frameSize)
      const Hp = (a.out - 1) * sh + kh, Wp = (b.out - 1) * sw + kw, framed = a.pad > 0 || b.pad > 0 || Hp > H || Wp > W;
      const frames = framed ? rows * Hp * Wp : 0;
      const desc = (xp: number) => [H, W, kh, kw, sh, sw, a.pad, b.pad, a.out, b.out, F, framed ? Hp : 0, framed ? Wp : 0, framed ? xp : 0];
      return { H, W, kh, kw, F, rows, OH: a.out, OW: b.out, g, frames, desc, label: `${H}x${W} kernel ${kh}x${kw} stride ${sh}x${sw} ${same ? 'same' : 'valid'} F=${F} rows=${rows}` };
    });
  }

  it('a conv on one input channel computed directly writes what im2col, the GEMM and bias + activation write, bit for bit, on both kernel sets', () => {
    const rng = new Rng(23);
    for (const c of directCases()) {
      const { H, W, kh, kw, F, rows, OH, OW, g } = c, nx = rows * H * W, P = rows * OH * OW, KK = kh * kw;
      for (const kernels of ['wasm', 'js'] as const) for (const act of [0, 1, 2, 3]) for (const withBias of [true, false]) {
        const desc = 64, x = desc + 16, w = x + nx + 4, bias = w + KK * F + 8, z = bias + F + 8, out = z + P * F + 4, cols = out + P * F + 4;
        const z2 = cols + P * KK + 4, out2 = z2 + P * F + 4, pack = out2 + P * F + 4, xp = pack + 384 * 128 + 64, end = xp + c.frames + 4;
        const k = kernels === 'wasm' ? loadKernels('wasm', end) : jsKernels(new Float32Array(end + 64));
        const r = new Rng(rng.int(1 << 30));
        for (let i = x; i < cols; i++) k.H[i] = r.normal();
        k.H[x + r.int(nx)] = NaN; // one NaN input: the same NaNs through both paths
        new Int32Array(k.H.buffer, k.H.byteOffset + desc * 4, 14).set(c.desc(xp));
        const b = withBias ? bias : 0;
        k.convDirect(desc, x, 0, rows, w, b, act, z, act ? out : z);
        // the reference: the layer's im2col path (Conv2D.forward before this kernel)
        k.im2col(x, rows, ...g, cols);
        k.gemm(cols, KK, 1, w, F, 1, z2, F, P, KK, F, 1, 0, pack);
        if (b && act) k.biasActForward(act, z2, b, out2, P, F);
        else if (b) k.biasAct(z2, b, P, F, 0);
        else if (act) k.actForward(act, z2, out2, P * F);
        const bits = (p: number, n: number) => new Int32Array(k.H.buffer, k.H.byteOffset + p * 4, n);
        const what = `${kernels} ${c.label} act ${act} ${withBias ? 'bias' : 'no bias'}`;
        assert.deepEqual(bits(z, P * F), bits(z2, P * F), `${what}: z`);
        if (act) assert.deepEqual(bits(out, P * F), bits(out2, P * F), `${what}: out`);
      }
    }
  });

  it('a conv on one input channel: its direct weight and bias gradient equals x-under-the-window times dz summed in float64, and with relu/sigmoid/tanh applied in its groups the separate backward\'s numbers', () => {
    const rng = new Rng(29);
    for (const c of directCases()) {
      const { H, W, kh, kw, F, rows, OH, OW } = c, nx = rows * H * W, S = OH * OW, P = rows * S, KK = kh * kw;
      const ipg = rows > 2 ? 2 : 1, G = Math.ceil(rows / ipg), stride = ((KK + 1) * F + 3) & ~3;
      const desc = 64, x = desc + 16, dz = x + nx + 4, z = dz + P * F + 4, a = z + P * F + 4, parts = a + P * F + 4;
      const dz2 = parts + G * stride + 4, parts2 = dz2 + P * F + 4, xp = parts2 + G * stride + 4, zs = xp + c.frames + 4, end = zs + P * F + 4;
      const seed = rng.int(1 << 30);
      const mems = (['wasm', 'js'] as const).map(kind => {
        const k = kind === 'wasm' ? loadKernels('wasm', end) : jsKernels(new Float32Array(end + 64));
        const r = new Rng(seed);
        for (let i = x; i < parts; i++) k.H[i] = r.normal();
        for (let i = 0; i < P * F; i++) k.H[a + i] = Math.tanh(k.H[z + i]);
        k.H.copyWithin(dz2, dz, dz + P * F);
        new Int32Array(k.H.buffer, k.H.byteOffset + desc * 4, 14).set(c.desc(xp));
        // the frames of the images, as the forward pass writes them (the gradient reads them when there are any)
        if (c.frames) k.convDirect(desc, x, 0, rows, dz2, 0, 0, zs, zs);
        return k;
      });
      for (const k of mems) {
        const what = `${k.kind} ${c.label}`;
        k.convDirectGrad(desc, x, dz, rows, ipg, 0, G, parts, stride, 1, z, a, 0);
        // float64 reference, from the definition: x under tap t of each output position times dz
        const [, , , , sh, sw, padT, padL] = c.desc(0);
        const refW = new Float64Array(KK * F), refB = new Float64Array(F);
        for (let g = 0; g < G; g++) {
          refW.fill(0); refB.fill(0);
          for (let r = g * ipg; r < Math.min(rows, (g + 1) * ipg); r++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
            const p = (r * OH + oh) * OW + ow;
            for (let f = 0; f < F; f++) {
              const d = k.H[dz + p * F + f];
              refB[f] += d;
              for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
                const ih = oh * sh + i - padT, iw = ow * sw + j - padL;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W) refW[(i * kw + j) * F + f] += k.H[x + r * H * W + ih * W + iw] * d;
              }
            }
          }
          const part = parts + g * stride;
          assert.ok(relErr(k.H.subarray(part, part + KK * F), refW) < 1e-5, `${what} group ${g}: weight gradient`);
          assert.ok(relErr(k.H.subarray(part + KK * F, part + KK * F + F), refB) < 1e-5, `${what} group ${g}: bias gradient`);
        }
        assert.equal(k.H[parts + (G - 1) * stride + (KK + 1) * F], 0, `${what}: wrote past the last part`);
        // relu, sigmoid, tanh applied to each group's dz inside: the separate actBackward's dz, and the same sums
        for (const act of [1, 2, 3]) {
          k.H.copyWithin(dz, dz2, dz2 + P * F);
          k.convDirectGrad(desc, x, dz, rows, ipg, 0, G, parts, stride, 1, z, a, act);
          const ref = k.H.slice(dz2, dz2 + P * F);
          const fresh = k.kind === 'wasm' ? loadKernels('wasm', P * F * 3 + 64) : jsKernels(new Float32Array(P * F * 3 + 64));
          fresh.H.set(k.H.subarray(z, z + P * F), 0); fresh.H.set(k.H.subarray(a, a + P * F), P * F); fresh.H.set(ref, 2 * P * F);
          fresh.actBackward(act, 0, P * F, 2 * P * F, P * F);
          const bits = (M: Float32Array, p: number, n: number) => new Int32Array(M.buffer, M.byteOffset + p * 4, n);
          assert.deepEqual(bits(k.H, dz, P * F), bits(fresh.H, 2 * P * F, P * F), `${what} act ${act}: dz`);
          k.H.copyWithin(parts2, parts, parts + G * stride);
          k.convDirectGrad(desc, x, dz, rows, ipg, 0, G, parts, stride, 1, z, a, 0);
          assert.deepEqual(bits(k.H, parts, G * stride), bits(k.H, parts2, G * stride), `${what} act ${act}: the sums`);
          fresh.dispose();
        }
        k.H.copyWithin(dz, dz2, dz2 + P * F);
      }
      // wasm and the JS reference sum in the same order: the same bits
      const [wm, jm] = mems.map(k => { k.convDirectGrad(desc, x, dz, rows, ipg, 0, G, parts, stride, 1, z, a, 0); return new Int32Array(k.H.buffer, k.H.byteOffset + parts * 4, G * stride); });
      assert.deepEqual(wm, jm, `${c.label}: wasm and js parts`);
    }
  });

  it('relu/sigmoid/tanh backward in pieces (convDirectGrad\'s groups of 45 values, a tail of 1 each) gives the bits of one call over the whole array', () => {
    // 3x3 valid on 5x5, F = 5: 45 values an image, one image a group. The groups end where the whole array's
    // lanes do not, so a tail computed in another order than the lanes would change those values.
    const rows = 8, S = 9, F = 5, P = rows * S, KK = 9, stride = ((KK + 1) * F + 3) & ~3;
    const desc = 64, x = desc + 16, dz = x + rows * 25 + 4, z = dz + P * F + 4, a = z + P * F + 4, ref = a + P * F + 4, parts = ref + P * F + 4, end = parts + rows * stride + 4;
    for (const kernels of ['wasm', 'js'] as const) for (const act of [1, 2, 3]) {
      const k = kernels === 'wasm' ? loadKernels('wasm', end) : jsKernels(new Float32Array(end + 64));
      const r = new Rng(31 + act);
      for (let i = x; i < a; i++) k.H[i] = r.normal();
      for (let i = 0; i < P * F; i++) k.H[a + i] = act === 2 ? 1 / (1 + Math.exp(-k.H[z + i])) : Math.tanh(k.H[z + i]);
      k.H.copyWithin(ref, dz, dz + P * F);
      new Int32Array(k.H.buffer, k.H.byteOffset + desc * 4, 14).set([5, 5, 3, 3, 1, 1, 0, 0, 3, 3, F, 0, 0, 0]);
      k.convDirectGrad(desc, x, dz, rows, 1, 0, rows, parts, stride, 1, z, a, act);
      k.actBackward(act, z, a, ref, P * F);
      const bits = (p: number) => new Int32Array(k.H.buffer, k.H.byteOffset + p * 4, P * F);
      assert.deepEqual(bits(dz), bits(ref), `${kernels} act ${act}: dz`);
      k.dispose?.();
    }
  });

  /** The same call on both kernel sets over copies of the same memory; returns both memories. */
  function both(fill: (H: Float32Array) => void, run: (k: Kernels) => void, floats: number): [Float32Array, Float32Array] {
    const w = loadKernels('wasm', floats), j = jsKernels(new Float32Array(w.H.length));
    fill(w.H); j.H.set(w.H);
    run(w); run(j);
    return [w.H, j.H];
  }

  it('im2col, col2im and max pooling equal the plain loops on odd geometries (padding, stride, 1..9 channels, NaN)', () => {
    const rng = new Rng(11);
    for (let t = 0; t < 40; t++) {
      // the first cases are 2x2/2 pools over whole f32x4 channel runs with NaNs (the pool's fast path)
      const fixed = t < 4;
      const H = fixed ? 6 + t : 3 + rng.int(8), W = fixed ? 7 : 3 + rng.int(8), C = fixed ? 4 * (1 + (t & 1)) + (t >> 1) : 1 + rng.int(9), rows = 1 + rng.int(3);
      const kh = fixed ? 2 : 1 + rng.int(3), kw = fixed ? 2 : 1 + rng.int(4), sh = fixed ? 2 : 1 + rng.int(2), sw = fixed ? 2 : 1 + rng.int(3);
      const same = fixed ? t < 2 : rng.next() < 0.5;
      const axis = (n: number, k: number, s: number) => {
        if (!same) return { out: Math.floor((n - k) / s) + 1, pad: 0 };
        const out = Math.ceil(n / s); return { out, pad: Math.floor(Math.max((out - 1) * s + k - n, 0) / 2) };
      };
      const a = axis(H, kh, sh), b = axis(W, kw, sw);
      if (a.out < 1 || b.out < 1) continue;
      const nx = rows * H * W * C, KK = kh * kw * C, P = rows * a.out * b.out;
      // regions: x, cols, col2im's dx, pool output, pool's dx, argmax, column sums (4 floats of slack between)
      const x = 64, cols = x + nx + 4, dx = cols + P * KK + 4, out = dx + nx + 4, pdx = out + P * C + 4, arg = pdx + nx + 4, sums = arg + P * C + 4, end = sums + C + 4;
      const g = [H, W, C, kh, kw, sh, sw, a.pad, b.pad, a.out, b.out] as const;
      const seed = rng.int(1 << 30), nans = fixed ? 6 : t % 3 === 0 ? 1 : 0;
      const [wm, jm] = both(M => {
        const r = new Rng(seed);
        for (let i = x; i < end; i++) M[i] = r.normal();
        for (let q = 0; q < nans; q++) M[x + r.int(nx)] = NaN;
      }, k => {
        k.im2col(x, rows, ...g, cols);
        k.col2im(cols, rows, ...g, dx);
        k.maxPool(x, rows, H, W, C, kh, kw, sh, sw, a.pad, b.pad, a.out, b.out, out, arg);
        k.maxPoolBack(out, arg, P * C, pdx, 0, nx);
        k.colSums(x, rows * H * W, C, sums);
      }, end + 64);
      const same32 = (from: number, n: number, what: string) => {
        for (let i = from; i < from + n + 4; i++) {
          const u = wm[i], v = jm[i];
          assert.ok(Object.is(u, v), `${what} differs at ${i - from} (${JSON.stringify({ H, W, C, rows, kh, kw, sh, sw, same })}): ${u} vs ${v}`);
        }
      };
      same32(cols, P * KK, 'im2col');
      same32(dx, nx, 'col2im');
      same32(out, P * C, 'max pool');
      same32(pdx, nx, 'max pool gradient');
      same32(sums, C, 'column sums');
      assert.deepEqual(new Int32Array(wm.buffer, wm.byteOffset + arg * 4, P * C), new Int32Array(jm.buffer, jm.byteOffset + arg * 4, P * C), 'argmax');
    }
  });

  it('a conv weight gradient summed over groups of images equals cols^T dz and dz\'s column sums in float64, on both kernel sets', () => {
    const rng = new Rng(9);
    // [positions per image, images, KK, F, images per group]: ragged last groups, odd KK and F, one group
    for (const [S, rows, KK, F, ipg] of [[121, 32, 288, 64, 2], [25, 7, 9, 5, 3], [3, 5, 37, 13, 1], [10, 4, 12, 8, 4]]) {
      const P = S * rows, per = S * ipg, G = Math.ceil(rows / ipg), stride = ((KK + 1) * F + 3) & ~3;
      const cols = 64, dz = cols + P * KK + 4, parts = dz + P * F + 4, wg = parts + G * stride + 4, bg = wg + KK * F + 4, pack = bg + F + 4;
      const seed = rng.int(1 << 30);
      const [wm, jm] = both(H => { const r = new Rng(seed); for (let i = cols; i < parts; i++) H[i] = r.normal(); }, k => {
        k.convWeightGrad(cols, dz, KK, F, P, per, 0, G, parts, stride, 1, pack);
        k.sumParts(parts, G, stride, KK * F, wg);
        k.sumParts(parts + KK * F, G, stride, F, bg);
      }, pack + 384 * 128 + 64);
      const refW = new Float64Array(KK * F), refB = new Float64Array(F);
      for (let p = 0; p < P; p++) for (let j = 0; j < F; j++) {
        const d = wm[dz + p * F + j];
        refB[j] += d;
        for (let i = 0; i < KK; i++) refW[i * F + j] += wm[cols + p * KK + i] * d;
      }
      for (const [M, label] of [[wm, 'wasm'], [jm, 'js']] as const) {
        const shape = `${label} S=${S} rows=${rows} KK=${KK} F=${F} ${ipg} images a group`;
        assert.ok(relErr(M.subarray(wg, wg + KK * F), refW) < 1e-5, `${shape}: weight gradient`);
        assert.ok(relErr(M.subarray(bg, bg + F), refB) < 1e-5, `${shape}: bias gradient`);
        assert.equal(M[wg + KK * F], 0, `${shape}: wrote past the weight gradient`);
        assert.equal(M[bg + F], 0, `${shape}: wrote past the bias gradient`);
      }
    }
  });

  it('max pooling and its gradient by chunks of images (threads) equal one call over the batch, bit for bit; bias + activation in one pass equals biasAct then the activation', () => {
    const rng = new Rng(13);
    for (const [H, W, C, rows, same] of [[6, 7, 4, 5, true], [11, 11, 64, 3, false], [5, 4, 3, 4, true]] as const) {
      const axis = (n: number) => same ? { out: Math.ceil(n / 2), pad: 0 } : { out: Math.floor((n - 2) / 2) + 1, pad: 0 };
      const a = axis(H), b = axis(W), img = H * W * C, oimg = a.out * b.out * C, nx = rows * img;
      const x = 64, out = x + nx + 4, arg = out + rows * oimg + 4, out2 = arg + rows * oimg + 4, arg2 = out2 + rows * oimg + 4;
      const dx = arg2 + rows * oimg + 4, dx2 = dx + nx + 4, end = dx2 + nx + 4;
      const k = loadKernels('wasm', end + 64), M = k.H, I = new Int32Array(M.buffer, M.byteOffset, M.length);
      const r = new Rng(rng.int(1 << 30));
      for (let i = x; i < end; i++) M[i] = r.normal();
      M[x + 5] = NaN;
      k.maxPool(x, rows, H, W, C, 2, 2, 2, 2, a.pad, b.pad, a.out, b.out, out, arg);
      k.maxPoolBack(out, arg, rows * oimg, dx, 0, nx);
      for (let i = 0; i < rows; i++) {
        k.maxPool(x + i * img, 1, H, W, C, 2, 2, 2, 2, a.pad, b.pad, a.out, b.out, out2 + i * oimg, arg2 + i * oimg, i * img);
        k.maxPoolBack(out2 + i * oimg, arg2 + i * oimg, oimg, dx2, i * img, img);
      }
      const shape = JSON.stringify({ H, W, C, rows, same });
      assert.deepEqual(I.subarray(arg2, arg2 + rows * oimg), I.subarray(arg, arg + rows * oimg), `${shape}: argmax`);
      for (let i = 0; i < rows * oimg; i++) assert.ok(Object.is(M[out2 + i], M[out + i]), `${shape}: max at ${i}`);
      for (let i = 0; i < nx; i++) assert.ok(Object.is(M[dx2 + i], M[dx + i]), `${shape}: gradient at ${i}`);
    }
    for (const kind of [1, 2, 3]) for (const [rows, n] of [[7, 32], [5, 13], [3, 3]]) {
      const z = 64, bias = z + rows * n + 4, o = bias + n + 4, z2 = o + rows * n + 4, o2 = z2 + rows * n + 4, end = o2 + rows * n + 4;
      for (const k of [loadKernels('wasm', end + 64), jsKernels(new Float32Array(end + 64))]) {
        const M = k.H, r = new Rng(kind * 100 + n);
        for (let i = z; i < o; i++) M[i] = 4 * r.normal();
        M.copyWithin(z2, z, z + rows * n);
        k.biasActForward(kind, z, bias, o, rows, n);
        k.biasAct(z2, bias, rows, n, 0);
        k.actForward(kind, z2, o2, rows * n);
        for (let i = 0; i < rows * n; i++) {
          assert.ok(Object.is(M[z + i], M[z2 + i]) && Object.is(M[o + i], M[o2 + i]), `${k.kind} kind ${kind} ${rows}x${n} at ${i}: ${M[o + i]} vs ${M[o2 + i]}`);
        }
      }
    }
  });

  it('column sums (bias gradients) of 32 columns and more equal the plain row-by-row loop bit for bit, NaN and Inf included', () => {
    for (const [rows, n] of [[5, 32], [300, 64], [7, 37], [3, 70], [1, 128], [0, 33]]) {
      const m = 64, out = m + rows * n + 4, end = out + n + 4;
      const [wm, jm] = both(H => {
        const r = new Rng(rows * 1000 + n);
        for (let i = m; i < end; i++) H[i] = r.normal();
        if (rows > 2) { H[m + n + 3] = NaN; H[m + 2 * n + 5] = Infinity; }
      }, k => k.colSums(m, rows, n, out), end + 64);
      for (let j = 0; j < n + 4; j++) assert.ok(Object.is(wm[out + j], jm[out + j]), `${rows}x${n}: column ${j}: ${wm[out + j]} vs ${jm[out + j]}`);
    }
  });

  it('the blocked GEMM equals the reference loops up to float rounding, for every operand layout and ragged sizes', () => {
    const rng = new Rng(5);
    for (const [M, K, N] of [[1, 1, 1], [5, 3, 9], [13, 400, 17], [4, 800, 136], [70, 9, 33], [3, 385, 7]]) {
      for (const layout of ['NN', 'TN', 'NT'] as const) {
        const a = 64, b = a + M * K + 8, c = b + K * N + 8, pack = c + M * N + 8;
        const args = layout === 'NN' ? [a, K, 1, b, N, 1] : layout === 'TN' ? [a, 1, M, b, N, 1] : [a, K, 1, b, 1, K];
        const seed = rng.int(1 << 30);
        const [wm, jm] = both(H => { const r = new Rng(seed); for (let i = a; i < pack; i++) H[i] = r.normal(); },
          k => k.gemm(...(args as [number, number, number, number, number, number]), c, N, M, K, N, 1, layout === 'TN' ? 1 : 0, pack), pack + 384 * 128 + 64);
        const e = relErr(wm.subarray(c, c + M * N), jm.subarray(c, c + M * N));
        assert.ok(e < 1e-5, `${layout} ${M}x${K}x${N}: relative error ${e}`);
        assert.equal(wm[c + M * N], jm[c + M * N], `${layout} ${M}x${K}x${N}: wrote past C`);
      }
    }
  });
});
