/**
 * One run on more than one thread (src/core/parallel.ts): the helpers take chunks of the GEMMs, im2col,
 * col2im, activations and optimizer updates, and every number is bit-identical to one thread. Tolerance 0,
 * stricter than "up to float summation order": a GEMM is cut by columns or rows of C, so each output value's sum
 * over K is still computed by the same code in the same order whichever thread runs its chunk, and an update's
 * squared norm is summed over the same fixed blocks on any thread count. Small
 * nets start no helper. The CLI end to end: same report on 1 and 2 threads, one clear line and one thread when
 * gemm-mt.wasm or SharedArrayBuffer is missing (an error under ACTIVATION_LENS_REQUIRE_WASM), and the process
 * exits (no helper keeps it alive). Nothing here measures time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Trainer } from '../../../src/core/train';
import { MAX_HELD_FLOATS, Network } from '../../../src/core/network';
import { jsKernels, loadKernels, wasmAvailable, mtModuleOrNull, type Kernels } from '../../../src/core/kernels';
import { HELPER_EXPORTS, HELPER_OPS, HELPER_STOPPED, Helpers, startKeeper, MAX_BLOCKS, OP, SPLIT_GEMM_FLOPS, chunkArgs, UPDATE_BLOCK, colsShape, rowBlock, runThreads } from '../../../src/core/parallel';
import { parseConfigText } from '../../../src/config';
import { Heap, type Buf } from '../../../src/core/heap';
import type { NetworkConfig } from '../../../src/model';
import { keepTrying, makeConfig, randomData, untilHelped } from './helpers';

function run(config: NetworkConfig, threads: number, steps: number) {
  const data = randomData(config.model.input, 10, 96, 5, 10);
  const t = new Trainer({ ...config, train: { ...config.train, steps } }, data, { threads, probeEvery: 2 });
  if (threads > 1) assert.ok(t.net.heap.kernels.helpers?.waitReady(), 'helper threads started');
  const r = t.run();
  return { t, r, weights: t.net.params.map(p => Array.from(p.w.v)) };
}

/** A committed heap per thread count with an optimizer's four buffers of n floats (helpers started). */
function updateHeaps(threadCounts: number[], n: number): { h: Heap; bufs: Record<'w' | 'g' | 'm' | 'v', Buf> }[] {
  return threadCounts.map(threads => {
    const h = new Heap('wasm', threads);
    const bufs = { w: h.alloc(n), g: h.alloc(n), m: h.alloc(n), v: h.alloc(n) };
    h.commit();
    if (threads > 1) assert.ok(h.kernels.helpers?.waitReady(), 'helper threads started');
    return { h, bufs };
  });
}

/** Deterministic values in [-0.5, 0.5] (squared: positive, for a second moment). */
const fill = (b: Buf, seed: number, positive = false) => { for (let i = 0; i < b.n; i++) { const x = Math.sin(seed * 1000 + i * 0.37) * 0.5; b.v[i] = positive ? x * x : x; } };


describe('threads: one run split over helper threads', function () {
  // Bounds a hang only: each wait for a helper below may take up to a minute on a loaded machine.
  this.timeout(600_000);
  before(function () {
    if (process.env.ACTIVATION_LENS_REQUIRE_WASM) assert.ok(mtModuleOrNull(), 'dist/gemm-mt.wasm is missing: run `npm run build`');
    if (!wasmAvailable() || !mtModuleOrNull()) this.skip();
  });

  const conv = makeConfig([12, 12, 4], [
    { type: 'conv2d', filters: 16, kernel: [3, 3], padding: 'same', activation: 'relu', init: 'he_normal' },
    { type: 'maxpool2d', size: [2, 2] },
    { type: 'conv2d', filters: 16, kernel: [3, 3], activation: 'tanh' },
    { type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' },
  ], { loss: 'cross_entropy', optimizer: 'adam', lr: 0.01, batch: 32 });
  const mlp = makeConfig([784], [
    { type: 'dense', units: 128, activation: 'sigmoid' }, { type: 'dense', units: 64, activation: 'relu' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ], { loss: 'cross_entropy', optimizer: 'momentum', lr: 0.05, batch: 64 });

  // The first conv on one input channel: the direct kernels (convDirect by images, convDirectGrad by groups).
  const conv1 = makeConfig([16, 16, 1], [
    { type: 'conv2d', filters: 16, kernel: [3, 3], padding: 'same', activation: 'relu', init: 'he_normal' },
    { type: 'maxpool2d', size: [2, 2] },
    { type: 'conv2d', filters: 8, kernel: [3, 3], activation: 'relu' },
    { type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' },
  ], { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.05, batch: 32 });

  for (const [label, config] of [['conv net', conv], ['conv net on one input channel', conv1], ['MLP', mlp]] as const) {
    it(`${label}: 2 and 3 threads give bit-identical weights, losses and probes to 1 thread, with the helpers taking part`, () => {
      const one = run(config, 1, 6);
      assert.equal(one.t.threads, 1);
      for (const threads of [2, 3]) {
        // Run again until the helpers took part (a loaded machine may not run them in a short run's time).
        let helped = false;
        for (let attempt = 0, since = Date.now(); !helped && keepTrying(since, attempt); attempt++) {
          const many = run(config, threads, 6);
          assert.equal(many.t.threads, threads);
          helped = many.t.net.heap.kernels.helpers!.handed > 0;
          assert.deepEqual(many.r.lossCurve, one.r.lossCurve, `${threads} threads: loss curve`);
          assert.deepEqual(many.weights, one.weights, `${threads} threads: weights`);
          assert.deepEqual(JSON.stringify(many.r.timeline), JSON.stringify(one.r.timeline), `${threads} threads: probes`);
        }
        assert.ok(helped, `${threads} threads: the helpers ran no chunk in 200 runs and a minute`);
      }
    });
  }

  it('same config, seed and thread count: bit-identical numbers run after run (2 threads, helpers racing for chunks)', () => {
    for (const config of [conv, mlp]) {
      const a = run(config, 2, 6);
      let helped = a.t.net.heap.kernels.helpers!.handed > 0;
      // At least one more run, and more until one had the helpers take part (as above).
      for (let attempt = 0, since = Date.now(); attempt === 0 || (!helped && keepTrying(since, attempt)); attempt++) {
        const b = run(config, 2, 6);
        helped ||= b.t.net.heap.kernels.helpers!.handed > 0;
        assert.deepEqual(b.r.lossCurve, a.r.lossCurve);
        assert.deepEqual(b.weights, a.weights);
        assert.deepEqual(JSON.stringify(b.r.timeline), JSON.stringify(a.r.timeline));
      }
      assert.ok(helped, 'the helpers ran no chunk in 200 runs and a minute');
    }
  });

  it('each optimizer, with the next batch gathered ahead during the loss, or (when it cannot be) loaded while the helpers update the biggest weight matrix: every step\'s loss and the weights of 1 thread, bit for bit, also with probes and evaluations out of cadence in between', () => {
    // No probe is due (probeEvery 1000), so every step but the last before a probe loads the next batch while the
    // helpers update the 784 x 128 kernel. A probe or an evaluation between two steps (the benchmark and the
    // worker call them so) loads other rows: the next step must load its own batch again, the same one.
    const data = randomData(mlp.model.input, 10, 96, 5, 10);
    for (const optimizer of ['sgd', 'momentum', 'adam', 'rmsprop'] as const) {
      // The probe batch is the whole validation split (24 samples), so the probe evaluates nothing of its own.
      const config = { ...mlp, train: { ...mlp.train, optimizer, steps: 1000 }, probe: { ...mlp.probe, samples: 24 } };
      const session = (threads: number, ahead = true) => {
        const t = new Trainer(config, data, { threads, probeEvery: 1000 });
        if (threads > 1) assert.ok(t.net.heap.kernels.helpers?.waitReady(), 'helper threads started');
        // ahead false: Network.loadAhead declines (as for a split too large to hold), so the batch is loaded in the
        // optimizer step while the helpers update the biggest matrix; count those loads.
        if (!ahead) t.net.loadAhead = () => false;
        let loadsInUpdate = 0, inUpdate = false;
        const loadRows = t.net.loadRows.bind(t.net), step = t.opt.step.bind(t.opt);
        t.opt.step = (...a) => { inUpdate = true; try { step(...a); } finally { inUpdate = false; } };
        t.net.loadRows = (...a) => { if (inUpdate) loadsInUpdate++; loadRows(...a); };
        t.trainSteps(3);
        const probe = JSON.stringify(t.probe());
        t.trainSteps(2);
        const ev = t.evaluate();
        t.trainSteps(3);
        const out = { losses: t.lossCurve.slice(), probe, ev, weights: t.net.params.map(p => Array.from(p.w.v)), handed: t.net.heap.kernels.helpers?.handed ?? 0, loadsInUpdate };
        t.dispose();
        return out;
      };
      const one = session(1);
      assert.equal(one.losses.length, 8);
      for (const ahead of [true, false]) {
        const what = `${optimizer}${ahead ? '' : ', not gathered ahead'}`;
        const helped = untilHelped(() => session(2, ahead), two => {
          assert.deepEqual(two.losses, one.losses, `${what}: loss of each step`);
          assert.equal(two.probe, one.probe, `${what}: the probe between steps`);
          assert.deepEqual(two.ev, one.ev, `${what}: the evaluation between steps`);
          assert.deepEqual(two.weights, one.weights, `${what}: weights`);
          // Every step loads its successor there (no probe is due), also the last before the probe and the evaluation
          // called in between, which load rows of their own (the step after them loads its batch again).
          assert.equal(two.loadsInUpdate, ahead ? 0 : 8, `${what}: batches loaded during the optimizer step`);
          assert.equal(one.loadsInUpdate, 0, 'one thread loads each batch when its step begins');
        });
        assert.ok(helped, `${what}: the helpers ran no chunk in 200 runs and a minute`);
      }
    }
  });

  it('a weight matrix\'s update handed to the helpers while the caller goes on (openUpdateMatrix, join): the weights and moments of updateMatrix on one thread, bit for bit; a task opened after it waits for it', () => {
    // 784 x 128: 7 blocks of 128 rows, the last of 16.
    const R = 784, O = 128, n = R * O;
    const heaps = updateHeaps([1, 2], n);
    for (const kind of [0, 1, 2, 3]) {
      const [one, two] = heaps.map(({ h, bufs }, i) => {
        fill(bufs.w, 1); fill(bufs.g, 2); fill(bufs.m, 3); fill(bufs.v, 4, true);
        const k = h.kernels, m = kind === 1 || kind === 2 ? bufs.m.off : 0, v = kind >= 2 ? bufs.v.off : 0;
        if (i === 0) k.updateMatrix(kind, bufs.w.off, bufs.g.off, m, v, R, O, h.sums.off, 0.01, 0.9, 1e-3, 0.9, 0.999, 1e-3);
        else {
          assert.ok(k.openUpdateMatrix!(kind, bufs.w.off, bufs.g.off, m, v, R, O, h.sums.off, 0.01, 0.9, 1e-3, 0.9, 0.999, 1e-3));
          assert.ok(k.helpers!.busy, 'the task is open while the caller goes on');
          if (kind === 3) {
            // Another task before the join: it must first finish this one (else the two would share the task block).
            k.sgdUpdate(bufs.m.off, bufs.m.off, 3 * UPDATE_BLOCK, 0, 1, 0);
            assert.equal(k.helpers!.busy, false);
          }
          k.join!();
        }
        return { w: Array.from(bufs.w.v), m: Array.from(bufs.m.v), v: Array.from(bufs.v.v) };
      });
      assert.deepEqual(two.w, one.w, `kind ${kind}: weights`);
      assert.deepEqual(two.m, one.m, `kind ${kind}: first moment`);
      assert.deepEqual(two.v, one.v, `kind ${kind}: second moment`);
    }
    assert.equal(heaps[0].h.kernels.openUpdateMatrix, undefined, 'one thread has nothing to hand over');
    for (const { h } of heaps) h.kernels.dispose();
  });

  it('softmax cross-entropy split by rows over 2 and 3 threads (crossEntropyRows): the loss and every gradient value of one thread, bit for bit, one-hot and soft targets', () => {
    // 301 rows of 10: enough to split (>= 2048 values), a last chunk shorter than the others. A row dropped or
    // counted twice by the chunks would change the sum; soft targets with several nonzero values per row check
    // that the loss is summed term by term in row order, as on one thread.
    const rows = 301, n = 10;
    const config = makeConfig([4], [{ type: 'dense', units: 64, activation: 'relu' }, { type: 'dense', units: n, activation: 'softmax' }],
      { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.1, batch: rows });
    const nets = [1, 2, 3].map(threads => {
      const net = new Network(config, { rows, kernels: 'wasm', threads }).commit();
      if (threads > 1) assert.ok(net.heap.kernels.helpers?.waitReady(), 'helper threads started');
      return net;
    });
    for (const soft of [false, true]) {
      let helped = false;
      for (let attempt = 0, since = Date.now(); !helped && keepTrying(since, attempt); attempt++) {
        const got = nets.map(net => {
          const last = net.layers[1];
          for (let i = 0; i < rows * n; i++) last.z!.v[i] = 8 * Math.sin(i * 0.731 + attempt);
          net.target.v.fill(0);
          for (let r = 0; r < rows; r++) {
            if (soft) { net.target.v[r * n + (r % n)] = 0.75; net.target.v[r * n + ((r * 7) % n)] += 0.25; } else net.target.v[r * n + ((r * 3) % n)] = 1;
          }
          last.dOut.v.fill(NaN);
          const handed = net.heap.kernels.helpers?.handed ?? 0;
          const loss = net.computeLoss(rows, true);
          return { loss, grad: Array.from(last.dOut.v.subarray(0, rows * n)), handed: (net.heap.kernels.helpers?.handed ?? 0) - handed };
        });
        helped = got[1].handed > 0 && got[2].handed > 0;
        // One thread against float64 by hand: the mean of lse - z at the targets, weighted by them.
        let want = 0;
        const z = nets[0].layers[1].z!.v, y = nets[0].target.v;
        for (let r = 0; r < rows; r++) {
          const row = Array.from(z.subarray(r * n, r * n + n)), m = Math.max(...row), lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
          for (let j = 0; j < n; j++) want += y[r * n + j] * (lse - row[j]);
        }
        assert.ok(Math.abs(got[0].loss - want / rows) < 1e-12 * Math.abs(want / rows), `one thread: loss ${got[0].loss}, by hand ${want / rows}`);
        for (const t of [1, 2]) {
          assert.equal(got[t].loss, got[0].loss, `${t + 1} threads, soft ${soft}: loss`);
          assert.deepEqual(got[t].grad, got[0].grad, `${t + 1} threads, soft ${soft}: gradient`);
        }
      }
      assert.ok(helped, 'the helpers took no rows of the loss in 200 tries and a minute');
    }
    for (const net of nets) net.heap.kernels.dispose();
  });

  it('a run whose softmax cross-entropy is split by rows, also over a probe batch shorter than the buffers (70 of 96 rows): 2 and 3 threads give 1 thread\'s losses, probes, evaluations and weights, bit for bit, class indices and soft targets', () => {
    // 32 classes: a step's 96 x 32 and the probe's 70 x 32 values are both enough to split (>= 2048). The probe is
    // the only caller with fewer rows than the buffers hold: its gradient scale and sums must use its own rows.
    const config = makeConfig([784], [{ type: 'dense', units: 128, activation: 'tanh' }, { type: 'dense', units: 32, activation: 'softmax' }],
      { loss: 'cross_entropy', optimizer: 'adam', lr: 0.01, batch: 96, steps: 8 }, { probe: { every: 3, samples: 70 } });
    const indices = randomData([784], 32, 400, 7, 32), soft = randomData([784], 32, 400, 8);
    // Soft targets: each row a distribution with every class weighted (a softmax of random numbers).
    for (const split of [soft.train, soft.val]) for (let i = 0; i < split.n; i++) {
      const row = split.y.subarray(32 * i, 32 * i + 32), e = Array.from(row, v => Math.exp(2 * v)), sum = e.reduce((a, b) => a + b, 0);
      e.forEach((v, j) => { row[j] = v / sum; });
    }
    for (const [label, data] of [['class indices', indices], ['soft targets', soft]] as const) {
      assert.equal(data.val.n, 100, 'the probe batch is not the whole validation split: each probe evaluates it too');
      const session = (threads: number) => {
        const t = new Trainer(config, data, { threads });
        const k = t.net.heap.kernels, split = k.crossEntropyRows;
        let partial = 0, whole = 0;
        if (split) k.crossEntropyRows = (...a) => { const done = split(...a); if (done) { if (a[3] < t.net.rows) partial++; else whole++; } return done; };
        if (threads > 1) assert.ok(k.helpers?.waitReady(), 'helper threads started');
        const r = t.run();
        return { losses: r.lossCurve, timeline: JSON.stringify(r.timeline), weights: t.net.params.map(p => Array.from(p.w.v)), partial, whole, handed: k.helpers?.handed ?? 0 };
      };
      const one = session(1);
      assert.equal(one.losses.length, 8);
      for (const threads of [2, 3]) {
        let helped = false;
        for (let attempt = 0, since = Date.now(); !helped && keepTrying(since, attempt); attempt++) {
          const many = session(threads);
          helped = many.handed > 0;
          assert.equal(many.partial, 4, `${label}, ${threads} threads: the four probes' loss split over the threads`);
          // A step's loss is split only before a probe (steps 3, 6 and 8): the others compute it while the helpers
          // gather the next batch (Network.loadAhead), which is not done before a probe, which loads its own rows.
          assert.equal(many.whole, 3, `${label}, ${threads} threads: the loss of the steps before a probe split, the others not`);
          assert.deepEqual(many.losses, one.losses, `${label}, ${threads} threads: loss of each step`);
          assert.equal(many.timeline, one.timeline, `${label}, ${threads} threads: probes and evaluations`);
          assert.deepEqual(many.weights, one.weights, `${label}, ${threads} threads: weights`);
        }
        assert.ok(helped, `${label}, ${threads} threads: the helpers ran no chunk in 200 runs and a minute`);
      }
    }
  });

  it('the rule: a helper starts only when some GEMM of a step is >= 2^21 flops (README "Both cores")', () => {
    // dense 64 -> 128 at batch b: the forward GEMM is 2 * b * 64 * 128 flops = 2^21 exactly at b = 128.
    assert.equal(SPLIT_GEMM_FLOPS, 2 ** 21);
    const net = (batch: number) => makeConfig([64], [{ type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 1 }], { batch });
    const notes: string[] = [];
    const at = (batch: number) => { const t = new Trainer(net(batch), randomData([64], 1, 300, 3), { threads: 2, onNote: l => notes.push(l) }); const n = t.threads; t.dispose(); return n; };
    assert.equal(at(128), 2, '2 * 128 * 64 * 128 = 2^21 flops: split');
    assert.equal(at(127), 1, '2 * 127 * 64 * 128 < 2^21 flops: one thread');
    assert.deepEqual(notes, [], 'onNote is for fewer threads than asked for: a net too small to split is not that');
  });

  // The threads of this process (Linux: /proc/self/task), to see helper threads end: a worker_threads Worker
  // is an OS thread. Helpers are unref'd, so a forgotten one would not keep the CLI from exiting; it would
  // stay in the extension's worker, with its GEMM scratch and the run's shared memory, one more per run.
  const tids = (): Set<string> | null => { try { return new Set(fs.readdirSync('/proc/self/task')); } catch { return null; } };
  /** The threads started since `before` (only synchronous code in between: none of another test's). */
  const since = (before: Set<string>) => [...tids()!].filter(t => !before.has(t));
  /** Until none of `started` is left (a terminated Worker ends asynchronously); false after 30 s. */
  async function gone(started: string[]): Promise<boolean> {
    const end = performance.now() + 30000;
    for (;;) {
      const now = tids()!;
      if (started.every(t => !now.has(t))) return true;
      if (performance.now() > end) return false;
      await new Promise(r => setTimeout(r, 20));
    }
  }
  const bigNet = () => makeConfig([64], [{ type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 1 }], { batch: 128, steps: 2 });

  it('a run ends its helper threads: none of the threads it started is left afterwards', async function () {
    startKeeper(); // the one thread kept (it starts every run's helpers), if no test started it yet
    const before = tids();
    if (!before) this.skip();
    const t = new Trainer(bigNet(), randomData([64], 1, 300, 3), { threads: 3 });
    assert.ok(t.net.heap.kernels.helpers?.waitReady(), 'helper threads started');
    const started = since(before!);
    assert.ok(started.length >= 2, 'the two helpers are threads of this process while the run lasts');
    assert.equal(t.run().stopped, 'completed');
    assert.ok(await gone(started), 'helper threads left after the run');
  });

  it('a model refused at construction (weights that do not fit) leaves no helper thread behind', async function () {
    startKeeper();
    const before = tids();
    if (!before) this.skip();
    assert.throws(() => new Trainer(bigNet(), randomData([64], 1, 300, 3), { threads: 3, initialWeights: [{ kernel: new Float32Array(5) }] }),
      /the model's weights do not fit dense_0\.kernel/);
    assert.ok(await gone(since(before!)), 'helper threads left after the refusal');
  });

  it('each optimizer update split over 2 threads: the same weights, moments and squared norm as one thread, bit for bit', () => {
    // 3.3 blocks of UPDATE_BLOCK elements, so the helpers take whole blocks and the last is short.
    const n = Math.floor(3.3 * UPDATE_BLOCK);
    const heaps = updateHeaps([1, 2], n);
    const ops: [string, (h: Heap, b: Record<'w' | 'g' | 'm' | 'v', Buf>) => number][] = [
      ['sgd', (h, b) => h.kernels.sgdUpdate(b.w.off, b.g.off, n, 0.1, 0.9, 1e-3)],
      ['momentum', (h, b) => h.kernels.momentumUpdate(b.w.off, b.g.off, b.m.off, n, 0.1, 0.9, 1e-3, 0.9)],
      ['adam', (h, b) => h.kernels.adamUpdate(b.w.off, b.g.off, b.m.off, b.v.off, n, 0.01, 0.9, 1e-3, 0.9, 0.999, 1e-3)],
      ['rmsprop', (h, b) => h.kernels.rmspropUpdate(b.w.off, b.g.off, b.v.off, n, 0.01, 0.9, 1e-3, 0.9, 1e-3)],
    ];
    for (const [name, op] of ops) {
      // The caller claims blocks too and may take them all before a sleeping helper wakes: repeat until the
      // helper took part (bounded; every repetition must already match).
      let helped = false;
      for (let attempt = 0, since = Date.now(); keepTrying(since, attempt) && !helped; attempt++) {
        const [one, two] = heaps.map(({ h, bufs }) => {
          fill(bufs.w, 1); fill(bufs.g, 2); fill(bufs.m, 3); fill(bufs.v, 4, true);
          const handed = h.kernels.helpers?.handed ?? 0;
          const usq = op(h, bufs);
          return { usq, handed: (h.kernels.helpers?.handed ?? 0) - handed, w: Array.from(bufs.w.v), m: Array.from(bufs.m.v), v: Array.from(bufs.v.v) };
        });
        helped = two.handed > 0;
        assert.ok(one.usq > 0, `${name}: the update moved the weights`);
        assert.equal(two.usq, one.usq, `${name}: squared norm of the update`);
        assert.deepEqual(two.w, one.w, `${name}: weights`);
        assert.deepEqual(two.m, one.m, `${name}: first moment`);
        assert.deepEqual(two.v, one.v, `${name}: second moment`);
      }
      assert.ok(helped, `${name}: the helper took no block in 200 updates and a minute`);
    }
    for (const { h } of heaps) h.kernels.dispose();
  });

  it('a weight matrix updated by row blocks on 1, 2 and 3 threads: the flat update\'s weights and moments bit for bit, the same squared norm on every thread count; its gradient\'s squares by column groups, the same on every thread count', () => {
    // 300 x 203: 4 blocks of 81 rows, the last of 57; rows of 203 floats (a 3-float tail after the f32x4 lanes).
    // Reference: the flat kernel, element by element.
    const R = 300, O = 203, n = R * O;
    assert.ok(colsShape([R, O]), 'this shape is a big weight matrix');
    assert.equal(Math.ceil(R / rowBlock(R, O)), 4);
    const heaps = updateHeaps([1, 2, 3], n);
    type B = Record<'w' | 'g' | 'm' | 'v', Buf>;
    const ops: [string, (h: Heap, b: B) => number, (h: Heap, b: B) => number][] = [
      ['sgd', (h, b) => h.kernels.updateMatrix(0, b.w.off, b.g.off, 0, 0, R, O, h.sums.off, 0.1, 0.9, 1e-3, 0, 0, 0),
        (h, b) => h.kernels.sgdUpdate(b.w.off, b.g.off, n, 0.1, 0.9, 1e-3)],
      ['momentum', (h, b) => h.kernels.updateMatrix(1, b.w.off, b.g.off, b.m.off, 0, R, O, h.sums.off, 0.1, 0.9, 1e-3, 0.9, 0, 0),
        (h, b) => h.kernels.momentumUpdate(b.w.off, b.g.off, b.m.off, n, 0.1, 0.9, 1e-3, 0.9)],
      ['adam', (h, b) => h.kernels.updateMatrix(2, b.w.off, b.g.off, b.m.off, b.v.off, R, O, h.sums.off, 0.01, 0.9, 1e-3, 0.9, 0.999, 1e-3),
        (h, b) => h.kernels.adamUpdate(b.w.off, b.g.off, b.m.off, b.v.off, n, 0.01, 0.9, 1e-3, 0.9, 0.999, 1e-3)],
      ['rmsprop', (h, b) => h.kernels.updateMatrix(3, b.w.off, b.g.off, 0, b.v.off, R, O, h.sums.off, 0.01, 0.9, 1e-3, 0.9, 1e-3, 0),
        (h, b) => h.kernels.rmspropUpdate(b.w.off, b.g.off, b.v.off, n, 0.01, 0.9, 1e-3, 0.9, 1e-3)],
    ];
    const state = (h: Heap, b: B, r: number) => ({ r, w: Array.from(b.w.v), m: Array.from(b.m.v), v: Array.from(b.v.v) });
    for (const [name, cols, flat] of ops) {
      const { h: h1, bufs: b1 } = heaps[0];
      fill(b1.w, 1); fill(b1.g, 2); fill(b1.m, 3); fill(b1.v, 4, true);
      // Two updates in a row: a helper asleep during the fills is awake for the second (a thread that has not
      // started its blocks when the caller is done with its own gets them taken: parallel.ts sweep).
      flat(h1, b1);
      const ref = state(h1, b1, flat(h1, b1));
      const helped = [false, false];
      for (let attempt = 0, since = Date.now(); keepTrying(since, attempt) && !(helped[0] && helped[1]); attempt++) {
        const got = heaps.map(({ h, bufs }) => {
          fill(bufs.w, 1); fill(bufs.g, 2); fill(bufs.m, 3); fill(bufs.v, 4, true);
          const handed = h.kernels.helpers?.handed ?? 0;
          cols(h, bufs);
          const r = cols(h, bufs);
          return { ...state(h, bufs, r), handed: (h.kernels.helpers?.handed ?? 0) - handed };
        });
        for (const t of [0, 1]) helped[t] ||= got[t + 1].handed > 0;
        assert.ok(Math.abs(got[0].r - ref.r) <= 1e-12 * ref.r && ref.r > 0, `${name}: squared norm ${got[0].r}, flat ${ref.r}`);
        assert.deepEqual(got[0].w, ref.w, `${name}: weights as the flat update`);
        assert.deepEqual(got[0].m, ref.m, `${name}: first moment as the flat update`);
        assert.deepEqual(got[0].v, ref.v, `${name}: second moment as the flat update`);
        for (const t of [1, 2]) {
          assert.equal(got[t].r, got[0].r, `${name}, ${t + 1} threads: squared norm`);
          assert.deepEqual(got[t].w, got[0].w, `${name}, ${t + 1} threads: weights`);
          assert.deepEqual(got[t].m, got[0].m, `${name}, ${t + 1} threads: first moment`);
          assert.deepEqual(got[t].v, got[0].v, `${name}, ${t + 1} threads: second moment`);
        }
      }
      assert.deepEqual(helped, [true, true], `${name}: the helpers of 2 and 3 threads took blocks within 200 updates and a minute`);
    }
    // 7 groups of 32 columns, the last of 11, each row by row (gemmGrad's order, one thread's work on any count).
    const sq = heaps.map(({ h, bufs }) => { fill(bufs.g, 2); return h.kernels.colSumSquares(bufs.g.off, R, O, h.sums.off); });
    const flatSq = heaps[0].h.kernels.sumSquares(heaps[0].bufs.g.off, n);
    assert.ok(Math.abs(sq[0] - flatSq) <= 1e-12 * flatSq && flatSq > 0, `gradient sum of squares ${sq[0]}, flat ${flatSq}`);
    assert.deepEqual(sq.slice(1), [sq[0], sq[0]], 'gradient sum of squares on 2 and 3 threads');
    for (const { h } of heaps) h.kernels.dispose();
  });

  it('each conv/pool kernel cut into chunks as the helpers take them, run in reverse order, writes what one call writes, bit for bit', () => {
    // a conv 3x3 (4 -> 8 channels, relu) and a 2x2 max pool over 5 images of 9 x 8: every op in its task's chunks
    const rows = 5, H = 9, W = 8, C = 4, F = 8, OH = 7, OW = 6, KK = 36, P = rows * OH * OW, PH = 3, PW = 3;
    const img = H * W * C, aimg = OH * OW * F, pimg = PH * PW * F, stride = ((KK + 1) * F + 3) & ~3, G = 3, per = 2 * OH * OW;
    let o = 64;
    const at = (n: number) => { const p = o; o += n + 4; return p; };
    const x = at(rows * img), cols = at(P * KK), w = at(KK * F), bias = at(F), z = at(P * F), a = at(P * F), pout = at(rows * pimg), parg = at(rows * pimg);
    const g = at(rows * pimg), dz = at(P * F), parts = at(G * stride), dcols = at(P * KK), dx = at(rows * img), pack = at(384 * 128 + 32);
    const tasks: [typeof HELPER_OPS[number], number, number[]][] = [
      ['im2col', 2, [x, rows, H, W, C, 3, 3, 1, 1, 0, 0, OH, OW, cols]],
      ['gemm', 12, [cols, KK, 1, w, F, 1, z, F, P, KK, F, 1, 0, pack]],
      ['biasActForward', 7, [1, z, bias, a, P, F]],
      ['maxPool', 2, [a, rows, OH, OW, F, 2, 2, 2, 2, 0, 0, PH, PW, pout, parg, 0]],
      ['maxPoolBack', 2, [g, parg, rows * pimg, dz, 0, rows * aimg, rows]],
      ['convWeightGrad', 1, [cols, dz, KK, F, P, per, 0, G, parts, stride, 1, pack]],
      ['gemmCols', 8, [dz, F, 1, w, 1, F, dcols, KK, P, F, KK, 1, 0, pack]],
      ['col2im', 2, [dcols, rows, H, W, C, 3, 3, 1, 1, 0, 0, OH, OW, dx]],
    ];
    const mems = [0, 1].map(() => {
      const k = loadKernels('wasm', o + 64);
      for (let i = 0; i < o; i++) k.H[i] = Math.sin(i * 0.7) * 2;
      return k;
    });
    const call = (k: Kernels, op: number, args: number[]) => (k as unknown as Record<string, (...v: number[]) => void>)[HELPER_EXPORTS[op]](...args);
    for (const [name, size, args] of tasks) {
      const op = HELPER_OPS.indexOf(name), total = name === 'gemm' ? P : name === 'gemmCols' ? KK : name === 'biasActForward' ? P : name === 'convWeightGrad' ? G : rows;
      call(mems[0], op, name === 'maxPoolBack' ? args.slice(0, 6) : args);
      const chunks = Math.ceil(total / size);
      assert.ok(chunks >= 3, `${name}: ${chunks} chunks`);
      for (let i = chunks - 1; i >= 0; i--) call(mems[1], op, chunkArgs(op, size, i, args, pack)!);
      const [u, v] = mems.map(k => new Int32Array(k.H.buffer, 0, pack)); // all but the GEMM's scratch
      const bad = u.findIndex((bits, i) => bits !== v[i]);
      assert.equal(bad, -1, `${name}: memory differs at float ${bad} after its chunks`);
    }
  });

  it('a one-channel conv computed directly (convDirect by images, convDirectGrad by groups with the sigmoid backward inside) cut into chunks, run in reverse order, writes what one call writes, bit for bit', () => {
    const rows = 7, H = 10, W = 9, F = 12, OH = 10, OW = 9, P = rows * OH * OW, KK = 9, stride = ((KK + 1) * F + 3) & ~3, G = 4, per = 2;
    let o = 64;
    const at = (n: number) => { const p = o; o += n + 4; return p; };
    const desc = at(14), frames = at(rows * (H + 2) * (W + 2)), x = at(rows * H * W), w = at(KK * F), bias = at(F), z = at(P * F), a = at(P * F), dz = at(P * F), parts = at(G * stride);
    const tasks: [typeof HELPER_OPS[number], number, number, number[]][] = [
      ['convDirect', 2, rows, [desc, x, 0, rows, w, bias, 1, z, a]],
      // sigmoid's backward, not relu's: applied twice to a group (overlapping chunks), relu's mask would not show
      ['convDirectGrad', 1, G, [desc, x, dz, rows, per, 0, G, parts, stride, bias, z, a, 2]],
    ];
    const mems = [0, 1].map(() => {
      const k = loadKernels('wasm', o + 64);
      for (let i = 0; i < o; i++) k.H[i] = Math.sin(i * 0.7) * 2;
      new Int32Array(k.H.buffer, desc * 4, 14).set([H, W, 3, 3, 1, 1, 1, 1, OH, OW, F, H + 2, W + 2, frames]);
      return k;
    });
    const call = (k: Kernels, op: number, args: number[]) => (k as unknown as Record<string, (...v: number[]) => void>)[HELPER_EXPORTS[op]](...args);
    for (const [name, size, total, args] of tasks) {
      const op = HELPER_OPS.indexOf(name);
      call(mems[0], op, args);
      const chunks = Math.ceil(total / size);
      assert.ok(chunks >= 3, `${name}: ${chunks} chunks`);
      for (let i = chunks - 1; i >= 0; i--) call(mems[1], op, chunkArgs(op, size, i, args, 0)!);
      const [u, v] = mems.map(k => new Int32Array(k.H.buffer, 0, o));
      const bad = u.findIndex((bits, i) => bits !== v[i]);
      assert.equal(bad, -1, `${name}: memory differs at float ${bad} after its chunks`);
    }
  });

  it('a weight gradient with its squares and bias sums in the same chunks (gemmGrad) on 1, 2 and 3 threads: the separate kernels\' numbers, bit for bit', () => {
    // Dense's layout: dW[I x O] = x^T dz over K batch rows; K > 384 takes two K blocks, O = 203 ends in a group
    // of 11 columns (chunks are whole groups of 32). Reference: gemm, colSums and colSumSquares one by one.
    const I = 300, K = 400, O = 203;
    assert.ok(colsShape([I, O]), 'this shape is summed by column groups');
    const heaps = [1, 2, 3].map(threads => {
      const h = new Heap('wasm', threads);
      const b = { x: h.alloc(K * I), dz: h.alloc(K * O), g: h.alloc(I * O), bias: h.alloc(O), g1: h.alloc(I * O), bias1: h.alloc(O) };
      h.commit();
      if (threads > 1) assert.ok(h.kernels.helpers?.waitReady(), 'helper threads started');
      fill(b.x, 5); fill(b.dz, 6);
      return { h, b };
    });
    const { h: h1, b: r } = heaps[0], k1 = h1.kernels;
    k1.gemm(r.x.off, 1, I, r.dz.off, O, 1, r.g1.off, O, I, K, O, 1, 0, h1.pack.off);
    k1.colSums(r.dz.off, K, O, r.bias1.off);
    const refSq = k1.colSumSquares(r.g1.off, I, O, h1.sums.off);
    let naive = 0;
    for (const v of r.g1.v) naive += v * v;
    assert.ok(Math.abs(refSq - naive) <= 1e-12 * naive && naive > 0, `squares ${refSq}, naive ${naive}`);
    const helped = [false, false];
    for (let attempt = 0, since = Date.now(); keepTrying(since, attempt) && !(helped[0] && helped[1]); attempt++) {
      heaps.forEach(({ h, b }, t) => {
        const k = h.kernels, handed = k.helpers?.handed ?? 0;
        for (const withBias of [true, false]) {
          b.g.v.fill(NaN); b.bias.v.fill(NaN);
          const sq = k.gemmGrad(b.x.off, 1, I, b.dz.off, O, 1, b.g.off, I, K, O, h.pack.off, h.sums.off, withBias ? b.bias.off : 0);
          assert.equal(sq, refSq, `${t + 1} threads: the squares`);
          assert.deepEqual(Array.from(b.g.v), Array.from(r.g1.v), `${t + 1} threads: the gradient`);
          if (withBias) assert.deepEqual(Array.from(b.bias.v), Array.from(r.bias1.v), `${t + 1} threads: the bias sums`);
          else assert.ok(b.bias.v.every(Number.isNaN), `${t + 1} threads: no bias, none written`);
        }
        if (t > 0) helped[t - 1] ||= (k.helpers?.handed ?? 0) > handed;
      });
    }
    assert.deepEqual(helped, [true, true], 'the helpers of 2 and 3 threads took columns within 200 tries and a minute');
    // The reference kernels (plain loops) agree to float32 rounding.
    const js = jsKernels(new Float32Array(h1.H.length));
    js.H.set(h1.H);
    const jsSq = js.gemmGrad(r.x.off, 1, I, r.dz.off, O, 1, r.g.off, I, K, O, h1.pack.off, h1.sums.off, r.bias.off);
    assert.ok(Math.abs(jsSq - refSq) <= 1e-5 * refSq, `js squares ${jsSq}, wasm ${refSq}`);
    for (let i = 0; i < I * O; i++) assert.ok(Math.abs(js.H[r.g.off + i] - r.g1.v[i]) <= 1e-4 * (1 + Math.abs(r.g1.v[i])), `js gradient at ${i}`);
    for (let j = 0; j < O; j++) assert.ok(Math.abs(js.H[r.bias.off + j] - r.bias1.v[j]) <= 1e-4 * (1 + Math.abs(r.bias1.v[j])), `js bias at ${j}`);
    for (const { h } of heaps) h.kernels.dispose();
  });

  it('a dense forward pass with its bias and activation in the GEMM\'s chunks (gemmAct) on 1, 2 and 3 threads: the separate kernels\' numbers, bit for bit', () => {
    // z[M x N] = x W (+ bias), out = f(z): by columns (N = 203: a 3-float tail in every row), by rows (N = 40, too
    // narrow for columns) and unsplit (a small GEMM). Reference: gemm, biasAct and actForward one after the other.
    const shapes = [[256, 300, 203], [1024, 100, 40], [16, 30, 70]];
    const heaps = [1, 2, 3].map(threads => {
      const h = new Heap('wasm', threads);
      const bufs = shapes.map(([M, K, N]) => ({ x: h.alloc(M * K), w: h.alloc(K * N), bias: h.alloc(N), z: h.alloc(M * N), out: h.alloc(M * N), z1: h.alloc(M * N), out1: h.alloc(M * N) }));
      h.commit();
      if (threads > 1) assert.ok(h.kernels.helpers?.waitReady(), 'helper threads started');
      bufs.forEach((b, i) => { fill(b.x, 7 + i); fill(b.w, 8 + i); fill(b.bias, 9 + i); });
      // A NaN input: its row of z is NaN, and relu keeps NaN in every column (a row's last columns are a
      // chunk's tail, where the kernel goes one value at a time).
      bufs[0].x.v[5 * shapes[0][1]] = NaN;
      return { h, bufs };
    });
    const helped = [false, false];
    for (let attempt = 0, since = Date.now(); keepTrying(since, attempt) && !(helped[0] && helped[1]); attempt++) {
      heaps.forEach(({ h, bufs }, t) => {
        const k = h.kernels, handed = k.helpers?.handed ?? 0;
        shapes.forEach(([M, K, N], i) => {
          const b = bufs[i], { h: h1, bufs: b1 } = heaps[0], r = b1[i];
          for (const act of [0, 1, 2, 3]) for (const withBias of [true, false]) {
            const what = `${t + 1} threads, ${M}x${K}x${N}, act ${act}${withBias ? ', bias' : ''}`;
            h1.kernels.gemm(r.x.off, K, 1, r.w.off, N, 1, r.z1.off, N, M, K, N, 1, 0, h1.pack.off);
            if (withBias) h1.kernels.biasAct(r.z1.off, r.bias.off, M, N, 0);
            if (act) h1.kernels.actForward(act, r.z1.off, r.out1.off, M * N);
            b.z.v.fill(NaN); b.out.v.fill(NaN);
            k.gemmAct(b.x.off, K, 1, b.w.off, N, 1, b.z.off, M, K, N, h.pack.off, withBias ? b.bias.off : 0, act, b.out.off);
            assert.deepEqual(Array.from(b.z.v), Array.from(r.z1.v), `${what}: z`);
            if (act) assert.deepEqual(Array.from(b.out.v), Array.from(r.out1.v), `${what}: out`);
            else assert.ok(b.out.v.every(Number.isNaN), `${what}: no activation, out untouched`);
          }
        });
        if (t > 0) helped[t - 1] ||= (k.helpers?.handed ?? 0) > handed;
      });
    }
    assert.deepEqual(helped, [true, true], 'the helpers of 2 and 3 threads took chunks within 200 tries and a minute');
    // The reference kernels (plain loops) agree to float32 rounding: relu + bias on the first shape.
    const [M, K, N] = shapes[0], { h: h1, bufs: [r] } = heaps[0];
    h1.kernels.gemmAct(r.x.off, K, 1, r.w.off, N, 1, r.z.off, M, K, N, h1.pack.off, r.bias.off, 1, r.out.off);
    const js = jsKernels(new Float32Array(h1.H.length));
    js.H.set(h1.H);
    js.gemmAct(r.x.off, K, 1, r.w.off, N, 1, r.z1.off, M, K, N, h1.pack.off, r.bias.off, 1, r.out1.off);
    for (let i = 0; i < M * N; i++) {
      if (Number.isNaN(r.z.v[i])) { assert.ok(Number.isNaN(js.H[r.z1.off + i]), `js z at ${i}: NaN`); continue; }
      assert.ok(Math.abs(js.H[r.z1.off + i] - r.z.v[i]) <= 1e-4 * (1 + Math.abs(r.z.v[i])), `js z at ${i}`);
      assert.ok(Math.abs(js.H[r.out1.off + i] - r.out.v[i]) <= 1e-4 * (1 + Math.abs(r.out.v[i])), `js out at ${i}`);
    }
    for (const { h } of heaps) h.kernels.dispose();
  });

  it('a chunk failing on the calling thread closes its task: the error comes out, and the next task is computed right', () => {
    const mod = mtModuleOrNull()!;
    const n = 1 << 16, z = 1024, a = z + n, pages = Math.ceil((a + n) * 4 / 65536) + 1;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const ex = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as Record<string, (...x: number[]) => number>;
    let fail = true;
    const helpers = new Helpers(mod, memory, 1, [0], (op, args) => {
      if (fail) { fail = false; throw new Error('chunk failed'); }
      return ex[HELPER_EXPORTS[op]](...args);
    });
    try {
      assert.ok(helpers.waitReady());
      const H = new Float32Array(memory.buffer);
      for (let i = 0; i < n; i++) H[z + i] = i % 2 ? -i : i;
      // On a loaded machine the helper may take all 64 chunks before this thread claims one (then nothing
      // fails): repeat the task until this thread's chunk failed (keepTrying).
      let threw = false;
      for (let attempt = 0, since = Date.now(); fail && keepTrying(since, attempt); attempt++) {
        try { helpers.parallel('actForward', 64, n / 64, [1, z, a, n], 0); } catch (e) { assert.match((e as Error).message, /chunk failed/); threw = true; }
      }
      assert.equal(fail, false, 'this thread claimed no chunk in 200 tasks and a minute');
      assert.ok(threw, 'the failed chunk\'s error did not come out of parallel()');
      H.fill(7, a, a + n);
      helpers.parallel('actForward', 64, n / 64, [1, z, a, n], 0); // relu
      for (let i = 0; i < n; i++) if (H[a + i] !== Math.max(0, H[z + i])) assert.fail(`a[${i}] = ${H[a + i]}, relu(${H[z + i]}) expected`);
    } finally { helpers.dispose(); }
  });

  /** Worker threads a test started, ended after it whether it passed or timed out (a hung one would keep mocha alive). */
  const strays: Worker[] = [];
  afterEach(async () => { for (const w of strays.splice(0)) await w.terminate(); });

  it('a helper thread that ends inside a chunk (killed there: the test hook exits it) ends the run with a clear error, not a hang', async function () {
    // The run goes on in a worker thread, as in the extension, so that a hang fails this test by its timeout
    // instead of blocking mocha. Its helper ends at its first chunk (testHooks, set in that thread only); before the
    // keeper (parallel.ts), the calling thread waited for that chunk forever.
    this.timeout(120000);
    const config = { ...bigNet(), train: { ...bigNet().train, steps: 300 } };
    const data = randomData([64], 1, 300, 3);
    const src = path.resolve(__dirname, '../../../src');
    const w = new Worker(`
      const { parentPort, workerData } = require('node:worker_threads');
      require('tsx/cjs/api').register();
      require(workerData.src + '/core/parallel.ts').testHooks.helperExitsInChunk = true;
      const { runRequest } = require(workerData.src + '/worker/trainWorker.ts');
      const posted = [];
      runRequest({ type: 'start', runId: 1, config: workerData.config, baseDir: '.', maxSteps: 1e6, memoryLimitMB: 4096, threads: 2 },
        m => posted.push(m.type === 'error' ? { type: m.type, message: m.message } : { type: m.type, threads: m.threads }), () => workerData.data);
      parentPort.postMessage(posted);`, { eval: true, workerData: { src, config, data } });
    strays.push(w);
    const posted = await new Promise<{ type: string; message?: string; threads?: number }[]>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    // Not `threads` in 'started': under load the helper may start after the worker's 2 s wait for it; it still takes
    // a chunk later, and only that ends the run with this message.
    assert.equal(posted[0].type, 'started');
    assert.deepEqual(posted[posted.length - 1], { type: 'error', message: HELPER_STOPPED }, 'the run ends with the stopped helper\'s message');
    assert.doesNotMatch(HELPER_STOPPED, /\n|\bat\b.*:\d+/, 'a sentence, no stack');
  });

  it('a helper whose chunk traps (a matrix update\'s row block past the memory) fails the task with "a training helper thread failed", is ready no more, and the caller is not left waiting', function () {
    // 1024 x 64 in 4 blocks of 256 rows; w ends 2 blocks past the memory, so blocks 2 and 3 (the helper's own,
    // parallel.ts sweep) trap. A helper asleep leaves them to this thread, whose trap comes out instead: repeat.
    const mod = mtModuleOrNull()!;
    const R = 1024, O = 64, rb = rowBlock(R, O), pages = 8, end = pages * 16384, g = 1024, w = end - 2 * rb * O, out = 512;
    assert.equal(Math.ceil(R / rb), 4);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const ex = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as Record<string, (...x: number[]) => number>;
    const helpers = new Helpers(mod, memory, 1, [0], (op, args) => ex[HELPER_EXPORTS[op]](...args));
    try {
      assert.ok(helpers.waitReady());
      let message = '';
      for (let attempt = 0, since = Date.now(); !/helper thread failed/.test(message) && keepTrying(since, attempt); attempt++) {
        try { helpers.parallel('updateCols', 4, rb, [0, w, g, 0, 0, R, O, 0, O, O, out, 0.1, 1, 0, 0, 0, 0], 0); message = 'no error'; } catch (e) { message = (e as Error).message; }
        assert.notEqual(message, 'no error', 'a task with blocks past the memory did not fail');
      }
      assert.match(message, /a training helper thread failed/, 'the helper took none of its blocks in 200 tasks and a minute');
      assert.equal(helpers.ready(), 0, 'a failed helper is not ready: the kernels run on the calling thread alone');
    } finally { helpers.dispose(); }
  });

  it('task ids past 2^31 (a run of hours): each chunk of a task still runs once, with the helper taking part', () => {
    const mod = mtModuleOrNull()!;
    const n = 1 << 16, chunks = 64, size = n / chunks, w = 1024, g = w + n, ref = g + n, pages = Math.ceil((ref + n) * 4 / 65536) + 1;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const ex = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as Record<string, (...x: number[]) => number>;
    const helpers = new Helpers(mod, memory, 1, [0], (op, args) => ex[HELPER_EXPORTS[op]](...args));
    try {
      assert.ok(helpers.waitReady());
      const H = new Float32Array(memory.buffer);
      for (let i = 0; i < n; i++) { H[w + i] = H[ref + i] = 1; H[g + i] = ((i * 7919) % 1000) / 1000 - 0.5; }
      // The task counter just before it leaves int32 (reached after ~2^31 tasks: a long run, or here).
      (helpers as unknown as { taskId: number }).taskId = 2 ** 31 - 20;
      const handed0 = helpers.handed;
      // An sgd step is not idempotent: a chunk run twice moves its weights twice. Reference: the same step on this
      // thread alone, chunk by chunk (so the squared norm is summed in the same order).
      for (let task = 0, since = Date.now(); task < 200 || (helpers.handed === handed0 && keepTrying(since, task)); task++) {
        const usq = helpers.parallel('sgdUpdate', chunks, size, [w, g, n, 0.01, 1, 0], 0, 2);
        let want = 0;
        for (let c = 0; c < chunks; c++) want += ex.sgdUpdate(ref + c * size, g + c * size, size, 0.01, 1, 0);
        assert.equal(usq, want, `task ${task}: squared norm of the update`);
        for (let i = 0; i < n; i++) if (H[w + i] !== H[ref + i]) assert.fail(`task ${task}: w[${i}] = ${H[w + i]}, ${H[ref + i]} expected`);
      }
      assert.ok(helpers.handed > handed0, 'the helper took no chunk in 200 tasks and a minute');
    } finally { helpers.dispose(); }
  });

  it('gatherRows copies whole rows: row r of the batch is input row idx[r] (first, last, repeated), widths 7 and 784, nothing past the batch; the same on the wasm module, the threads\' module and in JavaScript', () => {
    for (const I of [7, 784]) {
      const n = 9, idx = [n - 1, 0, 4, 4, 2], rows = idx.length;
      const want: number[] = [];
      for (const s of idx) for (let j = 0; j < I; j++) want.push(s * 1000 + j + 0.5);
      for (const [label, heap] of [['wasm', new Heap('wasm', 1)], ['threads', new Heap('wasm', 2)], ['js', new Heap('js', 1)]] as const) {
        const src = heap.alloc(n * I), ids = heap.alloc(rows), dst = heap.alloc(rows * I + 16);
        heap.commit();
        for (let s = 0; s < n; s++) for (let j = 0; j < I; j++) src.v[s * I + j] = s * 1000 + j + 0.5;
        new Int32Array(ids.v.buffer, ids.v.byteOffset, rows).set(idx);
        dst.v.fill(-7);
        heap.kernels.gatherRows(src.off, I, ids.off, rows, dst.off);
        assert.deepEqual(Array.from(dst.v.subarray(0, rows * I)), want, `${label}, width ${I}`);
        assert.deepEqual(Array.from(dst.v.subarray(rows * I)), new Array(16).fill(-7), `${label}, width ${I}: past the batch`);
        heap.kernels.dispose();
      }
    }
  });

  it('with threads the training inputs are held in the memory and every batch is gathered there, the next step\'s by the helpers while the calling thread computes the loss (not before a probe): the rows and targets one thread copies, step after step (through a reshuffle, and the probe batch read from the training split); a split over 64 MB is not held', () => {
    // No validation split: the probe batch is training rows too, loaded through the same path without indices.
    const data = randomData(mlp.model.input, 10, 96, 5, 10);
    data.val = { x: new Float32Array(0), y: new Float32Array(0), n: 0 };
    const config = { ...mlp, train: { ...mlp.train, steps: 1000 }, probe: { ...mlp.probe, samples: 40 } };
    const session = (threads: number) => {
      const t = new Trainer(config, data, { threads, probeEvery: 1000 });
      if (threads > 1) assert.ok(t.net.heap.kernels.helpers?.waitReady(), 'helper threads started');
      const k = t.net.heap.kernels, gather = k.gatherRows, openGather = k.openGatherRows;
      let gathered = 0;
      k.gatherRows = (...a) => { gathered++; gather(...a); };
      if (openGather) k.openGatherRows = (...a) => { const opened = openGather(...a); if (opened) gathered++; return opened; };
      const seen: number[][] = [];
      const forward = t.net.forward.bind(t.net), computeLoss = t.net.computeLoss.bind(t.net);
      t.net.forward = (rows, mode) => {
        seen.push([...t.net.input.v.subarray(0, rows * 784), ...t.net.target.v.subarray(0, rows * 10)]);
        forward(rows, mode);
      };
      // Whether a task (the next batch's gather) is open while each loss is computed.
      const gatheringAtLoss: boolean[] = [];
      t.net.computeLoss = (rows, grad) => { gatheringAtLoss.push(k.helpers?.busy ?? false); return computeLoss(rows, grad); };
      t.trainSteps(3);
      t.probe();
      t.trainSteps(2);
      t.dispose();
      return { seen, gathered, losses: t.lossCurve, gatheringAtLoss };
    };
    const one = session(1), two = session(2);
    assert.equal(one.gathered, 0);
    // Steps 1-3 (no probe is due: every step's next batch is gathered ahead), the probe and its evaluation's two
    // chunks (no gather open: they load their own rows), steps 4-5 (the first loads its batch again).
    assert.deepEqual(two.gatheringAtLoss, [true, true, true, false, false, false, true, true]);
    // 5 steps, the probe, and its evaluation of the training split in two chunks of 64 and 32 rows: 8 forward
    // passes, each over rows gathered (a step after the probe gathers its batch again).
    assert.equal(two.seen.length, 8);
    assert.ok(two.gathered >= 8, `${two.gathered} batches gathered`);
    two.seen.forEach((rows, i) => assert.ok(rows.length === one.seen[i].length && rows.every((v, j) => v === one.seen[i][j]), `forward pass ${i}: rows and targets`));
    assert.deepEqual(two.losses, one.losses);
    // Memory: the held inputs (and the batch's indices) only with threads, and only up to MAX_HELD_FLOATS.
    const bytes = (threads: number, trainSamples?: number) => new Network(mlp, { rows: 64, kernels: 'plan', threads, trainSamples }).heap.bytes;
    // The held rows, the batch's indices, and the other batch buffers (inputs, targets, indices) loadAhead fills.
    assert.equal(bytes(2, 96) - bytes(2), 4 * (96 * 784 + 64 + 64 * 784 + 64 * 10 + 64));
    assert.equal(bytes(1, 96), bytes(1));
    assert.equal(bytes(2, Math.floor(MAX_HELD_FLOATS / 784) + 1), bytes(2));
  });

  it('Network.loadAhead gathers a batch into the other pair of buffers as a task left open, the loaded batch untouched; useAhead finishes the task and makes that pair the loaded one: the batch\'s rows and one-hot targets', () => {
    // In a run the next forward pass's first split kernel would finish the task too (a task opened joins the open
    // one): here nothing does, so useAhead's own join is what the rows depend on.
    const data = randomData(mlp.model.input, 10, 96, 5, 10), x = data.train.x, y = data.train.y;
    const net = new Network(mlp, { rows: 64, kernels: 'wasm', threads: 2, trainSamples: 96 }).commit();
    net.holdTrainInputs(x);
    const helpers = net.heap.kernels.helpers!;
    assert.ok(helpers.waitReady(), 'helper threads started');
    const perm = Uint32Array.from({ length: 96 }, (_, i) => (i * 37) % 96);
    // Rows and one-hot targets of perm[start..start+64), by hand.
    const batch = (start: number) => {
      const ids = Array.from(perm.subarray(start, start + 64));
      return { x: ids.flatMap(s => Array.from(x.subarray(s * 784, s * 784 + 784))), y: ids.flatMap(s => Array.from({ length: 10 }, (_, j) => (j === y[s] ? 1 : 0))) };
    };
    const loaded = (b: Buf, n: number) => Array.from(b.v.subarray(0, n));
    net.loadRows(x, y, 1, perm, 0, 64);
    const first = { input: net.input, target: net.target };
    assert.ok(net.loadAhead(x, y, 1, perm, 32, 64));
    assert.equal(helpers.busy, true, 'the gather is a task left open while this thread goes on');
    net.useAhead();
    assert.equal(helpers.busy, false, 'useAhead finished the task');
    assert.notEqual(net.input, first.input);
    assert.deepEqual({ x: loaded(net.input, 64 * 784), y: loaded(net.target, 640) }, batch(32));
    assert.deepEqual({ x: loaded(first.input, 64 * 784), y: loaded(first.target, 640) }, batch(0), 'the batch loaded before is untouched');
    net.heap.kernels.dispose();
  });

  it('a small net (2-8-8-1) starts no helper thread: a second thread would only add hand-off cost', () => {
    const small = makeConfig([2], [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 1, activation: 'sigmoid' }],
      { loss: 'binary_cross_entropy', batch: 256 });
    const t = new Trainer(small, randomData([2], 1, 300, 3), { threads: 2 });
    assert.equal(t.threads, 1);
    assert.equal(t.net.heap.kernels.helpers, undefined);
    t.dispose();
  });
});

describe('threads: a big weight matrix\'s row blocks (rowBlock, chunkArgs)', () => {
  it('whole rows, ~UPDATE_BLOCK values a block, never more than MAX_BLOCKS blocks (Heap.sums holds four float64 per block), the last block short', () => {
    // [R, O, rows a block, blocks], hand-computed: ceil(16384 / O) rows, or ceil(R / 1024) when R is huge.
    for (const [R, O, rb, blocks] of [[300, 203, 81, 4], [784, 128, 128, 7], [512, 512, 32, 16], [1, 40000, 1, 1],
      [262144, 64, 256, 1024], [262145, 64, 257, 1021], [1e8, 64, 97657, 1024], [5e6, 1e5, 4883, 1024]]) {
      assert.equal(rowBlock(R, O), rb, `${R} x ${O}: rows a block`);
      assert.equal(Math.ceil(R / rb), blocks, `${R} x ${O}: blocks`);
    }
    assert.equal(new Heap('js').sums.n, 8 * MAX_BLOCKS, 'the scratch the blocks\' sums go to');
    for (let R = 1; R < 3e6; R = Math.ceil(R * 1.37) + 1) for (const O of [1, 3, 64, 203, 4096, 20000]) {
      assert.ok(Math.ceil(R / rowBlock(R, O)) <= MAX_BLOCKS, `${R} x ${O}: at most MAX_BLOCKS blocks`);
    }
  });

  it('chunk i of an update task (the wasm updateCols over all columns as one group): rows i * rb.., every pointer moved by as many rows, a missing moment pointer left 0, the sums at out + 8 i', () => {
    // 300 x 203, rows of 81: blocks start at rows 0, 81, 162, 243 (57 rows). Task as Kernels.updateMatrix writes it.
    const R = 300, O = 203, rb = 81, w = 1000, g = 70000, v = 200000, out = 64, h = [1, 2, 3, 4, 5, 6];
    const task = [3, w, g, 0, v, R, O, 0, O, O, out, ...h];
    const rows: number[] = [];
    for (let i = 0; i < 4; i++) {
      const at = i * rb * O, n = i < 3 ? rb : 57;
      assert.deepEqual(chunkArgs(OP.updateCols, rb, i, task, 0), [3, w + at, g + at, 0, v + at, n, O, 0, O, O, out + 8 * i, ...h], `block ${i}`);
      rows.push(n);
    }
    assert.equal(rows.reduce((a, b) => a + b), R, 'every row once');
    assert.equal(chunkArgs(OP.updateCols, rb, 4, task, 0), null, 'nothing past the last row');
  });
});

describe('threads: hostile thread counts', () => {
  it('train.threads 0, -1, 1.5, "abc", 1e9: one error each, at the value', () => {
    for (const [v, msg] of [['0', /"threads" must be >= 1, got 0/], ['-1', /"threads" must be >= 1, got -1/],
      ['1.5', /"threads" must be a whole number, got 1.5/], ['abc', /"threads" must be a whole number .*got "abc"/],
      ['1e9', /"threads" must be <= 1024, got 1000000000/]] as const) {
      const text = `data: {source: spiral}\nmodel:\n  layers:\n    - {type: dense, units: 3, activation: softmax}\ntrain: {threads: ${v}}\n`;
      const errors = parseConfigText(text, 'net.nn.yaml').problems.filter(p => p.severity === 'error');
      assert.equal(errors.length, 1, `threads: ${v}: ${JSON.stringify(errors)}`);
      assert.match(errors[0].message, msg);
      assert.deepEqual([errors[0].span?.start.line, errors[0].span?.start.character], [4, 17], `threads: ${v}: the place`);
    }
  });

  it('the setting (settings.json may hold anything) and the config on a machine of 2 cores: all cores below 1, rounded down, at most the cores', () => {
    for (const [asked, threads] of [[undefined, 2], [0, 2], [-1, 2], [1.5, 1], ['abc', 2], ['2', 2], [NaN, 2], [Infinity, 2],
      [1e9, 2], [64, 2], [1, 1], [2, 2], [true, 2], [null, 2]] as const) {
      assert.equal(runThreads(asked, 2), threads, `${String(asked)}`);
    }
    assert.equal(runThreads(48, 64), 48);
    assert.equal(runThreads(1e9, 1000), 64, 'at most MAX_THREADS, whatever the machine');
  });
});

describe('threads: the CLI (dist/cli.js) on 2 threads, and its fallback to one', function () {
  this.timeout(180000);
  const dist = path.resolve(__dirname, '../../../dist');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-threads-'));
  const config = path.join(dir, 'net.nn.yaml');
  before(function () {
    if (!fs.existsSync(path.join(dist, 'cli.js')) || !fs.existsSync(path.join(dist, 'gemm-mt.wasm'))) throw new Error('dist/ is not built: run `npm run build` first');
    // 2 * 64 * 256 * 256 flops in the first layer's GEMM: far above the rule, so 2 threads split it.
    fs.writeFileSync(config, `seed: 1
data: { source: teacher, samples: 512, classes: 4 }
model:
  input: [256]
  layers:
    - { type: dense, units: 256, activation: relu }
    - { type: dense, units: 4, activation: softmax }
train: { optimizer: sgd, lr: 0.05, batch: 64, steps: 12 }
probe: { every: 4 }
`);
  });

  /** A copy of the bundled CLI in a folder of its own, with the wasm files given (the bundle looks next to itself). */
  function install(name: string, files: Record<string, string | Buffer | null>): string {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    fs.copyFileSync(path.join(dist, 'cli.js'), path.join(d, 'cli.js'));
    for (const [f, content] of Object.entries(files)) if (content !== null) fs.writeFileSync(path.join(d, f), content);
    return path.join(d, 'cli.js');
  }
  const wasm = () => fs.readFileSync(path.join(dist, 'gemm.wasm'));
  const mt = () => fs.readFileSync(path.join(dist, 'gemm-mt.wasm'));

  /** Runs the CLI to its exit (a helper thread left alive would keep it from exiting: the test would time out). */
  function cli(script: string, args: string[], env: Record<string, string | undefined> = {}, nodeArgs: string[] = []): Promise<{ code: number; out: string; err: string }> {
    const e = { ...process.env, ...env };
    if (!('ACTIVATION_LENS_REQUIRE_WASM' in env)) delete e.ACTIVATION_LENS_REQUIRE_WASM;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
    return new Promise(resolve => execFile(process.execPath, [...nodeArgs, script, 'diagnose', config, '--json', ...args], { env: e },
      (err, out, errText) => resolve({ code: err ? (err as { code?: number }).code ?? -1 : 0, out, err: errText })));
  }
  /** The report without its wall-clock timing. */
  const numbers = (out: string) => { const r = JSON.parse(out); delete r.timing; return r; };

  let one: ReturnType<typeof numbers>;
  before(async () => {
    const r = await cli(install('one', { 'gemm.wasm': wasm(), 'gemm-mt.wasm': mt() }), ['--threads', '1']);
    assert.equal(r.code, 0, r.err);
    one = numbers(r.out);
  });

  it('--threads 0, -1, 1.5, abc, 1e9: one usage line, exit 2; --threads 64 on this machine trains as on its cores: the same report', async () => {
    const script = install('hostile', { 'gemm.wasm': wasm(), 'gemm-mt.wasm': mt() });
    for (const v of ['0', '-1', '1.5', 'abc', '1e9']) {
      const r = await cli(script, ['--threads', v]);
      assert.equal(r.code, 2, `--threads ${v}`);
      assert.equal(r.err, `activation-lens diagnose: --threads must be an integer from 1 to 1024, got "${v}"\n`);
    }
    const r = await cli(script, ['--threads', '64']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.deepEqual(numbers(r.out), one);
  });

  it('--threads 2 gives the report of --threads 1, says nothing on stderr, and the process exits', async () => {
    const r = await cli(install('two', { 'gemm.wasm': wasm(), 'gemm-mt.wasm': mt() }), ['--threads', '2']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.deepEqual(numbers(r.out), one);
  });

  const cases: [string, Record<string, string | Buffer | null>, string[], RegExp][] = [
    ['gemm-mt.wasm missing', { 'gemm.wasm': wasm(), 'gemm-mt.wasm': null }, [], /^training on 1 thread instead of 2: gemm-mt\.wasm not found \(looked in .*gemm-mt\.wasm.*\)\n$/],
    ['gemm-mt.wasm not loadable', { 'gemm.wasm': wasm(), 'gemm-mt.wasm': 'not wasm' }, [], /^training on 1 thread instead of 2: .*gemm-mt\.wasm could not be loaded: .*\n$/],
  ];
  for (const [label, files, nodeArgs, line] of cases) {
    it(`${label}: one clear line, one thread, the same report; under ACTIVATION_LENS_REQUIRE_WASM an error`, async () => {
      const script = install(label.replace(/\W+/g, '-'), files);
      const r = await cli(script, ['--threads', '2'], {}, nodeArgs);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, line);
      assert.deepEqual(numbers(r.out), one);
      const strict = await cli(script, ['--threads', '2'], { ACTIVATION_LENS_REQUIRE_WASM: '1' }, nodeArgs);
      assert.equal(strict.code, 2);
      assert.match(strict.err, /2 threads asked for, but .*gemm-mt\.wasm/);
    });
  }

  it('no SharedArrayBuffer: one clear line, one thread, the same report', async () => {
    const script = install('no-sab', { 'gemm.wasm': wasm(), 'gemm-mt.wasm': mt() });
    const preload = path.join(dir, 'no-sab.js');
    fs.writeFileSync(preload, 'delete globalThis.SharedArrayBuffer;\n');
    const r = await cli(script, ['--threads', '2'], {}, ['--require', preload]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, 'training on 1 thread instead of 2: this runtime has no SharedArrayBuffer\n');
    assert.deepEqual(numbers(r.out), one);
  });
});
