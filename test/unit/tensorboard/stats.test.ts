/** Statistics from histograms: exact moments, estimated fractions inside their bounds, tags to layers. */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { ACTIVATIONS } from '../../../src/core/activations';
import { Rng } from '../../../src/core/rng';
import { histogramFromTensor, type TbHistogram } from '../../../src/tensorboard/events';
import { deadEstimate, massIn, moments, saturationEstimate } from '../../../src/tensorboard/histStats';
import { readLogdir } from '../../../src/tensorboard/logdir';
import { DEFAULT_TAG_RULES, matchTag, normalizeTag, tagRules } from '../../../src/tensorboard/tags';
import { histogramOf, histogramTensorOf } from '../../../src/tensorboard/writer';

/** The TbHistogram a reader gets from an old-style histogram of these values. */
function oldStyle(values: Float64Array): TbHistogram {
  const h = histogramOf(values);
  const k = h.bucket.length;
  const edges = new Float64Array(k + 1);
  edges[0] = h.min;
  for (let i = 0; i < k; i++) edges[i + 1] = Math.min(Math.max(h.bucket_limit[i], h.min), h.max);
  return { min: h.min, max: h.max, num: h.num, sum: h.sum, sumSquares: h.sum_squares, exactMoments: true, edges, counts: Float64Array.from(h.bucket) };
}

function normals(n: number, mean: number, std: number, seed = 5): Float64Array {
  const r = new Rng(seed);
  return new Float64Array(n).map(() => mean + std * r.normal());
}

const fraction = (v: Float64Array, pred: (x: number) => boolean) => v.reduce((a, x) => a + (pred(x) ? 1 : 0), 0) / v.length;

describe('tensorboard histogram statistics', () => {
  it('moments of an old-style histogram are exact (sum and sum_squares are the raw ones)', () => {
    const v = normals(5000, 0.3, 2);
    const m = moments(oldStyle(v));
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const rms = Math.sqrt(v.reduce((a, b) => a + b * b, 0) / v.length);
    assert.ok(Math.abs(m.mean - mean) < 1e-12);
    assert.ok(Math.abs(m.rms - rms) < 1e-12);
    assert.equal(m.exact, true);
  });

  it('relu dead fraction: exact from a post-relu histogram (zeros land in the [0, 1e-12) bucket), and from z', () => {
    const z = normals(4000, -0.5, 1);
    const a = z.map(x => (x > 0 ? x : 0));
    const truth = fraction(z, x => x <= 0);
    const fromA = deadEstimate(oldStyle(a), 'activation', 'relu')!;
    assert.equal(fromA.value, truth);
    assert.equal(fromA.lower, truth);
    assert.equal(fromA.upper, truth);
    const fromZ = deadEstimate(oldStyle(z), 'preact', 'relu')!;
    assert.ok(fromZ.lower <= truth && truth <= fromZ.upper, `${fromZ.lower} <= ${truth} <= ${fromZ.upper}`);
    assert.ok(Math.abs(fromZ.value - truth) < 1e-3);
  });

  it('sigmoid saturation (|z| > 3.64 from the activation table): truth within the bounds, from z and from a', () => {
    const z = normals(20000, 0, 3);
    const truth = fraction(z, ACTIVATIONS.sigmoid.isSaturated!);
    for (const [space, values] of [['preact', z], ['activation', z.map(x => ACTIVATIONS.sigmoid.f(x))]] as const) {
      const e = saturationEstimate(oldStyle(values), space, 'sigmoid')!;
      assert.ok(e.lower <= truth && truth <= e.upper, `${space}: ${e.lower} <= ${truth} <= ${e.upper}`);
      if (space === 'preact') {
        // TF's buckets are 10% wide: at |z| = 3.64 the straddling buckets hold a few percent of the mass.
        assert.ok(e.upper - e.lower < 0.05, `${space}: bounds ${e.lower}..${e.upper}`);
        assert.ok(Math.abs(e.value - truth) < 0.01, `${space}: ${e.value} vs ${truth}`);
      } else {
        // Near a = 1 a 10%-wide bucket spans [0.95, 1.05): the bound is honest but wide (docs/tensorboard.md).
        assert.ok(e.upper - e.lower > 0.05);
      }
    }
  });

  it('TF2 [k,3] tensors: moments estimated within half a bucket, fractions within bounds', () => {
    const v = normals(10000, 1, 2);
    const { rows, k } = histogramTensorOf(v, 30);
    const h = histogramFromTensor({ dtype: 2, tensor_shape: { dim: [{ size: k }, { size: 3 }] }, tensor_content: Buffer.from(rows.buffer) })!;
    assert.equal(h.exactMoments, false);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const halfBucket = (h.max - h.min) / 30 / 2;
    assert.ok(Math.abs(moments(h).mean - mean) <= halfBucket);
    const truth = fraction(v, x => x <= 0);
    const e = massIn(h, [[-Infinity, 0]]);
    assert.ok(e.lower <= truth && truth <= e.upper);
  });

  it('activations with no dead region give null (SPEC §4: not applicable)', () => {
    const h = oldStyle(normals(100, 0, 1));
    assert.equal(deadEstimate(h, 'preact', 'tanh'), null);
    assert.equal(saturationEstimate(h, 'preact', 'relu'), null);
  });
});

describe('tensorboard tag mapping', () => {
  const cases: [string, string | null, string | null][] = [
    ['fc1.weight.grad', 'weight_grad', 'fc1'],
    ['features.0.weight', 'weight', 'features.0'],
    ['conv1/weight', 'weight', 'conv1'],
    ['layer1/weights/layer1/weights', 'weight', 'layer1'],
    ['layer1/layer1/outputs', 'activation', 'layer1'],
    ['dense_3/kernel_0/histogram', 'weight', 'dense_3'],
    ['dense_3/bias_0/histogram', 'bias', 'dense_3'],
    ['fc1/preact', 'preact', 'fc1'],
    ['fc1/activations', 'activation', 'fc1'],
    ['fc1/grad_preact', 'grad', 'fc1'],
    ['train/loss', 'loss', null],
    ['epoch_loss', 'loss', null],
    ['test/loss', 'val_loss', null],
    ['output/Model', null, null],
    ['hist-numpy', null, null],
  ];
  for (const [tag, quantity, layer] of cases) {
    it(`${tag} -> ${quantity ?? 'unmapped'}${layer ? ` of ${layer}` : ''}`, () => {
      const m = matchTag(tag, DEFAULT_TAG_RULES);
      assert.equal(m?.quantity ?? null, quantity);
      if (layer) assert.equal(m?.layer, layer);
    });
  }

  it('TF1 repeated name scopes collapse', () => {
    assert.equal(normalizeTag('a/b/a/b'), 'a/b');
    assert.equal(normalizeTag('a/a/out'), 'a/out');
    assert.equal(normalizeTag('a/b/c'), 'a/b/c');
  });

  it('overrides with {layer} templates come first; unknown quantities are problems', () => {
    const { rules, problems } = tagRules({ preact: 'net/{layer}/z_hist', grad: 're:^g/(?<layer>\\w+)$', bogus: 'x' });
    assert.deepEqual(matchTag('net/L3/z_hist', rules), { quantity: 'preact', layer: 'L3' });
    assert.deepEqual(matchTag('g/L1', rules), { quantity: 'grad', layer: 'L1' });
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /unknown tag quantity "bogus"/);
  });

  it('04 (TF1, relu outputs): layers from tags, dead fraction at step 0 = 1149/3000 zeros', () => {
    const [run] = readLogdir(path.join(__dirname, '../../fixtures/tfevents/04-tf1-morvan-layers-outputs.tfevents'), { activations: { layer1: 'relu' } });
    assert.deepEqual(run.layers.map(l => l.name), ['layer1', 'layer2']);
    assert.equal(run.timeline.length, 20);
    assert.equal(run.timeline[0].layers[0].deadFraction, 1149 / 3000);
    assert.equal(run.timeline[0].trainLoss, 0.2607767879962921);
    assert.ok(Math.abs(run.timeline[0].layers[0].activationMean - 786.5598098002374 / 3000) < 1e-12);
  });

  it('03 (tensorboardX): scalars logged at other steps align to the last value at or before each histogram step', () => {
    const [run] = readLogdir(path.join(__dirname, '../../fixtures/tfevents/03-tensorboardx-mnist-cnn-params.tfevents'));
    assert.deepEqual(run.layers.map(l => l.name), ['conv1', 'conv2', 'fc1', 'fc2']);
    assert.equal(run.timeline[0].step, 931);
    assert.ok(Number.isFinite(run.timeline[0].trainLoss));
    // test/loss first comes at step 938: before it, the first value after the histogram's step.
    assert.equal(run.timeline[0].valLoss, 0.2074684202671051);
    // logged in percent (93.94): the timeline holds the fraction the report schema expects
    assert.equal(run.timeline[0].valAccuracy, 93.94000244140625 / 100);
  });
});
