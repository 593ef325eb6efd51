/**
 * histStats on small hand-computed histograms: the interpolation at region boundaries, the bounds, standard
 * deviations, the non-finite flag and re-binning onto chart edges. Every expected number below is worked out
 * by hand in the comment next to it.
 */
import { strict as assert } from 'node:assert';
import { ACTIVATIONS } from '../../../src/core/activations';
import { Rng } from '../../../src/core/rng';
import type { TbHistogram } from '../../../src/tensorboard/events';
import { deadEstimate, massIn, moments, nonFiniteIn, rebin, saturationEstimate } from '../../../src/tensorboard/histStats';
import { histogramOf } from '../../../src/tensorboard/writer';

function hist(edges: number[], counts: number[], extra: Partial<TbHistogram> = {}): TbHistogram {
  const num = counts.reduce((a, b) => a + b, 0);
  return { min: edges[0], max: edges[edges.length - 1], num, sum: 0, sumSquares: 0, exactMoments: true, edges: Float64Array.from(edges), counts: Float64Array.from(counts), ...extra };
}

/** The TbHistogram a reader gets from an old-style (TF1) histogram of these values. */
function oldStyle(values: Float64Array): TbHistogram {
  const h = histogramOf(values);
  const edges = [h.min, ...h.bucket_limit.map(l => Math.min(Math.max(l, h.min), h.max))];
  return { min: h.min, max: h.max, num: h.num, sum: h.sum, sumSquares: h.sum_squares, exactMoments: true, edges: Float64Array.from(edges), counts: Float64Array.from(h.bucket) };
}

describe('histogram mass in a region (hand-computed)', () => {
  it('straddling buckets count by linear interpolation in value, wholly in upper, not in lower', () => {
    // [0,1]: 10 values, [1,2]: none, [2,4]: 30. Region [0.5, 3]: 10 * 0.5/1 + 30 * 1/2 = 20 of 40.
    const e = massIn(hist([0, 1, 2, 4], [10, 0, 30]), [[0.5, 3]]);
    assert.deepEqual(e, { value: 0.5, lower: 0, upper: 1 });
  });
  it('a bucket inside the region counts fully in all three; one outside in none', () => {
    // [0,1]: 4 inside [0, 2]; [1,2]: 6 inside; [2,3]: 10 touches the region at 2 only (interpolated 0).
    const e = massIn(hist([0, 1, 2, 3], [4, 6, 10]), [[0, 2]]);
    assert.deepEqual(e, { value: 0.5, lower: 0.5, upper: 1 });
    // A region entirely between buckets' values, and one beyond them.
    assert.deepEqual(massIn(hist([0, 1, 2, 3], [4, 6, 10]), [[5, 9]]), { value: 0, lower: 0, upper: 0 });
  });
  it('two disjoint intervals add up (a saturating activation has one per side)', () => {
    // [-4,-2]: 2 in (-inf, -3]: half = 1; [-2,2]: 6 in neither; [2,4]: 2 in [3, inf): half = 1. 2 of 10.
    const e = massIn(hist([-4, -2, 2, 4], [2, 6, 2]), [[-Infinity, -3], [3, Infinity]]);
    assert.deepEqual(e, { value: 0.2, lower: 0, upper: 0.4 });
  });
  it('a bucket that ends where the region starts may hold mass on the boundary: it counts in upper only', () => {
    // [-1,0]: 5 touches [0, inf) at 0 (closed interval); [0,1]: 5 inside.
    assert.deepEqual(massIn(hist([-1, 0, 1], [5, 5]), [[0, Infinity]]), { value: 0.5, lower: 0.5, upper: 1 });
  });
  it('a NaN bucket edge (a damaged file) leaves the estimate finite: the bucket counts as possibly inside', () => {
    assert.deepEqual(massIn(hist([0, NaN, 2], [1, 1]), [[0.5, 1.5]]), { value: 1, lower: 0, upper: 1 });
  });
  it('an empty histogram gives NaN (unknown), not 0', () => {
    const e = massIn(hist([0, 1], [0]), [[0, 1]]);
    assert.ok(Number.isNaN(e.value) && Number.isNaN(e.lower) && Number.isNaN(e.upper), JSON.stringify(e));
  });
});

describe('dead and saturated estimates from the activation table', () => {
  it('relu from z: the mass at or below 0; from a: the mass at 0 (within 1e-6)', () => {
    // z: [-2,-1]: 3, [-1,1]: 4 (half below 0), [1,2]: 3 -> 3 + 2 = 5 of 10.
    assert.deepEqual(deadEstimate(hist([-2, -1, 1, 2], [3, 4, 3]), 'preact', 'relu'), { value: 0.5, lower: 0.3, upper: 0.7 });
    // a: [0, 1e-12]: 6 zeros; [1e-12, 3]: 4 -> exactly 6 of 10 dead.
    const a = deadEstimate(hist([0, 1e-12, 3], [6, 4]), 'activation', 'relu')!;
    assert.equal(a.lower, 0.6);
    assert.ok(Math.abs(a.value - 0.6) < 1e-6 && a.upper === 1, JSON.stringify(a));
  });
  it('tanh saturation from outputs: a bucket ending exactly at tanh(t) is outside, one starting there inside', () => {
    const t = ACTIVATIONS.tanh.saturatedAbove!, edge = Math.tanh(t);
    // [0.5, tanh t]: 5 touches the region [tanh t, 1] at its start; [tanh t, 1]: 5 inside -> 5 of 10 exactly.
    assert.deepEqual(saturationEstimate(hist([0.5, edge, 1], [5, 5]), 'activation', 'tanh'), { value: 0.5, lower: 0.5, upper: 1 });
  });
  it('activations without a dead region or saturation judgement give null', () => {
    const h = hist([-1, 1], [5]);
    assert.equal(deadEstimate(h, 'preact', 'tanh'), null);
    assert.equal(saturationEstimate(h, 'preact', 'relu'), null);
    assert.equal(saturationEstimate(h, 'activation', 'gelu'), null);
  });
  it('softsign saturation from its outputs: the image of (-inf, -t] and [t, inf) is (-1, -t/(1+t)] and [t/(1+t), 1)', () => {
    // Values of z ~ N(0, 3^2) through softsign; the truth is counted on z with the table's predicate.
    const r = new Rng(3), z = new Float64Array(20000).map(() => 3 * r.normal());
    const a = z.map(x => x / (1 + Math.abs(x)));
    const truth = z.reduce((s, x) => s + (ACTIVATIONS.softsign.isSaturated!(x) ? 1 : 0), 0) / z.length;
    const e = saturationEstimate(oldStyle(a), 'activation', 'softsign')!;
    assert.ok(Number.isFinite(e.value), `finite: ${e.value}`);
    assert.ok(e.lower <= truth && truth <= e.upper, `${e.lower} <= ${truth} <= ${e.upper}`);
    assert.ok(Math.abs(e.value - truth) < 0.03, `${e.value} vs ${truth}`);
  });
  it('sigmoid saturation from its outputs: a finite estimate inside bounds that hold the truth', () => {
    const r = new Rng(4), z = new Float64Array(20000).map(() => 3 * r.normal());
    const truth = z.reduce((s, x) => s + (ACTIVATIONS.sigmoid.isSaturated!(x) ? 1 : 0), 0) / z.length;
    const e = saturationEstimate(oldStyle(z.map(x => ACTIVATIONS.sigmoid.f(x))), 'activation', 'sigmoid')!;
    // Near a = 1 TF's 10%-wide buckets make the bounds wide (docs/tensorboard.md); the estimate stays inside.
    assert.ok(e.lower <= truth && truth <= e.upper, `${e.lower} <= ${truth} <= ${e.upper}`);
    assert.ok(e.lower <= e.value && e.value <= e.upper && e.value > 0.1, `${e.lower} <= ${e.value} <= ${e.upper}`);
  });
});

describe('moments and the non-finite flag', () => {
  it('std from sum and sum_squares: values 1, 2, 3, 6 have mean 3, std sqrt(3.5)', () => {
    // sum 12, sum of squares 1 + 4 + 9 + 36 = 50; E[x^2] = 12.5; var = 12.5 - 9 = 3.5.
    const m = moments(hist([1, 6], [4], { sum: 12, sumSquares: 50, num: 4 }));
    assert.equal(m.mean, 3);
    assert.ok(Math.abs(m.std - Math.sqrt(3.5)) < 1e-12, `std ${m.std}`);
    assert.ok(Math.abs(m.rms - Math.sqrt(12.5)) < 1e-12, `rms ${m.rms}`);
  });
  it('a histogram whose sum, sum of squares, min or max is NaN or infinite is flagged; a finite one is not', () => {
    const ok = hist([0, 1], [3], { sum: 1, sumSquares: 1 });
    assert.equal(nonFiniteIn(ok), 0);
    for (const key of ['sum', 'sumSquares', 'min', 'max'] as const) {
      for (const bad of [NaN, Infinity, -Infinity]) assert.equal(nonFiniteIn({ ...ok, [key]: bad }), 1, `${key} = ${bad}`);
    }
  });
});

describe('rebin onto chart edges', () => {
  it('spreads each bucket uniformly over the bins it covers; outside mass goes to the end bins', () => {
    // New edges 0, 1, 2, 3, 4.
    // [-5,-3]: 3, all below 0 -> bin 0.            [-3,0.5]: 0.
    // [0.5,2.5]: 8 over width 2 -> bin 0 gets 0.5/2*8 = 2, bin 1 gets 4, bin 2 gets 2.
    // [2.5,2.5]: 2 (zero width) -> bin 2.           [2.5,5]: 0.
    // [5,7]: 1, all above 4 -> bin 3.
    const h = hist([-5, -3, 0.5, 2.5, 2.5, 5, 7], [3, 0, 8, 2, 0, 1]);
    const r = rebin(h, [0, 1, 2, 3, 4]);
    assert.deepEqual(r.edges, [0, 1, 2, 3, 4]);
    assert.deepEqual(r.counts, [5, 4, 4, 1]);
  });
  it('a bucket reaching outside the edges keeps its outside part in the end bin', () => {
    // [-1,1]: 4 -> bin 0 gets the part from -1 to 1 (all of it: 4 * 2/2); [3.5, 6]: 5 -> bin 3.
    const r = rebin(hist([-1, 1, 3.5, 6], [4, 0, 5]), [0, 1, 2, 3, 4]);
    assert.deepEqual(r.counts, [4, 0, 0, 5]);
  });
  it('keeps the total mass of a real histogram', () => {
    const r = new Rng(9), v = new Float64Array(3000).map(() => r.normal());
    const h = oldStyle(v);
    const out = rebin(h, Array.from({ length: 31 }, (_, i) => -2 + (4 * i) / 30));
    assert.ok(Math.abs(out.counts.reduce((a, b) => a + b, 0) - 3000) < 1e-6);
    // The share inside [-2, 2) matches the values' (bucket interpolation error is small at 3000 values).
    const inner = out.counts.slice(1, 29).reduce((a, b) => a + b, 0) / 3000;
    const truth = v.filter(x => x >= -2 + 4 / 30 && x < 2 - 4 / 30).length / 3000;
    assert.ok(Math.abs(inner - truth) < 0.01, `${inner} vs ${truth}`);
  });
});
