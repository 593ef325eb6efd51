/**
 * One run on more than one thread (src/core/parallel.ts): the helpers take chunks of the GEMMs, im2col,
 * col2im and activations, and every number is bit-identical to one thread (each value is computed by the
 * same code in the same order, whichever thread runs its chunk). Small nets start no helper. Nothing here
 * measures time.
 */
import assert from 'node:assert/strict';
import { Trainer } from '../../../src/core/train';
import { wasmAvailable, mtModuleOrNull } from '../../../src/core/kernels';
import type { NetworkConfig } from '../../../src/model';
import { makeConfig, randomData } from './helpers';

function run(config: NetworkConfig, threads: number, steps: number) {
  const data = randomData(config.model.input, 10, 96, 5, 10);
  const t = new Trainer({ ...config, train: { ...config.train, steps } }, data, { threads, probeEvery: 2 });
  if (threads > 1) assert.ok(t.net.heap.kernels.helpers?.waitReady(), 'helper threads started');
  const r = t.run();
  return { t, r, weights: t.net.params.map(p => Array.from(p.w.v)) };
}

describe('threads: one run split over helper threads', function () {
  this.timeout(120000);
  before(function () { if (!wasmAvailable() || !mtModuleOrNull()) this.skip(); });

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

  for (const [label, config] of [['conv net', conv], ['MLP', mlp]] as const) {
    it(`${label}: 2 and 3 threads give bit-identical weights, losses and probes to 1 thread, with the helpers taking part`, () => {
      const one = run(config, 1, 6);
      assert.equal(one.t.threads, 1);
      for (const threads of [2, 3]) {
        const many = run(config, threads, 6);
        assert.equal(many.t.threads, threads);
        assert.ok(many.t.net.heap.kernels.helpers!.handed > 0, `${threads} threads: the helpers ran no chunk`);
        assert.deepEqual(many.r.lossCurve, one.r.lossCurve, `${threads} threads: loss curve`);
        assert.deepEqual(many.weights, one.weights, `${threads} threads: weights`);
        assert.deepEqual(JSON.stringify(many.r.timeline), JSON.stringify(one.r.timeline), `${threads} threads: probes`);
      }
    });
  }

  it('a small net (2-8-8-1) starts no helper thread: a second thread would only add hand-off cost', () => {
    const small = makeConfig([2], [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 1, activation: 'sigmoid' }],
      { loss: 'binary_cross_entropy', batch: 256 });
    const t = new Trainer(small, randomData([2], 1, 300, 3), { threads: 2 });
    assert.equal(t.threads, 1);
    assert.equal(t.net.heap.kernels.helpers, undefined);
    t.dispose();
  });
});
