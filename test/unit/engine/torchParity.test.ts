/**
 * The torch engine against the core (an independent implementation: PyTorch's kernels and autograd): from the
 * core's initial weights and batch order, 20 steps give the same losses (1e-4 relative), gradient RMS and
 * update ratios (1e-3 relative), dead and saturated fractions (one unit), for every activation, a conv net
 * with TensorFlow "same" padding and pooling, batchnorm, every optimizer; and the same non-finite stop.
 * DistributedDataParallel on 2 CPU processes gives one process' numbers up to reduction order.
 */
import { strict as assert } from 'node:assert';
import { parseConfigText } from '../../../src/config';
import { loadDataset } from '../../../src/data';
import { train } from '../../../src/core/train';
import type { NetworkConfig } from '../../../src/model';
import type { RunResult } from '../../../src/core/types';
import { startTorchRun, trainTorch } from '../../../src/engine/torch/run';
import { requireTorch } from './torchHelpers';

function config(yaml: string): NetworkConfig {
  const r = parseConfigText(yaml, 'parity.nn.yaml');
  const err = r.problems.find(p => p.severity === 'error');
  assert.ok(r.config && !err, err?.message);
  return { ...r.config, train: { ...r.config.train, threads: 1 } };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-30);

function assertParity(core: RunResult, torch: RunResult, cfg: NetworkConfig, lossTol = 1e-4, statTol = 1e-3): void {
  assert.equal(torch.stopped, core.stopped);
  assert.equal(torch.steps, core.steps);
  assert.equal(torch.lossCurve.length, core.lossCurve.length);
  core.lossCurve.forEach((l, i) => assert.ok(rel(l, torch.lossCurve[i]) <= lossTol, `loss at step ${i + 1}: core ${l}, torch ${torch.lossCurve[i]}`));
  assert.equal(torch.timeline.length, core.timeline.length);
  core.timeline.forEach((p, k) => {
    const q = torch.timeline[k];
    assert.equal(q.step, p.step);
    assert.ok(rel(p.valLoss, q.valLoss) <= lossTol, `val loss at step ${p.step}: ${p.valLoss} vs ${q.valLoss}`);
    assert.ok(rel(p.gradNorm, q.gradNorm) <= statTol, `grad norm at step ${p.step}: ${p.gradNorm} vs ${q.gradNorm}`);
    p.layers.forEach((a, i) => {
      const b = q.layers[i], at = `step ${p.step}, layer ${cfg.model.layers[i].name}`;
      assert.ok(rel(a.gradRms, b.gradRms) <= statTol, `gradRms at ${at}: ${a.gradRms} vs ${b.gradRms}`);
      assert.equal(b.updateRatio === null, a.updateRatio === null, `updateRatio presence at ${at}`);
      if (a.updateRatio !== null) assert.ok(rel(a.updateRatio, b.updateRatio!) <= statTol, `updateRatio at ${at}: ${a.updateRatio} vs ${b.updateRatio}`);
      if (a.weightGradRms !== null) assert.ok(rel(a.weightGradRms, b.weightGradRms!) <= statTol, `weightGradRms at ${at}`);
      assert.ok(rel(a.activationStd, b.activationStd) <= statTol || Math.abs(a.activationStd - b.activationStd) < 1e-6, `activationStd at ${at}`);
      const units = (cfg.model.layers[i] as { units?: number; filters?: number }).units ?? (cfg.model.layers[i] as { filters?: number }).filters ?? 1;
      for (const key of ['deadFraction', 'saturatedFraction'] as const) {
        assert.equal(b[key] === null, a[key] === null, `${key} presence at ${at}`);
        if (a[key] !== null) assert.ok(Math.abs(a[key]! - b[key]!) <= 1 / units + 1e-12, `${key} at ${at}: ${a[key]} vs ${b[key]}`);
      }
      assert.equal(b.nonFinite, a.nonFinite, `nonFinite at ${at}`);
    });
  });
}

const mlp = (acts: string[], out: string, loss: string, optimizer: string, source = 'data: {source: gaussians, samples: 240, classes: 3, features: 6, validation: 0.25}') => `
seed: 11
${source}
model:
  layers:
${acts.map(a => `    - {type: dense, units: 12, activation: ${a}}`).join('\n')}
    - {type: dense, units: ${out === 'softmax' ? 3 : 1}, activation: ${out}}
train: {loss: ${loss}, optimizer: ${optimizer}, lr: 0.05, batch: 16, steps: 20}
probe: {every: 5, samples: 40}
`;

describe('torch engine parity with the core', function () {
  this.timeout(300_000);
  let python: string;
  before(function () { python = requireTorch(this).command; });

  async function both(yaml: string, extra: { processes?: number } = {}) {
    const cfg = config(yaml);
    const data = loadDataset(cfg, __dirname);
    const core = train(cfg, data);
    const torch = await trainTorch({ config: cfg, data, python, ...extra });
    return { cfg, core, torch };
  }

  it('MLPs with every activation, SGD, fused softmax cross-entropy', async () => {
    const { cfg, core, torch } = await both(mlp(['relu', 'relu6', 'leaky_relu', 'prelu', 'elu', 'selu'], 'softmax', 'cross_entropy', 'sgd'));
    assertParity(core, torch, cfg);
  });

  it('smooth activations, fused sigmoid binary cross-entropy, momentum with weight decay and clipping', async () => {
    const y = mlp(['gelu', '{name: gelu, approximate: tanh}', 'swish', 'mish', 'softplus'], 'sigmoid', 'binary_cross_entropy', 'momentum',
      'data: {source: moons, samples: 240, noise: 0.1, validation: 0.25}').replace('steps: 20}', 'steps: 20, weight_decay: 0.01, clip: 0.5}');
    const { cfg, core, torch } = await both(y);
    assertParity(core, torch, cfg);
  });

  it('saturating activations, an activation layer with softmax not fused (mse), adam and rmsprop', async () => {
    for (const opt of ['adam', 'rmsprop']) {
      const y = mlp(['softsign', 'hard_sigmoid', 'tanh', 'sigmoid', 'linear'], 'linear', 'mse', opt)
        .replace(/    - \{type: dense, units: 1, activation: linear\}/, '    - {type: dense, units: 3}\n    - {type: activation, activation: softmax}')
        .replace('lr: 0.05', 'lr: 0.01');
      const { cfg, core, torch } = await both(y);
      assertParity(core, torch, cfg);
    }
  });

  it('a conv net: same padding with stride 2, max and average pooling, global average pooling, prelu per channel', async () => {
    const { cfg, core, torch } = await both(`
seed: 5
data: {source: shapes, samples: 120, size: 9, noise: 0.1, validation: 0.25}
model:
  input: [9, 9, 1]
  layers:
    - {type: conv2d, filters: 4, kernel: 3, stride: 2, padding: same, activation: relu, init: he_normal}
    - {type: maxpool2d, size: 2, stride: 1, padding: same}
    - {type: conv2d, filters: 5, kernel: [2, 3], padding: valid, activation: prelu}
    - {type: avgpool2d, size: 2, padding: same}
    - {type: conv2d, filters: 6, kernel: 1, activation: tanh}
    - {type: global_avgpool2d}
    - {type: dense, units: 3, activation: softmax}
train: {optimizer: sgd, lr: 0.1, batch: 16, steps: 20}
probe: {every: 5, samples: 30}
`);
    assertParity(core, torch, cfg);
  });

  it('batchnorm (batch statistics in training, moving statistics in evaluation) and dropout 0', async () => {
    const { cfg, core, torch } = await both(`
seed: 3
data: {source: spiral, samples: 200, classes: 3, noise: 0.1, validation: 0.2}
model:
  layers:
    - {type: dense, units: 16, activation: linear, use_bias: false}
    - {type: batchnorm, momentum: 0.9}
    - {type: activation, activation: relu}
    - {type: dropout, rate: 0}
    - {type: dense, units: 16, activation: tanh}
    - {type: batchnorm}
    - {type: dense, units: 3, activation: softmax}
train: {optimizer: sgd, lr: 0.1, batch: 20, steps: 20}
probe: {every: 4, samples: 40}
`);
    assertParity(core, torch, cfg);
  });

  it('a diverging run stops at the same step and layer', async () => {
    const { cfg, core, torch } = await both(mlp(['relu', 'relu'], 'linear', 'mse', 'sgd', 'data: {source: teacher, samples: 200, features: 4, classes: 0, validation: 0.2}')
      .replace('lr: 0.05', 'lr: 50'));
    assert.equal(core.stopped, 'non-finite');
    assert.deepEqual(torch.nonFinite, core.nonFinite);
    assert.equal(torch.steps, core.steps);
    assert.equal(torch.timeline.length, core.timeline.length);
  });

  it('DistributedDataParallel on 2 CPU processes gives the numbers of one process', async () => {
    const yaml = mlp(['tanh', 'relu'], 'softmax', 'cross_entropy', 'sgd').replace('batch: 16', 'batch: 15');
    const { cfg, core, torch } = await both(yaml, { processes: 2 });
    assertParity(core, torch, cfg, 1e-5, 1e-4);
  });

  it('cancels: the runner answers the cancel line with the partial result and exits by itself', async () => {
    const cfg = config(mlp(['relu'], 'softmax', 'cross_entropy', 'sgd').replace('steps: 20', 'steps: 10000000'));
    const data = loadDataset(cfg, __dirname);
    let cancelledAt = 0;
    const outcome = await new Promise<{ r: RunResult; code: number | null; ms: number }>((resolve, reject) => {
      // A grace long enough that a runner slowed by a loaded machine is not killed: the kill is for a hung runner.
      const h = startTorchRun({ config: cfg, data, python, cancelGraceMs: 120_000 }, {
        stats: m => { if (!cancelledAt && m.step > 0) { cancelledAt = Date.now(); h.cancel(); } },
        done: () => reject(new Error('the run completed instead of cancelling')),
        cancelled: r => { void h.exit.then(code => resolve({ r, code, ms: Date.now() - cancelledAt })); },
        error: m => reject(new Error(m)),
      });
    });
    assert.equal(outcome.r.stopped, 'cancelled');
    assert.ok(outcome.r.steps > 0 && outcome.r.steps < 10_000_000);
    assert.ok(outcome.r.timeline.length >= 1);
    // Exit code 0: the runner stopped on the cancel line (a kill after the grace period would be a signal).
    assert.equal(outcome.code, 0);
  });
});
