/**
 * The update rules one step at a time, with expected values computed independently in float64:
 * - a linear layer with mse has a gradient we can write down (dL/dW = 2/(B*O) X^T (XW + b - Y)), so weight
 *   decay, global-norm clipping and the update ratio are checked through the real Trainer against it;
 * - adam and rmsprop with a non-tiny epsilon (1e-3, where its placement changes the numbers) against the
 *   Keras 3 formulas (keras/src/optimizers/{adam,rmsprop}.py update_step), and rmsprop against tfjs too.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { TrainSpec } from '../../../src/model';
import { Trainer } from '../../../src/core/train';
import { Network } from '../../../src/core/network';
import { Optimizer } from '../../../src/core/optimizers';
import { makeConfig, randomData } from './helpers';
import { mtModuleOrNull, wasmAvailable } from '../../../src/core/kernels';

const KERNELS = ['js', 'wasm'] as const;
const I = 3, O = 2, B = 4;
const W0 = [0.5, -0.3, 0.8, 0.1, -0.6, 0.4]; // [I, O] row-major
const B0 = [0.2, -0.1];

function close(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, what);
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol * Math.max(scale, 1e-3), `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

/** A Trainer on one dense linear layer with known weights; the batch is the whole training split. */
function linearTrainer(kernels: 'js' | 'wasm', t: Partial<TrainSpec>, steps = 1) {
  const c = makeConfig([I], [{ type: 'dense', units: O }], { batch: B, steps, loss: 'mse', ...t });
  const data = randomData([I], O, B, 41);
  const tr = new Trainer(c, data, { kernels });
  const [W, b] = tr.net.layers[0].params;
  W.w.v.set(W0); b.w.v.set(B0);
  return { tr, W, b, x: Array.from(data.train.x), y: Array.from(data.train.y) };
}

/** dL/dW and dL/db of L = mean over B*O of (xW + b - y)^2, in float64. */
function linearGrads(x: number[], y: number[], W: number[], b: number[]): { gW: number[]; gb: number[] } {
  const gW = new Array(I * O).fill(0), gb = new Array(O).fill(0);
  for (let s = 0; s < B; s++) for (let j = 0; j < O; j++) {
    let p = b[j];
    for (let i = 0; i < I; i++) p += x[s * I + i] * W[i * O + j];
    const d = 2 * (p - y[s * O + j]) / (B * O);
    gb[j] += d;
    for (let i = 0; i < I; i++) gW[i * O + j] += d * x[s * I + i];
  }
  return { gW, gb };
}

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('weight decay, clipping and the update ratio through the Trainer (hand-computed sgd steps)', () => {
  for (const kernels of KERNELS) {
    it(`${kernels}: decoupled weight decay shrinks the kernel by lr*wd*w, not the bias`, () => {
      const lr = 0.1, wd = 0.2;
      const { tr, W, b, x, y } = linearTrainer(kernels, { lr, weightDecay: wd });
      const { gW, gb } = linearGrads(x, y, W0, B0);
      tr.trainSteps(1);
      close(W.w.v, W0.map((w, i) => w - lr * wd * w - lr * gW[i]), 1e-5, 'kernel');
      close(b.w.v, B0.map((v, j) => v - lr * gb[j]), 1e-5, 'bias');
    });
    it(`${kernels}: global-norm clipping scales every gradient by clip/||g|| when ||g|| > clip, else leaves it`, () => {
      const lr = 0.1;
      const { gW, gb } = (() => { const s = linearTrainer(kernels, { lr }); return linearGrads(s.x, s.y, W0, B0); })();
      const g = norm([...gW, ...gb]);
      for (const clip of [0.25 * g, 4 * g]) {
        const { tr, W, b } = linearTrainer(kernels, { lr, clip });
        tr.trainSteps(1);
        const scale = Math.min(1, clip / g);
        close(W.w.v, W0.map((w, i) => w - lr * scale * gW[i]), 1e-5, `kernel, clip ${clip / g}x the norm`);
        close(b.w.v, B0.map((v, j) => v - lr * scale * gb[j]), 1e-5, `bias, clip ${clip / g}x the norm`);
      }
    });
    it(`${kernels}: clipping scales the gradient only, weight decay is not clipped`, () => {
      const lr = 0.1, wd = 0.5;
      const { tr, W, x, y } = linearTrainer(kernels, { lr, weightDecay: wd, clip: 1e-3 });
      const { gW, gb } = linearGrads(x, y, W0, B0);
      const scale = 1e-3 / norm([...gW, ...gb]);
      tr.trainSteps(1);
      close(W.w.v, W0.map((w, i) => w - lr * wd * w - lr * scale * gW[i]), 1e-5, 'kernel');
    });
    it(`${kernels}: updateRatio is ||dW|| / ||W|| of the last step (square roots of the sums of squares)`, () => {
      const lr = 0.3;
      const c = makeConfig([I], [{ type: 'dense', units: O }], { batch: B, steps: 1, loss: 'mse', lr });
      const data = randomData([I], O, B, 41);
      const tr = new Trainer(c, data, { kernels });
      tr.net.layers[0].params[0].w.v.set(W0); tr.net.layers[0].params[1].w.v.set(B0);
      const r = tr.run();
      const { gW } = linearGrads(Array.from(data.train.x), Array.from(data.train.y), W0, B0);
      const W1 = W0.map((w, i) => w - lr * gW[i]);
      const want = norm(gW.map(g => lr * g)) / norm(W1);
      const got = r.timeline[1].layers[0].updateRatio!;
      assert.ok(Math.abs(got - want) < 1e-5 * want, `updateRatio ${got}, hand-computed ${want}`);
    });
  }
});

/** One parameter vector driven by fixed gradients through our Optimizer (kernels js or wasm). */
function runOptimizer(kernels: 'js' | 'wasm', t: Partial<TrainSpec>, w0: number[], grads: number[][], gradScale: number): Float32Array {
  const c = makeConfig([w0.length], [{ type: 'dense', units: 1, useBias: false }], t);
  const net = new Network(c, { rows: 1, kernels });
  const opt = new Optimizer(c.train, net.params, net.heap);
  net.commit();
  const W = net.params[0];
  W.w.v.set(w0);
  for (const g of grads) { W.g.v.set(g); opt.step(gradScale); }
  return Float32Array.from(W.w.v);
}

const w0 = [0.7, -1.2, 0.05, 2.0];
const grads = [[0.3, -0.002, 0.01, -1.5], [0.25, 0.004, -0.02, -1.1], [-0.1, 0.001, 0.015, 0.4]];

/** Keras 3 Adam with decoupled weight decay applied first (base optimizer), float64. */
function kerasAdam(lr: number, b1: number, b2: number, eps: number, wd: number, scale: number): number[] {
  const w = w0.slice(), m = w.map(() => 0), v = w.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1, alpha = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
    for (let i = 0; i < w.length; i++) {
      w[i] -= w[i] * wd * lr;
      const gi = g[i] * scale;
      m[i] += (gi - m[i]) * (1 - b1);
      v[i] += (gi * gi - v[i]) * (1 - b2);
      w[i] -= m[i] * alpha / (Math.sqrt(v[i]) + eps);
    }
  });
  return w;
}

/** tfjs' Adam form (epsilon added to sqrt of the bias-corrected v): what the test must tell apart. */
function tfjsFormAdam(lr: number, b1: number, b2: number, eps: number): number[] {
  const w = w0.slice(), m = w.map(() => 0), v = w.map(() => 0);
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < w.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i]; v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      w[i] -= lr * (m[i] / (1 - b1 ** t)) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
    }
  });
  return w;
}

/** Keras 3 RMSprop (no momentum, not centered): v = rho v + (1-rho) g^2; w -= lr g / sqrt(v + eps). */
function kerasRmsprop(lr: number, rho: number, eps: number, wd: number, scale: number): number[] {
  const w = w0.slice(), v = w.map(() => 0);
  for (const g of grads) for (let i = 0; i < w.length; i++) {
    w[i] -= w[i] * wd * lr;
    const gi = g[i] * scale;
    v[i] = rho * v[i] + (1 - rho) * gi * gi;
    w[i] -= lr * gi / Math.sqrt(v[i] + eps);
  }
  return w;
}

describe('adam and rmsprop with epsilon 1e-3 follow the Keras 3 formulas', () => {
  const lr = 0.01, eps = 1e-3;
  for (const kernels of KERNELS) {
    it(`${kernels}: adam, 3 steps, epsilon outside the sqrt and after bias correction of the step size`, () => {
      const got = runOptimizer(kernels, { optimizer: 'adam', lr, epsilon: eps }, w0, grads, 1);
      const want = kerasAdam(lr, 0.9, 0.999, eps, 0, 1);
      close(got, want, 1e-5, 'adam');
      // The placement matters at this epsilon: the tfjs form is measurably elsewhere.
      const other = tfjsFormAdam(lr, 0.9, 0.999, eps);
      assert.ok(Math.abs(other[1] - want[1]) > 1e-4, `the two forms differ: ${other[1]} vs ${want[1]}`);
    });
    it(`${kernels}: adam with weight decay and a gradient scale (clipping)`, () => {
      const got = runOptimizer(kernels, { optimizer: 'adam', lr, epsilon: eps, weightDecay: 0.3 }, w0, grads, 0.5);
      close(got, kerasAdam(lr, 0.9, 0.999, eps, 0.3, 0.5), 1e-5, 'adam + decay + scale');
    });
    it(`${kernels}: rmsprop, 3 steps, epsilon inside the sqrt`, () => {
      const got = runOptimizer(kernels, { optimizer: 'rmsprop', lr, epsilon: eps, rho: 0.9 }, w0, grads, 1);
      close(got, kerasRmsprop(lr, 0.9, eps, 0, 1), 1e-5, 'rmsprop');
      const outside = w0.slice(), v = w0.map(() => 0);
      for (const g of grads) for (let i = 0; i < 4; i++) { v[i] = 0.9 * v[i] + 0.1 * g[i] * g[i]; outside[i] -= lr * g[i] / (Math.sqrt(v[i]) + eps); }
      assert.ok(Math.abs(outside[1] - got[1]) > 1e-4, `sqrt(v)+eps would be measurably elsewhere: ${outside[1]} vs ${got[1]}`);
    });
    it(`${kernels}: rmsprop with weight decay and a gradient scale (clipping)`, () => {
      const got = runOptimizer(kernels, { optimizer: 'rmsprop', lr, epsilon: eps, rho: 0.8, weightDecay: 0.3 }, w0, grads, 0.5);
      close(got, kerasRmsprop(lr, 0.8, eps, 0.3, 0.5), 1e-5, 'rmsprop + decay + scale');
    });
  }
  it('rmsprop equals tf.train.rmsprop (same epsilon placement as Keras 3) at epsilon 1e-3', async () => {
    await tf.setBackend('cpu');
    const v = tf.variable(tf.tensor1d(w0));
    const opt = tf.train.rmsprop(lr, 0.9, 0, eps);
    for (const g of grads) opt.applyGradients([{ name: v.name, tensor: tf.tensor1d(g) }]);
    close(runOptimizer('wasm', { optimizer: 'rmsprop', lr, epsilon: eps, rho: 0.9 }, w0, grads, 1), Array.from(v.dataSync()), 1e-5, 'rmsprop vs tfjs');
    v.dispose();
  });
});

/**
 * A weight matrix big enough to be updated by row blocks (updateMatrix: [R, O] with R * O >= 2 * UPDATE_BLOCK and
 * O >= 64), here 256 x 128 (two blocks of 128 rows): every optimizer against its float64 reference (Keras 3:
 * decoupled decay first, then the step; momentum m = mu m - lr g, w += m), with weight decay and a gradient scale,
 * over 3 steps; and the squared norm handed to `measure` (the probe's update ratio) is that of the change in w.
 */
/** Hyperparameters of the big-matrix tests below, and their float64 reference (Keras 3 rules). */
const HP = { lr: 0.01, wd: 0.2, scale: 0.5, eps: 1e-3, mu: 0.9, b1: 0.9, b2: 0.999, rho: 0.8 };
const hpSpec = (optimizer: TrainSpec['optimizer']): Partial<TrainSpec> =>
  ({ optimizer, lr: HP.lr, weightDecay: HP.wd, epsilon: HP.eps, momentum: HP.mu, beta1: HP.b1, beta2: HP.b2, rho: HP.rho });

/**
 * Steps of `optimizer` from w0 over the gradients (each scaled by HP.scale) in float64: decoupled decay (kernels only:
 * `decay`) first, then
 * the step (momentum: m = mu m - lr g, w += m - lr wd w). Returns the weights and each step's squared update.
 */
function referenceSteps(optimizer: string, w0: number[], grads: number[][], decay = true): { w: number[]; usq: number[] } {
  const { lr, scale, eps, mu, b1, b2, rho } = HP, wd = decay ? HP.wd : 0;
  const w = w0.slice(), m = w.map(() => 0), v = w.map(() => 0), usq: number[] = [];
  grads.forEach((g, s) => {
    const t = s + 1, before = w.slice();
    for (let i = 0; i < w.length; i++) {
      const gi = g[i] * scale;
      if (optimizer === 'momentum') { m[i] = mu * m[i] - lr * gi; w[i] += m[i] - lr * wd * before[i]; continue; }
      w[i] -= w[i] * wd * lr;
      if (optimizer === 'sgd') w[i] -= lr * gi;
      if (optimizer === 'adam') {
        const a = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
        m[i] += (gi - m[i]) * (1 - b1); v[i] += (gi * gi - v[i]) * (1 - b2);
        w[i] -= m[i] * a / (Math.sqrt(v[i]) + eps);
      }
      if (optimizer === 'rmsprop') { v[i] = rho * v[i] + (1 - rho) * gi * gi; w[i] -= lr * gi / Math.sqrt(v[i] + eps); }
    }
    usq.push(w.reduce((sum, x, i) => sum + (x - before[i]) ** 2, 0));
  });
  return { w, usq };
}

describe('a big weight matrix (updated by row blocks) follows the same formulas', () => {
  const R = 256, O = 128;
  const W0 = Array.from({ length: R * O }, (_, i) => Math.sin(0.37 * i) * 0.5);
  const G = [1, 2, 3].map(s => Array.from({ length: R * O }, (_, i) => Math.cos(0.11 * i * s + s) * 0.3));
  const reference = (optimizer: string) => referenceSteps(optimizer, W0, G);
  for (const kernels of KERNELS) for (const optimizer of ['sgd', 'momentum', 'adam', 'rmsprop'] as const) {
    it(`${kernels}: ${optimizer}, 3 steps with decay and a gradient scale: weights and the measured update size`, () => {
      const c = makeConfig([R], [{ type: 'dense', units: O, useBias: false }], hpSpec(optimizer));
      const net = new Network(c, { rows: 1, kernels });
      const opt = new Optimizer(c.train, net.params, net.heap);
      net.commit();
      const W = net.params[0], usq: number[] = [];
      W.w.v.set(W0);
      for (const g of G) { W.g.v.set(g); opt.step(HP.scale, (p, u) => { assert.equal(p, W); usq.push(u); }); }
      const want = reference(optimizer);
      close(W.w.v, want.w, 1e-5, optimizer);
      assert.equal(usq.length, 3, 'measured once a step');
      usq.forEach((u, s) => assert.ok(Math.abs(u - want.usq[s]) <= 1e-3 * want.usq[s], `step ${s + 1}: update size ${u} against ${want.usq[s]}`));
    });
  }
});

/**
 * A step with work to do meanwhile (the trainer loads the next batch): with helper threads they update the biggest
 * weight matrix while the calling thread does it, then the step waits for them. The numbers are those of the
 * float64 formulas whatever ran where; the work runs once a step; with `measure` (a probe step) every parameter's
 * update size is reported, so nothing is handed off. Three nets, whose biggest matrices (128 x 512, 1024 x 64 and
 * 256 x 256, four row blocks each) go to the helpers: in the first two the other parameters are fewer values, so the
 * helpers start on it first; in the third a second 256 x 256 ties with it (the first is the one handed over) and the
 * others are more values, so they are updated first, as before.
 */
describe('an optimizer step with the next batch loaded meanwhile (1 and 2 threads)', () => {
  const nets: [string, number, { type: 'dense'; units: number; useBias?: boolean }[], boolean][] = [
    ['256-128-512', 256, [{ type: 'dense', units: 128, useBias: false }, { type: 'dense', units: 512 }], true],
    ['1024-64-10', 1024, [{ type: 'dense', units: 64 }, { type: 'dense', units: 10 }], true],
    ['256-256-256-10', 256, [{ type: 'dense', units: 256, useBias: false }, { type: 'dense', units: 256 }, { type: 'dense', units: 10 }], false],
  ];
  // 'ended': two threads whose helpers were ended (Trainer.dispose: "a step after this runs on the calling thread alone").
  for (const threads of [1, 2, 'ended'] as const) for (const [label, input, list, first] of nets) for (const optimizer of ['sgd', 'adam'] as const) for (const measured of [false, true]) {
    if (threads === 'ended' && (measured || label !== nets[0][0])) continue;
    it(`${threads === 'ended' ? '2 threads, helpers ended' : `${threads} thread${threads > 1 ? 's' : ''}`}, ${label}, ${optimizer}${measured ? ', measured' : ''}: every parameter as the formulas say, the work done once a step`, function () {
      if (threads !== 1 && (!wasmAvailable() || !mtModuleOrNull())) this.skip();
      const c = makeConfig([input], list, hpSpec(optimizer));
      const net = new Network(c, { rows: 1, kernels: 'wasm', threads: threads === 1 ? 1 : 2 });
      const opt = new Optimizer(c.train, net.params, net.heap);
      net.commit();
      if (threads !== 1) assert.ok(net.heap.kernels.helpers?.waitReady(), 'helper threads started');
      if (threads === 'ended') net.heap.kernels.dispose?.();
      const w0 = net.params.map((p, j) => Array.from({ length: p.w.n }, (_, i) => Math.sin(0.37 * i + j) * 0.5));
      const grads = [1, 2, 3].map(s => net.params.map((p, j) => Array.from({ length: p.w.n }, (_, i) => Math.cos(0.11 * i * s + s + j) * 0.3)));
      net.params.forEach((p, j) => p.w.v.set(w0[j]));
      let meanwhileRuns = 0;
      // Handed off exactly when helpers are up and no update size is measured: a task is open during the work.
      const handOff = threads === 2 && !measured, handedOff: boolean[] = [];
      // The calling thread's own updates (kernels.serial): whether the helpers' task was open at each.
      const serial = net.heap.kernels.serial, duringTask: boolean[] = [];
      if (serial) for (const name of ['updateMatrix', 'sgdUpdate', 'adamUpdate'] as const) {
        const f = serial[name] as (...a: number[]) => number;
        (serial as unknown as Record<string, unknown>)[name] = (...a: number[]) => { duringTask.push(net.heap.kernels.helpers?.busy ?? false); return f(...a); };
      }
      for (const g of grads) {
        net.params.forEach((p, j) => p.g.v.set(g[j]));
        const seen = new Set<unknown>();
        opt.step(HP.scale, measured ? p => seen.add(p) : undefined, () => { meanwhileRuns++; handedOff.push(net.heap.kernels.helpers?.busy ?? false); });
        assert.equal(net.heap.kernels.helpers?.busy ?? false, false, 'no task is left open after the step');
        if (measured) assert.equal(seen.size, net.params.length, 'a probe step measures every parameter');
      }
      assert.equal(meanwhileRuns, 3, 'the meanwhile work runs once a step');
      assert.deepEqual(handedOff, [handOff, handOff, handOff], 'the biggest matrix handed to the helpers during the work');
      // Where the other parameters are fewer values than the biggest matrix, the helpers start on it first.
      if (handOff && first) assert.deepEqual(duringTask, Array(3 * (net.params.length - 1)).fill(true), 'every other parameter updated by the calling thread while the helpers update the biggest matrix');
      else assert.ok(duringTask.every(b => !b), 'no update on the calling thread while a task is open: the others updated before the hand-off');
      net.params.forEach((p, j) => close(p.w.v, referenceSteps(optimizer, w0[j], grads.map(g => g[j]), p.name === 'kernel').w, 1e-5, `${p.name} ${j}`));
      net.heap.kernels.dispose?.();
    });
  }
  // A step that throws with the helpers' task open leaves no helper writing the matrix: the step joins it first.
  it('2 threads: a step whose meanwhile work or calling-thread update throws joins the helpers\' task and has updated the matrix', function () {
    if (!wasmAvailable() || !mtModuleOrNull()) this.skip();
    const c = makeConfig([nets[0][1]], nets[0][2], hpSpec('sgd'));
    const net = new Network(c, { rows: 1, kernels: 'wasm', threads: 2 });
    const opt = new Optimizer(c.train, net.params, net.heap);
    net.commit();
    const helpers = net.heap.kernels.helpers!, serial = net.heap.kernels.serial!;
    assert.ok(helpers.waitReady(), 'helper threads started');
    const W = net.params[1], w0 = Array.from({ length: W.w.n }, (_, i) => Math.sin(0.37 * i) * 0.5);
    const g = Array.from({ length: W.w.n }, (_, i) => Math.cos(0.11 * i) * 0.3);
    W.w.v.set(w0); W.g.v.set(g);
    assert.deepEqual(W.shape, [128, 512], 'the biggest matrix');
    const busy: boolean[] = [];
    assert.throws(() => opt.step(HP.scale, undefined, () => { busy.push(helpers.busy); throw new Error('meanwhile failed'); }), /meanwhile failed/);
    assert.equal(helpers.busy, false, 'joined after the meanwhile work threw');
    close(W.w.v, referenceSteps('sgd', w0, [g]).w, 1e-5, 'after a step whose meanwhile work threw');
    // The bias is the last parameter the calling thread updates itself (sgdUpdate) while the task is open.
    const sgd = serial.sgdUpdate;
    serial.sgdUpdate = () => { busy.push(helpers.busy); throw new Error('update failed'); };
    try {
      assert.throws(() => opt.step(HP.scale, undefined, () => assert.fail('no meanwhile work after a failed update')), /update failed/);
    } finally { serial.sgdUpdate = sgd; }
    assert.equal(helpers.busy, false, 'joined after a calling-thread update threw');
    assert.deepEqual(busy, [true, true], 'both threw with the task open');
    close(W.w.v, referenceSteps('sgd', w0, [g, g]).w, 1e-5, 'after a step whose calling-thread update threw');
    net.heap.kernels.dispose?.();
  });
});
