/** compare's trials: same seed and data per candidate, deterministic, two threads, cancellable, curves kept. */
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import { loadDataset } from '../../../src/data';
import { compareActivations, rankTrials, withActivation, targetLayers } from '../../../src/diagnosis/trials';
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
    assert.deepEqual(seen, ['relu', 'leaky_relu', 'elu', 'gelu', 'swish', 'tanh', 'selu', 'sigmoid']);
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
