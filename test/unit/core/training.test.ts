/**
 * The trainer end to end: learning real tasks from the real data generators, determinism, clean stops
 * (non-finite, limit, cancel), and the probe statistics on hand-computed cases and on He et al.'s
 * observation about initialization in deep relu stacks.
 */
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import { loadDataset } from '../../../src/data';
import type { NetworkConfig } from '../../../src/model';
import { train, Trainer } from '../../../src/core/train';
import { Network } from '../../../src/core/network';
import { coreHeapRefusal, estimateMemory, memoryRefusal, planCoreHeap } from '../../../src/core/memory';
import { PACK_FLOATS } from '../../../src/core/heap';
import { MAX_BLOCKS, runThreads } from '../../../src/core/parallel';
import { deadFraction, fractionWhere, histogram, meanStd } from '../../../src/core/probes';
import { ACTIVATIONS } from '../../../src/core/activations';
import { jsKernels, loadKernels } from '../../../src/core/kernels';
import { Rng } from '../../../src/core/rng';
import { makeConfig, randomData } from './helpers';

function parse(yaml: string): NetworkConfig {
  const r = parseConfigText(yaml, 'test.nn.yaml');
  const errors = r.problems.filter(p => p.severity === 'error');
  assert.equal(errors.length, 0, errors.map(e => e.message).join('; '));
  return r.config!;
}

const SPIRAL = `
seed: 4
data: { source: spiral, samples: 1500, noise: 0.05, classes: 3, validation: 0.2 }
model:
  input: 2
  layers:
    - { type: dense, units: 64, activation: relu, init: he_normal }
    - { type: dense, units: 64, activation: relu, init: he_normal }
    - { type: dense, units: 3, activation: softmax }
train: { loss: cross_entropy, optimizer: adam, lr: 0.01, batch: 32, steps: 3000 }
`;
const XOR = `
seed: 2
data: { source: xor, samples: 1000, noise: 0.02, validation: 0.2 }
model:
  input: 2
  layers:
    - { type: dense, units: 16, activation: tanh }
    - { type: dense, units: 16, activation: tanh }
    - { type: dense, units: 1, activation: sigmoid }
train: { loss: binary_cross_entropy, optimizer: adam, lr: 0.01, batch: 32, steps: 2000 }
`;

describe('training on the real generators', function () {
  this.timeout(120000);
  it('spiral (3 classes, relu + he_normal, adam) reaches >= 95% validation accuracy', () => {
    const c = parse(SPIRAL);
    const r = train(c, loadDataset(c, '.'));
    assert.equal(r.stopped, 'completed');
    assert.equal(r.steps, 3000);
    assert.ok(r.final.valAccuracy! >= 0.95, `spiral val accuracy ${r.final.valAccuracy}`);
    assert.ok(r.timeline.length >= 50, `${r.timeline.length} probes`);
    assert.equal(r.timeline[0].step, 0);
  });
  it('xor (tanh, sigmoid + BCE) reaches >= 95% validation accuracy', () => {
    const c = parse(XOR);
    const r = train(c, loadDataset(c, '.'));
    assert.ok(r.final.valAccuracy! >= 0.95, `xor val accuracy ${r.final.valAccuracy}`);
    assert.ok(r.final.valLoss < r.timeline[0].valLoss / 3, `val loss ${r.timeline[0].valLoss} -> ${r.final.valLoss}`);
  });
  it('is deterministic: same config and seed give bit-identical numbers; another seed differs', () => {
    const c = parse(SPIRAL.replace('steps: 3000', 'steps: 300').replace('units: 64', 'units: 32'));
    c.model.layers.splice(2, 0, { type: 'dropout', name: 'drop', index: 2, rate: 0.2 });
    c.model.layers.forEach((l, i) => { l.index = i; });
    const data = loadDataset(c, '.');
    const a = train(c, data), b = train(c, data);
    assert.deepEqual(a.lossCurve, b.lossCurve);
    assert.deepEqual(a.timeline, b.timeline);
    const d = train({ ...c, seed: c.seed + 1 }, data);
    assert.notDeepEqual(a.lossCurve, d.lossCurve);
  });
});

describe('stops', () => {
  it('stops cleanly at the first non-finite value, names layer and step, keeps the timeline with a last probe', () => {
    const c = makeConfig([4], [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dense', units: 2 }], { lr: 1e6, steps: 200, loss: 'mse' });
    c.probe.every = 5;
    const r = train(c, randomData([4], 2, 64, 1));
    assert.equal(r.stopped, 'non-finite');
    assert.ok(r.nonFinite && r.nonFinite.step < 200 && r.nonFinite.step > 0, JSON.stringify(r.nonFinite));
    assert.equal(r.steps, r.nonFinite!.step);
    const last = r.timeline[r.timeline.length - 1];
    assert.equal(last.step, r.nonFinite!.step);
    assert.ok(last.layers.some(l => l.nonFinite > 0), 'the last probe counts the non-finite values');
  });
  it('a maxSteps cap ends with stopped: limit; shouldStop ends with cancelled and a partial result', () => {
    const c = makeConfig([4], [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }], { steps: 100 });
    const data = randomData([4], 2, 64, 1);
    const lim = train(c, data, { maxSteps: 30 });
    assert.equal(lim.stopped, 'limit'); assert.equal(lim.steps, 30);
    let n = 0;
    const can = train(c, data, { shouldStop: () => ++n > 12 });
    assert.equal(can.stopped, 'cancelled'); assert.equal(can.steps, 12); assert.equal(can.lossCurve.length, 12);
  });
});

describe('probe statistics', function () {
  // 30 layers of 256: ~1.5 s alone, past mocha's default 2 s on a loaded machine (failed so under two CPU burners).
  this.timeout(60000);
  it('hand-computed: mean/std, dead fraction per unit, saturated fraction, histogram bins', () => {
    const z = new Float32Array([-1, 2, -3, 0, -0.5, 4]); // 3 samples x 2 units: unit 0 = [-1,-3,-0.5], unit 1 = [2,0,4]
    assert.equal(deadFraction(z, 6, 2, ACTIVATIONS.relu.isDead!), 0.5);
    const s = meanStd(new Float32Array([1, 2, 3, 4]), 4);
    assert.equal(s.mean, 2.5); assert.ok(Math.abs(s.std - Math.sqrt(1.25)) < 1e-12);
    // tanh: f' < 0.1 where |z| > 1.818
    assert.equal(fractionWhere(new Float32Array([0, 1.8, 1.9, -2.5, 0.3]), 5, ACTIVATIONS.tanh.isSaturated!), 0.4);
    // sigmoid: f' < 0.025 where |z| > 3.636
    assert.equal(fractionWhere(new Float32Array([3.6, 3.7, -5, 0]), 4, ACTIVATIONS.sigmoid.isSaturated!), 0.5);
    const h = histogram(new Float32Array([-10, 0.1, 0.6, 0.9, 10, NaN]), 6, [0, 0.5, 1]);
    assert.deepEqual(h.counts, [2, 3]);
  });
  it('a probe of a known network: relu layer with all-negative bias is fully dead, its gradRms is 0', () => {
    const c = makeConfig([3], [{ type: 'dense', units: 4, activation: 'relu' }, { type: 'dense', units: 1 }], { steps: 1 });
    const t = new Trainer(c, randomData([3], 1, 32, 5));
    const dense = t.net.layers[0];
    dense.params.find(p => p.name === 'bias')!.w.v.fill(-100);
    const p = t.probe();
    assert.equal(p.layers[0].deadFraction, 1);
    assert.equal(p.layers[0].gradRms, 0);
    assert.equal(p.layers[0].activationMean, 0);
    assert.equal(p.layers[1].deadFraction, null);
    assert.ok(p.layers[1].gradRms > 0);
  });
  it("He et al.: 30 relu layers of 256, Var(w)=1/fan_in shrinks preactStd > 1000x; he_normal keeps it within 3x", () => {
    const run = (init: string) => {
      const layers = Array.from({ length: 30 }, () => ({ type: 'dense' as const, units: 256, activation: 'relu', init }));
      const c = makeConfig([256], [...layers, { type: 'dense', units: 10, activation: 'softmax' }], { loss: 'cross_entropy', steps: 1 });
      c.probe.samples = 128;
      const p = new Trainer(c, randomData([256], 10, 256, 9, 10)).probe();
      return p.layers[29].preactStd! / p.layers[0].preactStd!;
    };
    const lecun = run('lecun_normal'), he = run('he_normal');
    assert.ok(lecun < 1e-3, `lecun_normal: last/first preactStd ${lecun}`);
    assert.ok(he > 1 / 3 && he < 3, `he_normal: last/first preactStd ${he}`);
  });
  it('weightGradRms and updateRatio come from the last step; step 0 has gradients but no update', () => {
    const c = makeConfig([3], [{ type: 'dense', units: 5, activation: 'tanh' }, { type: 'dense', units: 1 }], { steps: 10, lr: 0.1 });
    c.probe.every = 5;
    const r = train(c, randomData([3], 1, 40, 3));
    assert.deepEqual(r.timeline.map(p => p.step), [0, 5, 10]);
    assert.equal(r.timeline[0].layers[0].updateRatio, null);
    assert.ok(r.timeline[0].layers[0].weightGradRms! > 0);
    const ur = r.timeline[1].layers[0].updateRatio!;
    assert.ok(ur > 0 && ur < 1, `update ratio ${ur}`);
    assert.ok(r.timeline[1].gradNorm > 0);
  });
});

describe('kernels and memory', () => {
  it('wasm GEMM equals the JS reference in all three layouts, with tails and K blocks', () => {
    const k = loadKernels('wasm', 1 << 20);
    assert.equal(k.kind, 'wasm', 'dist/gemm.wasm must be built (npm run build)');
    const j = jsKernels(k.H);
    const r = new Rng(1);
    for (const [M, K, N] of [[5, 3, 7], [64, 300, 33], [9, 520, 16], [1, 1, 1]]) {
      const A = 16384, B = A + 2 * M * K + 64, C1 = B + 2 * K * N + 64, C2 = C1 + M * N + 64, P = C2 + M * N + 64;
      for (let i = A; i < C1; i++) k.H[i] = r.normal();
      const layouts: [number, number, number, number][] = [[K, 1, N, 1], [K, 1, 1, K], [1, M, N, 1]]; // AB, AB^T, A^T B
      for (const [sai, sak, sbk, sbn] of layouts) {
        k.H.fill(0.5, C1, C2 + M * N);
        k.gemm(A, sai, sak, B, sbk, sbn, C1, N, M, K, N, 1.5, 1, P);
        j.gemm(A, sai, sak, B, sbk, sbn, C2, N, M, K, N, 1.5, 1, P);
        for (let i = 0; i < M * N; i++) assert.ok(Math.abs(k.H[C1 + i] - k.H[C2 + i]) < 1e-4 * Math.max(1, Math.abs(k.H[C2 + i])), `${M}x${K}x${N} layout ${sai},${sak},${sbk},${sbn} at ${i}`);
      }
    }
  });
  it('wasm relu/sigmoid/tanh kernels match the table to float32 precision over [-1e4, 1e4], finite everywhere', () => {
    const k = loadKernels('wasm', 1 << 20);
    const n = 100003, Z = 20000, A = Z + n + 16;
    for (let i = 0; i < n; i++) k.H[Z + i] = -40 + 80 * i / n;
    k.H.set([-1e4, 1e4, -100, 100, 0, 1e-6, -3e-4], Z);
    for (const [kind, name] of [[1, 'relu'], [2, 'sigmoid'], [3, 'tanh']] as const) {
      k.actForward(kind, Z, A, n);
      for (let i = 0; i < n; i++) {
        const z = k.H[Z + i], want = ACTIVATIONS[name].f(z), got = k.H[A + i];
        assert.ok(Number.isFinite(got), `${name}(${z}) = ${got}`);
        assert.ok(Math.abs(got - want) <= 2e-7 * Math.max(Math.abs(want), 1e-30) + 1e-37, `${name}(${z}) = ${got}, table ${want}`);
      }
    }
  });
  it('the memory estimate names the layer and batch that drive it, and refuses over the limit', () => {
    const c = makeConfig([64, 64, 3], [{ type: 'conv2d', filters: 64, kernel: [3, 3], padding: 'same', activation: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 10 }], { batch: 512 });
    const est = estimateMemory(c);
    assert.equal(est.driver.layer, 'conv2d_0');
    assert.equal(est.driver.batch, 512);
    assert.ok(est.bytes > 512 * 64 * 64 * 64 * 4 * 3, `estimate ${est.bytes}`);
    const msg = memoryRefusal(c, 256)!;
    assert.match(msg, /conv2d_0/); assert.match(msg, /512/);
    assert.equal(memoryRefusal(makeConfig([4], [{ type: 'dense', units: 4 }]), 1024), null);
  });
  it('the memory estimate of layers past 2^32 floats is their size, not wrapped at 32 bits; a wasm heap past 4 GB is refused before it is allocated, at any limit', () => {
    // Hand count: a dense 1e6 -> 1e6 layer's weight alone is 1e12 floats, 4e12 bytes; its gradient as much again.
    const huge = makeConfig([2], [{ type: 'dense', units: 1e6, activation: 'relu' }, { type: 'dense', units: 1e6, activation: 'relu' }, { type: 'dense', units: 3 }], { batch: 1 });
    const est = estimateMemory(huge);
    assert.ok(est.bytes >= 8e12, `estimate ${est.bytes}`);
    assert.equal(est.driver.layer, 'dense_1');
    assert.match(memoryRefusal(huge, 1024)!, /dense_1/);
    // 65536 x 65536 is 2^32 floats: with the wrap it planned as 0 and the estimate read 184 MB.
    const wrap = makeConfig([2], [{ type: 'dense', units: 65536 }, { type: 'dense', units: 65536 }, { type: 'dense', units: 3 }], { batch: 1 });
    assert.ok(estimateMemory(wrap).bytes >= 2 * 2 ** 34, `estimate ${estimateMemory(wrap).bytes}`);
    // A limit set past 4 GB (the setting has no maximum) lets it through the estimate (the torch engine can hold
    // it); the core's wasm heap refuses it itself, before any memory is taken.
    assert.equal(memoryRefusal(wrap, 1e9), null);
    assert.throws(() => new Network(wrap, { rows: 1, kernels: 'wasm' }).commit(), /over the 4096 MB the core engine can address/);
  });
  it('the core heap is planned before the data is loaded: the Trainer\'s own heap exactly for a generated source (rows cut to the split, threads, held inputs), a lower bound for a file; over 4 GB refused with Heap.commit\'s message', () => {
    // The Trainer's committed heap is the independent count: every buffer it allocates, on the thread count it chose.
    const cases: [NetworkConfig, number][] = [];
    const mlp = (batch: number, samples: number) => {
      const c = makeConfig([784], [{ type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' }], { batch, loss: 'cross_entropy' });
      c.data = { source: 'teacher', samples, noise: 0, classes: 10, features: 784, validation: 0.25 };
      c.probe = { every: 5, samples: 40 };
      return c;
    };
    // batch 64 of 300 samples: on 2 threads, with the held training inputs and loadAhead's buffers; batch 500 of 100
    // samples: the rows are the 75 training samples, not the batch; 1 thread; a small net that stays on one thread.
    cases.push([mlp(64, 300), 2], [mlp(64, 300), 1], [mlp(500, 100), 2], [makeConfig([8], [{ type: 'dense', units: 8 }, { type: 'dense', units: 2 }]), 2]);
    for (const [c, threads] of cases) {
      const t = new Trainer(c, loadDataset(c, '.'), { threads, kernels: 'wasm' });
      try {
        assert.deepEqual(planCoreHeap(c, threads), { bytes: t.net.heap.bytes, exact: true }, `batch ${c.train.batch}, ${threads} threads (trainer on ${t.threads})`);
      } finally { t.dispose(); }
    }
    // A file: its sample count is read with the data, so one row on one thread, at most the Trainer's heap.
    const file = mlp(64, 300);
    file.data = { source: 'npy', samples: 0, noise: 0, path: 'x.npy', validation: 0.25 };
    const bound = planCoreHeap(file, 2);
    assert.equal(bound.exact, false);
    assert.ok(bound.bytes <= planCoreHeap(mlp(64, 300), 1).bytes);
    // 65536 x 65536 is 2^32 floats: over 4 GB planned (nothing allocated), the message Heap.commit throws.
    const wrap = makeConfig([2], [{ type: 'dense', units: 65536 }, { type: 'dense', units: 65536 }, { type: 'dense', units: 3 }], { batch: 1 });
    let committed = '';
    try { new Network(wrap, { rows: 1, kernels: 'wasm' }).commit(); } catch (e) { committed = (e as Error).message; }
    assert.match(committed, /over the 4096 MB the core engine can address/);
    // The same words; its size counts the optimizer's state too, which this bare Network does not have.
    const words = (m: string) => m.replace(/\d+ MB, over/, 'N MB, over');
    assert.equal(words(coreHeapRefusal(wrap, 2)!), words(committed));
    wrap.data = { source: 'idx', samples: 0, noise: 0, path: 'x.idx', validation: 0.25 };
    assert.match(coreHeapRefusal(wrap)!, /^the network's tensors take at least \d+ MB, over the 4096 MB the core engine can address/);
    assert.equal(coreHeapRefusal(mlp(64, 300), 2), null);
  });
  it('the memory estimate of a run that may go on threads counts the second pair of batch buffers (Network.loadAhead): one batch of inputs, targets and indices more; not with train.threads 1, nor for a net too small for threads', () => {
    // 784 -> 128 at batch 64: 2 x 64 x 784 x 128 flops, a split pays. 64 rows (the probe's 16 are fewer).
    const big = (threads?: number) => estimateMemory(makeConfig([784], [{ type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10 }], { batch: 64, threads })).bytes;
    // Two threads against one: the second pair of batch buffers, and the helper's scratch (the next test).
    const align = (floats: number) => 4 * ((floats + 15) & ~15);
    assert.equal(big(2) - big(1), align(64 * 784) + align(64 * 10) + align(64) + align(PACK_FLOATS) + align(8 * MAX_BLOCKS));
    assert.equal(big(), big(runThreads(undefined)), 'train.threads unset: every core, as the run');
    const small = (threads?: number) => estimateMemory(makeConfig([4], [{ type: 'dense', units: 4 }], { threads })).bytes;
    assert.equal(small(), small(1));
    assert.equal(small(4), small(1));
  });
  it('the memory estimate counts each helper thread\'s scratch (its GEMM packing space) as the trainer allocates it', () => {
    // 784 -> 128 relu -> 10 softmax, cross-entropy: on threads it also keeps each row's log-sum-exp.
    const config = makeConfig([784], [{ type: 'dense', units: 128, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' }], { batch: 64, loss: 'cross_entropy' });
    const data = randomData([784], 10, 80, 5, 10); // 80 training rows: a whole batch of 64
    const est = (threads: number) => estimateMemory(config, threads).bytes;
    // What the Trainer allocates on `threads` (its helpers started and ended: the heap is the same either way).
    const real = (threads: number) => { const t = new Trainer(config, data, { threads }); const b = t.net.heap.bytes; t.dispose(); return b; };
    const align = (floats: number) => 4 * ((floats + 15) & ~15);
    // Each helper more: its GEMM scratch, heap.ts PACK_FLOATS (a packed 384 x 128 block of B and a tile).
    assert.equal(align(PACK_FLOATS), 4 * (384 * 128 + 64));
    assert.equal(est(3) - est(2), align(PACK_FLOATS));
    assert.equal(real(3) - real(2), align(PACK_FLOATS));
    assert.equal(est(5) - est(2), 3 * align(PACK_FLOATS));
    // From one thread to two the trainer also holds the training inputs and a batch's indices, which the estimate
    // counts in the data's bound (dataBytes); the rest of the growth the estimate has too.
    const held = align(data.train.n * 784) + align(64);
    assert.equal(est(2) - est(1), real(2) - real(1) - held);
    assert.equal(est(2) - est(1), align(64 * 784) + align(64 * 10) + align(64) + align(PACK_FLOATS) + align(8 * MAX_BLOCKS) + align(2 * 64),
      'loadAhead\'s batch pair, one helper\'s scratch, the open update\'s sums, the rows\' log-sum-exp');
  });
});
