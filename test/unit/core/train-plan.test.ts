/**
 * The trainer's bookkeeping on cases small enough to compute by hand: the run plan (probe interval, batch and
 * probe sizes), epochs that visit every sample once, what a probe reports as train and validation loss and
 * accuracy, the update ratio of the last step, and which layer a non-finite stop names (SPEC §4 non-finite:
 * forward order, then backward). With lr = 0 and zero kernels every loss is a known function of the targets.
 */
import assert from 'node:assert/strict';
import type { Dataset, NetworkConfig } from '../../../src/model';
import { defaultProbeEvery, runPlan, targetWidth, train, Trainer } from '../../../src/core/train';
import { wasmAvailable } from '../../../src/core/kernels';
import { makeConfig, randomData, type LayerInput } from './helpers';

type Split = { x: Float32Array; y: Float32Array; n: number };
/** n samples of `inDim` inputs all equal to `x`, with the given targets (one per sample). */
const split = (y: number[], inDim = 2, x = 1): Split => ({ x: new Float32Array(y.length * inDim).fill(x), y: Float32Array.from(y), n: y.length });
function data(trainY: number[], valY: number[], task: Dataset['task'] = 'regression', inDim = 2): Dataset {
  return { inputShape: [inDim], task, targetDim: 1, train: split(trainY, inDim), val: split(valY, inDim) };
}
/** A linear model y = w.x + b with w = 0, b = 0 that never moves (sgd, lr 0): its mse on a sample is y^2. */
function still(extra: Partial<NetworkConfig['train']> = {}, list: LayerInput[] = [{ type: 'dense', units: 1, init: 'zeros' }]): NetworkConfig {
  return makeConfig([2], list, { loss: 'mse', optimizer: 'sgd', lr: 0, batch: 1, ...extra });
}
const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a}, expected ${b}`);
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

describe('run plan (SPEC §1 probe: every, samples)', () => {
  const d = data([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4]);
  it('without probe.every a run has at least 50 probes: every = floor(steps / 50), at least 1', () => {
    assert.equal(defaultProbeEvery(3000), 60);
    assert.equal(defaultProbeEvery(149), 2);
    assert.equal(defaultProbeEvery(49), 1);
    assert.equal(defaultProbeEvery(1), 1);
    const c = still({ steps: 3000 }); c.probe.every = 0;
    assert.equal(runPlan(c, d).every, 60);
    c.probe.every = 7;
    assert.equal(runPlan(c, d).every, 7);
    assert.equal(runPlan(c, d, { probeEvery: 2.5 }).every, 2, 'an override is rounded down');
    assert.equal(runPlan(c, d, { probeEvery: 0.2 }).every, 1, 'and is at least 1');
  });
  it('maxSteps caps the steps, never extends them', () => {
    const c = still({ steps: 100 });
    assert.equal(runPlan(c, d).totalSteps, 100);
    assert.equal(runPlan(c, d, { maxSteps: 30 }).totalSteps, 30);
    assert.equal(runPlan(c, d, { maxSteps: 500 }).totalSteps, 100);
  });
  it('the batch is at most the training split; the probe batch the first probe.samples of the validation split', () => {
    const c = still({ batch: 32 }); c.probe.samples = 3;
    let p = runPlan(c, d);
    assert.deepEqual([p.batch, p.probeRows, p.rows], [8, 3, 8]);
    c.train.batch = 2; c.probe.samples = 3;
    p = runPlan(c, d);
    assert.deepEqual([p.batch, p.probeRows, p.rows], [2, 3, 3]);
    c.probe.samples = 100;
    assert.equal(runPlan(c, d).probeRows, 4, 'no more than the validation split holds');
    c.probe.samples = 0;
    assert.equal(runPlan(c, data(new Array(300).fill(1), new Array(300).fill(1))).probeRows, 256, 'samples 0 means the default 256');
    c.probe.samples = 16;
    assert.equal(runPlan(c, data([1, 2, 3, 4, 5, 6], [])).probeRows, 6, 'no validation split: the training split');
  });
  it('the probe loss stands for the validation loss only when the probe batch is the whole validation split and nothing is random', () => {
    const c = still(); c.probe.samples = 4;
    assert.equal(runPlan(c, d).evalEqualsProbe, true);
    c.probe.samples = 3;
    assert.equal(runPlan(c, d).evalEqualsProbe, false, 'a probe batch smaller than the split');
    c.probe.samples = 4;
    assert.equal(runPlan(c, data([1, 2, 3, 4], [])).evalEqualsProbe, false, 'probing the training split');
    const drop = still({}, [{ type: 'dropout', rate: 0.5 }, { type: 'dense', units: 1, init: 'zeros' }]); drop.probe.samples = 4;
    assert.equal(runPlan(drop, d).evalEqualsProbe, false, 'dropout is off at evaluation, on in a probe');
    drop.model.layers[0] = { ...drop.model.layers[0], rate: 0 } as typeof drop.model.layers[0];
    assert.equal(runPlan(drop, d).evalEqualsProbe, true, 'dropout with rate 0 changes nothing');
    const bn = still({}, [{ type: 'batchnorm' }, { type: 'dense', units: 1, init: 'zeros' }]); bn.probe.samples = 4;
    assert.equal(runPlan(bn, d).evalEqualsProbe, false, 'batchnorm uses moving statistics at evaluation');
  });
  it('targets per sample: one class index, else the target width', () => {
    assert.equal(targetWidth({ ...d, task: 'classification', targetDim: 5 }), 1);
    assert.equal(targetWidth({ ...d, task: 'regression', targetDim: 3 }), 3);
    assert.equal(targetWidth({ ...d, task: 'binary', targetDim: 1 }), 1);
  });
});

describe('epochs', () => {
  it('each epoch visits every training sample once, in a new order each epoch', () => {
    const losses: number[] = [];
    const c = still({ steps: 20 });
    const r = train(c, data([1, 2, 3, 4, 5], [1]), { onStep: (_s, l) => losses.push(l) });
    assert.equal(r.steps, 20);
    // batch 1 and a model that predicts 0: a step's loss is its sample's y^2, which names the sample.
    const epochs = [0, 5, 10, 15].map(s => losses.slice(s, s + 5));
    for (const e of epochs) assert.deepEqual([...e].sort((a, b) => a - b), [1, 4, 9, 16, 25], `epoch ${e}`);
    assert.ok(new Set(epochs.map(e => e.join())).size > 1, `the same order every epoch: ${epochs[0]}`);
  });
  it('the first epoch is shuffled too (as Keras fit with shuffle=True): a training split in file order is not trained in file order', () => {
    // A CSV sorted by label would otherwise train on one class first. 8 samples in batches of 1: a step's
    // loss is its sample's y^2 (seeded: the order is fixed, and 8! orders make file order unlikely to recur).
    const losses: number[] = [];
    train(still({ steps: 8 }), data([1, 2, 3, 4, 5, 6, 7, 8], [1]), { onStep: (_s, l) => losses.push(l) });
    assert.deepEqual([...losses].sort((a, b) => a - b), [1, 4, 9, 16, 25, 36, 49, 64], 'one epoch: every sample once');
    assert.notDeepEqual(losses, [1, 4, 9, 16, 25, 36, 49, 64], 'the first epoch in file order');
  });
  it('a batch that does not fit in what is left of the epoch starts the next epoch', () => {
    const losses: number[] = [];
    // 5 samples in batches of 2: two batches (4 distinct samples) per epoch, the fifth waits for a later epoch.
    train(still({ steps: 10, batch: 2 }), data([1, 10, 100, 1000, 10000], [1]), { onStep: (_s, l) => losses.push(l) });
    const y2 = [1, 100, 1e4, 1e6, 1e8];
    for (let e = 0; e < 5; e++) {
      // The batch mean of y^2 over distinct powers of 100 tells which two samples it held.
      const pair = (l: number) => y2.filter(v => { const rest = 2 * l - v; return y2.includes(rest) && rest !== v; });
      const a = pair(losses[2 * e]), b = pair(losses[2 * e + 1]);
      assert.equal(a.length, 2, `batch loss ${losses[2 * e]} is the mean of two distinct samples`);
      assert.equal(b.length, 2);
      assert.equal(new Set([...a, ...b]).size, 4, `epoch ${e}: batches ${a} and ${b} overlap`);
    }
  });
});

describe('what a probe reports', () => {
  it('trainLoss is the mean loss of the steps since the last probe; valLoss the whole validation split', () => {
    // val y = 1..10, probe batch its first 3, buffers of 3 rows: the evaluation runs in chunks of 3, 3, 3, 1.
    const c = still({ steps: 10 }); c.probe.every = 5; c.probe.samples = 3;
    const r = train(c, data([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    assert.deepEqual(r.timeline.map(p => p.step), [0, 5, 10]);
    const all = 385 / 10; // mean of 1^2..10^2
    for (const p of r.timeline) close(p.valLoss, all, 1e-9, `valLoss at ${p.step}`);
    close(r.timeline[0].trainLoss, 14 / 3, 1e-6, 'trainLoss before any step: the probe batch (1, 4, 9)');
    close(r.timeline[1].trainLoss, 11, 1e-9, 'trainLoss at 5: one epoch of 1..5 squared');
    close(r.timeline[2].trainLoss, 11, 1e-9, 'trainLoss at 10: only the steps since step 5');
    assert.ok(r.timeline.every(p => !('valAccuracy' in p)), 'no accuracy for regression');
    assert.equal('nonFinite' in r, false, 'a completed run has no non-finite event');
    assert.deepEqual(r.final, { trainLoss: r.timeline[2].trainLoss, valLoss: r.timeline[2].valLoss });
  });
  it('without a validation split the probe and the validation loss use the training split', () => {
    const c = still({ steps: 2 }); c.probe.samples = 2;
    const r = train(c, data([1, 2, 3], []));
    for (const p of r.timeline) close(p.valLoss, 14 / 3, 1e-9, `valLoss at ${p.step}`); // mean of 1, 4, 9
    close(r.timeline[0].trainLoss, 2.5, 1e-9, 'the probe batch at step 0: the first 2 training samples (1, 4)');
  });
  it('gradNorm is the global gradient norm of the step before the probe (plain SGD: ||dW|| / lr), of the probe batch at step 0', () => {
    const lr = 0.1;
    const c = makeConfig([2], [{ type: 'dense', units: 3, activation: 'tanh' }, { type: 'dense', units: 1 }], { lr, steps: 4, batch: 2 });
    c.probe.every = 2;
    const d = data([1, -1, 2, 0.5], [1, 2]);
    d.train.x = Float32Array.from([0.3, -1, 1, 0.2, -0.5, 0.8, 2, -0.1]);
    const t = new Trainer(c, d);
    const all = () => t.net.params.filter(p => p.trainable).flatMap(p => Array.from(p.w.v));
    let before = all();
    const expected = new Map<number, number>();
    while (!t.done) {
      const step = t.step;
      t.advance();
      if (t.step === step + 1) { const after = all(); expected.set(t.step, norm(after.map((w, i) => (w - before[i]) / lr))); before = after; }
    }
    const tl = t.result().timeline;
    assert.deepEqual(tl.map(p => p.step), [0, 2, 4]);
    assert.ok(tl[0].gradNorm > 0, 'step 0 reports the probe batch gradient');
    for (const p of tl.slice(1)) close(p.gradNorm, expected.get(p.step)!, 1e-4 * expected.get(p.step)!, `gradNorm at ${p.step}`);
  });
  for (const samples of [2, 4]) {
    it(`binary: accuracy and BCE over the whole validation split (probe batch of ${samples} of 4)`, () => {
      const c = makeConfig([2], [{ type: 'dense', units: 1, activation: 'sigmoid', init: 'zeros' }],
        { loss: 'binary_cross_entropy', optimizer: 'sgd', lr: 0, batch: 1, steps: 2 });
      c.probe.samples = samples;
      const t = new Trainer(c, data([1, 0], [1, 1, 0, 1], 'binary'));
      t.net.layers[0].params.find(p => p.name === 'bias')!.w.v.fill(5); // predicts sigmoid(5) = 0.9933 for every sample
      const r = t.run();
      const bce1 = Math.log1p(Math.exp(-5)), bce0 = 5 + Math.log1p(Math.exp(-5)); // -log s(5), -log(1 - s(5))
      for (const p of r.timeline) {
        assert.equal(p.valAccuracy, 0.75, `step ${p.step}`);
        close(p.valLoss, (3 * bce1 + bce0) / 4, 1e-5, `valLoss at ${p.step}`);
      }
      assert.equal(r.final.valAccuracy, 0.75);
    });
  }
  it('a run cancelled before its first probe has no timeline and NaN losses', () => {
    const r = train(still({ steps: 5 }), data([1, 2], [1]), { shouldStop: () => true });
    assert.equal(r.stopped, 'cancelled'); assert.equal(r.steps, 0); assert.deepEqual(r.timeline, []);
    assert.ok(Number.isNaN(r.final.trainLoss) && Number.isNaN(r.final.valLoss));
    assert.equal('valAccuracy' in r.final, false);
  });
  it('a cap equal to the steps completes the run; a larger one too', () => {
    assert.equal(train(still({ steps: 4 }), data([1, 2], [1]), { maxSteps: 4 }).stopped, 'completed');
    const r = train(still({ steps: 4 }), data([1, 2], [1]), { maxSteps: 40 });
    assert.equal(r.stopped, 'completed'); assert.equal(r.steps, 4);
  });
  it('updateRatio = ||W after - W before|| / ||W after|| of the step before each probe, also the last off-grid one', () => {
    const c = makeConfig([2], [{ type: 'dense', units: 3, activation: 'tanh' }, { type: 'dense', units: 1 }], { lr: 0.3, steps: 7, batch: 2 });
    c.probe.every = 5;
    const d = data([1, -1, 2, 0.5], [1, 2]);
    d.train.x = Float32Array.from([0.3, -1, 1, 0.2, -0.5, 0.8, 2, -0.1]);
    const t = new Trainer(c, d);
    const kernel = () => Float64Array.from(t.net.layers[0].params.find(p => p.kernel)!.w.v);
    let before = kernel();
    const expected = new Map<number, number>();
    while (!t.done) {
      const step = t.step;
      t.advance();
      if (t.step === step + 1) {
        const after = kernel();
        expected.set(t.step, norm(after.map((w, i) => w - before[i])) / norm(after));
        before = after;
      }
    }
    const r = t.result();
    assert.deepEqual(r.timeline.map(p => p.step), [0, 5, 7]);
    for (const p of r.timeline.slice(1)) close(p.layers[0].updateRatio!, expected.get(p.step)!, 1e-6 * expected.get(p.step)!, `updateRatio at ${p.step}`);
    assert.ok(expected.get(7)! > 0);
    assert.deepEqual(r.timeline[0].layers.map(l => l.updateRatio), [null, null], 'no update before the first step');
  });
  it('a layer without weights (an activation, a flatten) has no update ratio at any probe, not NaN', () => {
    const c = makeConfig([2], [{ type: 'dense', units: 3 }, { type: 'activation', activation: 'tanh' }, { type: 'flatten' }, { type: 'dense', units: 1 }], { lr: 0.3, steps: 6, batch: 2 });
    c.probe.every = 2;
    const d = data([1, -1, 2, 0.5], [1, 2]);
    d.train.x = Float32Array.from([0.3, -1, 1, 0.2, -0.5, 0.8, 2, -0.1]);
    const r = train(c, d);
    assert.deepEqual(r.timeline.map(p => p.step), [0, 2, 4, 6]);
    for (const p of r.timeline.slice(1)) {
      assert.deepEqual([p.layers[1].updateRatio, p.layers[2].updateRatio], [null, null], `step ${p.step}`);
      assert.ok(p.layers[0].updateRatio! > 0 && p.layers[3].updateRatio! > 0, `step ${p.step}: the dense layers moved`);
    }
  });
  it('weightGradRms after step s is the RMS of the gradient that step s applied (plain SGD: g = -dW / lr), not the probe batch\'s', () => {
    const lr = 0.05;
    const c = makeConfig([4, 4, 1], [
      { type: 'conv2d', filters: 2, kernel: [2, 2], activation: 'tanh' }, { type: 'flatten' }, { type: 'dense', units: 3, activation: 'tanh' }, { type: 'dense', units: 1 },
    ], { lr, steps: 4, batch: 2 });
    c.probe.every = 2; c.probe.samples = 2;
    const r = (n: number, seed: number) => { let s = seed; return Array.from({ length: n }, () => ((s = (s * 69069 + 1) % 2 ** 32) / 2 ** 32) * 2 - 1); };
    const d: Dataset = { inputShape: [4, 4, 1], task: 'regression', targetDim: 1,
      train: { x: Float32Array.from(r(16 * 6, 1)), y: Float32Array.from(r(6, 2)), n: 6 },
      val: { x: Float32Array.from(r(16 * 2, 3)), y: Float32Array.from(r(2, 4)), n: 2 } };
    const t = new Trainer(c, d);
    const kernels = () => [0, 2].map(i => Float64Array.from(t.net.layers[i].params.find(p => p.kernel)!.w.v));
    let before = kernels();
    const grads = new Map<number, number[]>();
    while (!t.done) {
      const step = t.step;
      t.advance();
      if (t.step === step + 1) {
        const after = kernels();
        grads.set(t.step, after.map((w, k) => norm(w.map((v, i) => (before[k][i] - v) / lr)) / Math.sqrt(w.length)));
        before = after;
      }
    }
    const tl = t.result().timeline;
    assert.deepEqual(tl.map(p => p.step), [0, 2, 4]);
    for (const p of tl.slice(1)) {
      assert.ok(grads.get(p.step)!.every(v => v > 1e-4), `gradients ${grads.get(p.step)}`);
      [0, 2].forEach((layer, k) => close(p.layers[layer].weightGradRms!, grads.get(p.step)![k], 1e-4 * grads.get(p.step)![k], `layer ${layer} weightGradRms at ${p.step}`));
    }
  });
});

describe('training, probe and evaluation modes (Keras: training=True for fit, False for evaluate)', () => {
  it('dropout drops units while training, kept ones scaled by 1/(1 - rate), and not in the probe or the validation loss', () => {
    // x = (1, 1); dense of 4 ones: a = (2, 2, 2, 2); dropout 0.5 keeps k of 4, each scaled to 4; dense of ones
    // sums them: out = 4k, loss (y = 0) = 16 k^2. Without dropout out = 8, loss 64.
    const c = still({ steps: 20 }, [{ type: 'dense', units: 4, init: 'ones' }, { type: 'dropout', rate: 0.5 }, { type: 'dense', units: 1, init: 'ones' }]);
    c.probe.every = 20;
    const losses: number[] = [];
    const r = train(c, data([0], [0]), { onStep: (_s, l) => losses.push(l) });
    assert.equal(losses.length, 20);
    for (const l of losses) assert.ok([0, 16, 64, 144, 256].includes(l), `step loss ${l} is not 16 k^2 for k of 4 units kept`);
    assert.ok(new Set(losses).size > 1, `every step kept the same units: ${losses}`);
    for (const p of r.timeline) close(p.valLoss, 64, 1e-9, `valLoss at ${p.step} (no dropout)`);
  });
  it('the validation loss of a batchnorm net uses the moving statistics (mean 0, variance 1 before any step), the probe its batch', () => {
    // Every x = (1, 1): the batch statistics are mean 1, variance 0, so the probe's batchnorm gives 0 and the
    // output 0. Inference: (1 - 0) / sqrt(1 + 1e-3) per input, summed by a dense of ones: 2 / sqrt(1.001).
    const c = still({ steps: 1 }, [{ type: 'batchnorm', epsilon: 1e-3 }, { type: 'dense', units: 1, init: 'ones' }]);
    c.probe.samples = 2;
    const r = train(c, data([0, 0], [0, 0]));
    close(r.timeline[0].valLoss, 4 / 1.001, 1e-5, 'valLoss at step 0: (2 / sqrt(1.001))^2');
    close(r.timeline[0].trainLoss, 0, 1e-9, 'the probe batch at step 0, with its own statistics');
  });
});

describe('a run\'s end', () => {
  it('a stopped run stays stopped: advance() after the stop trains and probes no more', () => {
    let stop = false;
    const t = new Trainer(still({ steps: 10 }), data([1, 2, 3], [1]), { shouldStop: () => stop, onStep: s => { if (s === 3) stop = true; } });
    while (!t.done) t.advance();
    assert.equal(t.stopped, 'cancelled');
    const probes = t.timeline.length;
    stop = false;
    for (let i = 0; i < 5; i++) t.advance();
    assert.equal(t.step, 3, 'steps after the stop');
    assert.equal(t.timeline.length, probes, 'probes after the stop');
    assert.equal(t.result().stopped, 'cancelled');
  });
  it('a result taken before the run ended (the worker after an error) is a cancelled run with what it has', () => {
    const t = new Trainer(still({ steps: 10 }), data([1, 2, 3], [1]));
    for (let i = 0; i < 3; i++) t.advance();
    const r = t.result();
    assert.equal(r.stopped, 'cancelled');
    assert.equal(r.steps, 3, 'each advance probes (probe.every 1), then steps');
    assert.deepEqual(r.timeline.map(p => p.step), [0, 1, 2]);
  });
  it('wallMs is the run\'s own time: between 0 and the time measured around it', () => {
    const t0 = performance.now();
    const r = train(still({ steps: 5 }), data([1, 2, 3], [1]));
    const outside = performance.now() - t0;
    assert.ok(r.wallMs >= 0 && r.wallMs <= outside, `wallMs ${r.wallMs}, ${outside} ms around the run`);
  });
  it('the kernels are the wasm ones unless js is asked for (gemm.wasm is built for the tests)', function () {
    if (!wasmAvailable()) this.skip();
    assert.equal(new Trainer(still(), data([1], [1])).net.heap.kernels.kind, 'wasm');
    assert.equal(new Trainer(still(), data([1], [1]), { kernels: 'js' }).net.heap.kernels.kind, 'js');
  });
});

describe('the layer a non-finite stop names', () => {
  /** x = (1, 1); the listed layers' kernels set to a constant after the draw. */
  function run(list: LayerInput[], kernels: Record<number, number>, y = 0) {
    const c = makeConfig([2], list, { loss: 'mse', optimizer: 'sgd', lr: 0, batch: 1, steps: 3 });
    const t = new Trainer(c, data([y], [y]));
    for (const [i, v] of Object.entries(kernels)) t.net.layers[+i].params.find(p => p.kernel)!.w.v.fill(v);
    return t.run();
  }
  it('forward: the first layer in forward order, counting its pre-activations', () => {
    // layer 0: a = (2, 2). layer 1: z = 2 * 2 * 3e38 = Inf, tanh(z) = 1 finite. layer 2: 2 * 3e38 = Inf. Loss Inf.
    const r = run([
      { type: 'dense', units: 2 }, { type: 'dense', units: 2, activation: 'tanh' }, { type: 'dense', units: 2 }, { type: 'dense', units: 1 },
    ], { 0: 1, 1: 3e38, 2: 3e38, 3: 1 });
    assert.equal(r.stopped, 'non-finite');
    assert.deepEqual(r.nonFinite, { step: 0, layer: 1, where: 'forward' });
  });
  it('forward: a layer whose output overflows after finite layers', () => {
    const r = run([{ type: 'dense', units: 2 }, { type: 'dense', units: 2 }, { type: 'dense', units: 1 }], { 0: 1, 1: 1e38, 2: 1 });
    assert.deepEqual(r.nonFinite, { step: 0, layer: 1, where: 'forward' });
  });
  it('forward: a layer where only its second unit overflows', () => {
    // Kernels are [in][out]: layer 1's first column 1 (z = 4), its second 1e38 (z = 4e38 = Inf in float32).
    const c = makeConfig([2], [{ type: 'dense', units: 2, init: 'ones' }, { type: 'dense', units: 2 }, { type: 'dense', units: 1, init: 'ones' }],
      { loss: 'mse', optimizer: 'sgd', lr: 0, batch: 1, steps: 3 });
    const t = new Trainer(c, data([0], [0]));
    t.net.layers[1].params.find(p => p.kernel)!.w.v.set([1, 1e38, 1, 1e38]);
    assert.deepEqual(t.run().nonFinite, { step: 0, layer: 1, where: 'forward' });
  });
  it('backward: the highest layer whose gradient overflows, a weight gradient included', () => {
    // layer 0: a = 2e30 each. layer 1: out = 2 * 2e30 * 1e-20 = 4e10 (loss 1.6e21, finite); dL/dout = 8e10 and
    // dL/dW1 = a0 * dL/dout = 1.6e41: Inf in float32. dL/da0 = 8e10 * 1e-20 stays finite.
    const r = run([{ type: 'dense', units: 2 }, { type: 'dense', units: 1 }], { 0: 1e30, 1: 1e-20 });
    assert.equal(r.stopped, 'non-finite');
    assert.deepEqual(r.nonFinite, { step: 0, layer: 1, where: 'backward' });
  });
  it('backward: a layer without weights whose second output gradient overflows (an activation layer)', () => {
    // x = (1, 1): dense of ones gives (2, 2), the linear activation layer passes it on, the top dense's kernel
    // (1, 1e30) gives out = 2 + 2e30, dL/dout = 4e30 (finite, as is dL/dW = (2, 2) * 4e30). The activation
    // layer's output gradient is 4e30 * (1, 1e30) = (4e30, Inf).
    const c = makeConfig([2], [{ type: 'dense', units: 2, init: 'ones' }, { type: 'activation', activation: 'linear' }, { type: 'dense', units: 1 }],
      { loss: 'mse', optimizer: 'sgd', lr: 0, batch: 1, steps: 3 });
    const t = new Trainer(c, data([0], [0]));
    t.net.layers[2].params.find(p => p.kernel)!.w.v.set([1, 1e30]);
    assert.deepEqual(t.run().nonFinite, { step: 0, layer: 1, where: 'backward' });
  });
  it('backward: below a finite top layer', () => {
    // layer 0: a0 = 2 * 2e-38 = 4e-38. layer 1: a1 = 2 * 4e-38 * 1e38 = 8. layer 2: out = 16, dL/dout = 32.
    // dL/da1 = 32 and dL/dW1 = a0 * 32 are finite; dL/da0 = 2 * 1e38 * 32 overflows: layer 0's gradient.
    const r = run([{ type: 'dense', units: 2 }, { type: 'dense', units: 2 }, { type: 'dense', units: 1 }], { 0: 2e-38, 1: 1e38, 2: 1 });
    assert.equal(r.stopped, 'non-finite');
    assert.deepEqual(r.nonFinite, { step: 0, layer: 0, where: 'backward' });
  });
});

describe('refusals', () => {
  it('an input shape that differs from the data, an empty training split, weights that do not fit', () => {
    const c = still();
    assert.throws(() => new Trainer(c, data([1], [1], 'regression', 3)), /model.input \[2\] does not match the data's input shape \[3\]/);
    assert.throws(() => new Trainer(c, data([], [1])), /the training split is empty/);
    assert.throws(() => new Trainer(c, data([1], [1]), { initialWeights: [{ kernel: new Float32Array(5) }] }),
      /the model's weights do not fit dense_0\.kernel: the layer's shape differs/);
    const two = makeConfig([2], [{ type: 'dense', units: 2 }, { type: 'dense', units: 1 }], { loss: 'mse', optimizer: 'sgd', lr: 0, batch: 1 });
    assert.throws(() => new Trainer(two, data([1], [1]), { initialWeights: [{ kernel: new Float32Array(3) }, { kernel: new Float32Array(3) }] }),
      /the model's weights do not fit dense_0\.kernel, dense_1\.kernel: /);
    const t = new Trainer(c, data([1], [1]), { initialWeights: [{ kernel: Float32Array.from([0.5, 0.25]) }] });
    assert.deepEqual(Array.from(t.net.layers[0].params[0].w.v), [0.5, 0.25]);
  });
});

describe('the softmax output under the fused cross-entropy', () => {
  it('a training step leaves it to probes and evaluations: after steps, they see the softmax of their own batch\'s logits', () => {
    // A training step's loss reads the logits only (losses.ts), so the step skips the softmax; a probe and an
    // evaluation must still compute it: their output rows against a float64 softmax of the logits, and the accuracy
    // against the argmax of the logits.
    const c = makeConfig([6], [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 4, activation: 'softmax' }],
      { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.5, batch: 8, steps: 100 }, { probe: { every: 100, samples: 12 } });
    const d = randomData([6], 4, 48, 11, 4);
    const t = new Trainer(c, d);
    assert.equal(d.val.n, 12, 'the probe batch is the whole validation split: the probe reports its accuracy');
    const last = t.net.layers[1];
    const check = (rows: number, what: string) => {
      let correct = 0;
      for (let r = 0; r < rows; r++) {
        const z = Array.from(last.z!.v.subarray(4 * r, 4 * r + 4)), m = Math.max(...z);
        const e = z.map(v => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
        e.forEach((v, j) => close(last.out.v[4 * r + j], v / s, 1e-6, `${what} row ${r} output ${j}`));
        if (z.indexOf(m) === d.val.y[r]) correct++;
      }
      return correct / rows;
    };
    t.trainSteps(5);
    const p = t.probe();
    assert.equal(p.valAccuracy, check(12, 'probe'));
    t.trainSteps(5);
    const ev = t.evaluate();
    assert.equal(ev.accuracy, check(12, 'evaluation'));
    t.trainSteps(1);
    assert.equal(last.outStale, true, 'the training step did not compute it');
  });
});
