/** compare's trials: same seed and data per candidate, deterministic, two threads, cancellable, curves kept. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importOnnx, parseConfigText, toConfigYaml } from '../../../src/config';
import { loadModelWeights } from '../../../src/config/weights';
import { Trainer, train } from '../../../src/core/train';
import { loadDataset } from '../../../src/data';
import { compareActivations, compareVerdict, rankTrials, withActivation, targetLayers } from '../../../src/diagnosis/trials';
import { diverged, runTrial, type TrialRequest } from '../../../src/diagnosis/trial';
import type { RankedActivation } from '../../../src/diagnosis/types';

const text = `seed: 4
data: { source: circles, samples: 400 }
model:
  layers:
    - { type: dense, units: 16, activation: sigmoid }
    - { type: dropout, rate: 0.0 }
    - { type: dense, units: 16 }
    - { type: activation, activation: sigmoid }
    - { type: dense, units: 1, activation: sigmoid }
train: { loss: binary_cross_entropy, optimizer: adam, lr: 0.01, batch: 32, steps: 400 }
`;
const config = parseConfigText(text, 'cmp.nn.yaml').config!;
const data = loadDataset(config, '.');

describe('compare trials', function () {
  this.timeout(30000);

  it('changes the target layers (through an activation layer) and puts the matching init on the weighted layer', () => {
    assert.deepEqual(targetLayers(config, 'all'), [0, 3]);
    assert.deepEqual(targetLayers(config, 2), [3]);
    const c = withActivation(config, [0, 3], 'relu');
    const l = c.model.layers;
    assert.equal(l[0].type === 'dense' && l[0].activation.name, 'relu');
    assert.equal(l[0].type === 'dense' && l[0].init.name, 'he_normal');
    assert.equal(l[3].type === 'activation' && l[3].activation.name, 'relu');
    assert.equal(l[2].type === 'dense' && l[2].init.name, 'he_normal');
    assert.equal(config.model.layers[0].type === 'dense' && config.model.layers[0].activation.name, 'sigmoid', 'the original is untouched');
    assert.throws(() => targetLayers(config, 1), /no activation/);
  });

  it('is deterministic, and two worker threads give the same numbers as one thread', async () => {
    const opts = { layer: 'all' as const, candidates: ['relu', 'tanh', 'sigmoid'], steps: 60 };
    const a = await compareActivations(config, data, { ...opts, parallel: false });
    const b = await compareActivations(config, data, { ...opts, parallel: false });
    const c = await compareActivations(config, data, { ...opts, parallel: 'always' });
    assert.deepEqual(a, b);
    assert.deepEqual(c, a);
    assert.equal(a.length, 3);
    for (const r of a) {
      assert.equal(r.trial!.lossCurve.length, 60, 'each trial keeps its per-step loss curve');
      assert.match(r.reason, /val loss [\d.]+ after 60 steps/);
    }
    // Ranked by validation loss.
    const losses = a.map(r => r.trial!.valLoss);
    assert.deepEqual([...losses].sort((x, y) => x - y), losses);
  });

  it('default candidates: the 7 of SPEC §5 plus the current one', async () => {
    const seen: string[] = [];
    const r = await compareActivations(config, () => data, { layer: 0, steps: 5, parallel: false, onTrial: t => seen.push(t.activation) });
    assert.deepEqual(seen.slice(0, 8), ['relu', 'leaky_relu', 'elu', 'gelu', 'swish', 'tanh', 'selu', 'sigmoid'], 'first round in candidate order');
    assert.equal(r.length, 8);
  });

  it('cancellable: an aborted comparison stops and returns only the finished trials', async () => {
    const ac = new AbortController();
    const r = await compareActivations(config, data, { layer: 'all', steps: 50, parallel: false, signal: ac.signal,
      onTrial: () => { if (!ac.signal.aborted) ac.abort(); } });
    assert.equal(r.length, 1);
    const ac2 = new AbortController();
    ac2.abort();
    assert.deepEqual(await compareActivations(config, data, { layer: 'all', steps: 50, parallel: 'always', signal: ac2.signal }), []);
  });

  it('near-ties in validation loss are decided by health; non-finite trials rank last', () => {
    const t = (activation: string, valLoss: number, deadFraction = 0): RankedActivation =>
      ({ activation, init: 'he_normal', reason: '', trial: { valLoss, trainLoss: valLoss, lossCurve: [], deadFraction, saturatedFraction: 0 } });
    const ranked = rankTrials([t('relu', 0.500, 0.6), t('elu', 0.505), t('gelu', NaN), t('tanh', 0.7)]);
    assert.deepEqual(ranked.map(r => r.activation), ['elu', 'relu', 'tanh', 'gelu']);
  });
});

describe('fair trials', function () {
  this.timeout(60000);

  it('diverged(): non-finite, or the smoothed loss above 3x its start; a single noisy batch is not a divergence', () => {
    const flat = Array.from({ length: 100 }, () => 1);
    assert.equal(diverged(flat, 1), false);
    assert.equal(diverged([...flat.slice(0, 50), NaN, ...flat.slice(51)], 1), true);
    assert.equal(diverged(flat, NaN), true);
    // One batch at 10x (window 5 -> mean 2.8x): not a divergence; a sustained rise to 3.5x is.
    assert.equal(diverged(flat.map((x, i) => (i === 60 ? 10 : x)), 1), false);
    assert.equal(diverged(flat.map((x, i) => (i >= 60 ? 3.5 : x)), 1), true);
    assert.equal(diverged(flat, 3.5), true, 'final val loss above 3x the start');
  });

  it('near-ties form groups by the best of each group; diverged trials last even with a finite val loss', () => {
    const t = (activation: string, valLoss: number, deadFraction = 0, div = false): RankedActivation =>
      ({ activation, init: 'he_normal', reason: '', trial: { valLoss, trainLoss: valLoss, lossCurve: [], deadFraction, saturatedFraction: 0, diverged: div } });
    // 0.500 and 0.509 are within 2% of 0.500; 0.515 is not (it starts the next group), even though it is within 2% of 0.509.
    const ranked = rankTrials([t('relu', 0.500, 0.6), t('elu', 0.509), t('gelu', 0.515, 0), t('swish', 0.3, 0, true)]);
    assert.deepEqual(ranked.map(r => r.activation), ['elu', 'relu', 'gelu', 'swish']);
    assert.match(ranked[0].reason, /near-tie with relu/);
    assert.doesNotMatch(ranked[2].reason, /near-tie/);
  });

  it('verdict: no winner when the best does not beat the current activation beyond 2%', () => {
    const t = (activation: string, valLoss: number): RankedActivation =>
      ({ activation, init: 'he_normal', reason: '', trial: { valLoss, trainLoss: valLoss, lossCurve: [] } });
    const v = compareVerdict([t('selu', 1.105), t('sigmoid', 1.11)], 'sigmoid', 'dense_1');
    assert.equal(v.winner, undefined);
    assert.match(v.message, /no candidate beats the current sigmoid for dense_1 beyond noise/);
    const w = compareVerdict([{ ...t('relu', 0.5), lr: 0.01 }, t('sigmoid', 1.11)], 'sigmoid', 'all hidden layers');
    assert.equal(w.winner?.activation, 'relu');
    assert.match(w.message, /at lr 0.01 \(the learning rate is global/);
  });

  it('a candidate that diverges at the config rate is retried at lr/3 and lr/10 from the same seed; its kept rate is reported', async () => {
    // Plain SGD at lr 30 on circles: relu + he blows up (observed: smoothed loss above 3x its start), lr/3 and lr/10 do not.
    const c = parseConfigText(`seed: 1
data: { source: circles, samples: 300 }
model:
  layers:
    - { type: dense, units: 32, activation: sigmoid }
    - { type: dense, units: 32, activation: sigmoid }
    - { type: dense, units: 1, activation: sigmoid }
train: { loss: binary_cross_entropy, optimizer: sgd, lr: 30, batch: 16, steps: 80 }
`, 'div.nn.yaml').config!;
    const d = loadDataset(c, '.');
    const r = await compareActivations(c, d, { layer: 'all', candidates: ['relu', 'sigmoid'], parallel: false });
    const relu = r.find(x => x.activation === 'relu')!;
    assert.deepEqual(relu.trial!.attempts!.map(a => a.lr), [30, 10, 3]);
    assert.equal(relu.trial!.attempts![0].diverged, true, JSON.stringify(relu.trial!.attempts));
    // The kept rate is the one with the lowest val loss among the attempts that did not diverge.
    const best = relu.trial!.attempts!.filter(a => !a.diverged).reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
    assert.equal(relu.lr, best.lr);
    assert.equal(relu.trial!.lr, relu.lr);
    assert.equal(relu.trial!.diverged, false);
    assert.match(relu.reason, /the config's lr 30 diverged/);
    // Same seed, same data: the kept trial is exactly a plain trial at that rate.
    const again = await compareActivations({ ...c, train: { ...c.train, lr: relu.lr! } }, d, { layer: 'all', candidates: ['relu'], parallel: false });
    assert.equal(again[0].trial!.valLoss, relu.trial!.valLoss);
  });
});

describe('compare trials from a model\'s weights (init: from-model)', function () {
  this.timeout(120000);
  // The written-out mlp-gemm config (dense_1, batchnorm_1, activation_1, dense_2 tanh, dense_3) with its weights; the
  // weights themselves are checked against torch's forward pass in test/unit/config/fromModel.test.ts.
  const GEN = path.join(__dirname, '../../fixtures/onnx/generated');
  const yaml = toConfigYaml(importOnnx(fs.readFileSync(path.join(GEN, 'mlp-gemm.onnx')), 'mlp-gemm.onnx').config!, 'mlp-gemm.onnx')
    .replace(/^model:\n/m, 'model:\n  weights: mlp-gemm.onnx\n  init: from-model\n')
    .replace(/samples: 1000/, 'samples: 120').replace(/epochs: 20/, 'steps: 4');
  const cfg = parseConfigText(yaml, path.join(GEN, 'cmp.nn.yaml')).config!;
  const model = loadModelWeights(cfg, GEN)!;
  const d = loadDataset(cfg, GEN);

  it('every trial keeps the other layers\' imported weights; the compared layer starts from the candidate\'s init', async () => {
    const seen: TrialRequest[] = [];
    const ranked = await compareActivations(cfg, d, { layer: 3, candidates: ['relu', 'selu', 'tanh'], steps: 4, initialWeights: model,
      train: async (req, data) => { seen.push(req); return train(req.config, data, { maxSteps: req.steps, probeEvery: req.probeEvery, initialWeights: req.initialWeights, kernels: 'js' }); } });
    assert.equal(ranked.length, 3);
    assert.deepEqual(seen.map(r => (r.config.model.layers[3] as { activation: { name: string } }).activation.name).slice(0, 3), ['relu', 'selu', 'tanh']);
    for (const req of seen) {
      const act = (req.config.model.layers[3] as { activation: { name: string } }).activation.name;
      assert.equal(req.initialWeights![3], undefined, `${act}: the compared layer is not loaded`);
      for (const i of [0, 1, 4]) assert.equal(req.initialWeights![i], model[i], `${act}: layer ${i} keeps the model's weights`);
      const net = new Trainer(req.config, d, { initialWeights: req.initialWeights, kernels: 'js' }).net;
      const k = (i: number) => Array.from(net.layers[i].params.find(p => p.name === 'kernel')!.w.v);
      assert.deepEqual(k(0), Array.from(model[0]!.kernel));
      assert.deepEqual(k(4), Array.from(model[4]!.kernel));
      assert.notDeepEqual(k(3), Array.from(model[3]!.kernel));
      // The candidate's paired init on 192 weights (fan_in 16, fan_out 12): he_normal Var = 2/16 for relu,
      // lecun_normal 1/16 for selu, glorot_uniform 2/28 for tanh; the sample variance within 35%.
      const want = { relu: 2 / 16, selu: 1 / 16, tanh: 2 / 28 }[act as 'relu' | 'selu' | 'tanh'];
      const w = k(3), m = w.reduce((a, b) => a + b, 0) / w.length, v = w.reduce((a, b) => a + (b - m) ** 2, 0) / w.length;
      assert.ok(Math.abs(v / want - 1) < 0.35, `${act}: variance ${v}, init variance ${want}`);
    }
  });

  it('the trials, in this thread or in the trial threads, start from the same weights as a run given them (equal loss curves)', async () => {
    const ranked = await compareActivations(cfg, d, { layer: 3, candidates: ['relu'], steps: 4, parallel: false, initialWeights: model });
    const relu = ranked.find(r => r.activation === 'relu')!;
    const req = { config: withActivation(cfg, [3], 'relu'), steps: 4, probeEvery: 1 };
    const withModel = runTrial({ ...req, initialWeights: model.map((w, i) => (i === 3 ? undefined : w)) }, d).trial;
    const drawn = runTrial(req, d).trial;
    assert.deepEqual(relu.trial!.lossCurve, withModel.lossCurve);
    assert.notDeepEqual(relu.trial!.lossCurve, drawn.lossCurve);
    // The same through the two trial threads (the weights are posted with each request).
    const threaded = await compareActivations(cfg, d, { layer: 3, candidates: ['relu'], steps: 4, parallel: 'always', initialWeights: model });
    assert.deepEqual(threaded.find(r => r.activation === 'relu')!.trial!.lossCurve, withModel.lossCurve);
  });
});
