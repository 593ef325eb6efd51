/**
 * The run rules' findings in full on constant (or two-phase) timelines, where every number is hand-computed:
 * medians of constant series are the constant, gradRms ratios are layer / output, the clip value is the 90th
 * percentile by linear interpolation (p90 of [1, 1.1, 1.2, 1.3, 1.4] = 1.3 + 0.6 * 0.1 = 1.36 -> 1.4). Covers
 * evidence, suggestions, severities, steps and the facts each message must name.
 */
import assert from 'node:assert/strict';
import type { LayerStats, ProbePoint } from '../../../src/core/types';
import { runRules } from '../../../src/diagnosis/runRules';
import type { DiagnosisLayer } from '../../../src/diagnosis/rules';
import type { Finding } from '../../../src/diagnosis/types';

const stats = (o: Partial<LayerStats>): LayerStats => ({
  deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
  preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
});
/** n probes every 10 steps. */
function timeline(n: number, layers: number, layer: (i: number, k: number) => Partial<LayerStats>,
  loss: (k: number) => number = k => 1 - 0.8 * k / (n - 1), gradNorm: (k: number) => number = () => 1): ProbePoint[] {
  return Array.from({ length: n }, (_, k) => ({
    step: 10 * k, trainLoss: loss(k), valLoss: loss(k), gradNorm: gradNorm(k),
    layers: Array.from({ length: layers }, (_, i) => stats(layer(i, k))),
  }));
}
const mlp = (hidden: number, act: string): DiagnosisLayer[] => [
  ...Array.from({ length: hidden }, (_, i) => ({ index: i, name: `dense_${i + 1}`, type: 'dense', activation: { name: act as 'relu' }, isOutput: false })),
  { index: hidden, name: `dense_${hidden + 1}`, type: 'dense', activation: { name: 'softmax' }, isOutput: true },
];
const ofKind = (fs: Finding[], kind: Finding['kind']) => fs.filter(f => f.kind === kind);
const mentions = (f: Finding, ...facts: string[]) => { for (const s of facts) assert.ok(f.message.includes(s), `"${s}" in: ${f.message}`); };
const noReason = (ss: Finding['suggestions']) => ss.map(({ reason: _r, ...rest }) => rest);

describe('run rules: evidence, suggestions and messages, hand-computed', () => {
  it('saturation that starves the layer below: one warning for the stack, sigmoid -> relu+he and tanh+glorot', () => {
    const f = ofKind(runRules({ layers: mlp(3, 'sigmoid'), timeline: timeline(20, 4, i => ({ saturatedFraction: i < 2 ? 0.7 : 0.1, gradRms: i === 0 ? 0.05 : 1 })) }), 'saturation');
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'warning'); assert.equal(f[0].layer, 0); assert.equal(f[0].step, 0);
    assert.deepEqual(f[0].evidence, { saturatedFraction: 0.7, peak: 0.7, consecutiveProbes: 20, fromStep: 0, layers: [0, 1],
      saturatedFractions: [0.7, 0.7], minGradRatioAtOrBelow: 0.05, lossStalled: false });
    assert.deepEqual(noReason(f[0].suggestions), [{ activation: 'relu', init: 'he_normal', layers: [0, 1] }, { activation: 'tanh', init: 'glorot_uniform', layers: [0, 1] }]);
    mentions(f[0], '70% of the unit activations of 2 sigmoid layers (dense_1, dense_2)', 'at least 50% on 20 consecutive probes from step 0',
      'the gradient reaching dense_1 is 0.05 of the output layer');
  });

  it('saturation with a stalled loss is a warning that says so; with a falling loss only info; tanh gets Glorot', () => {
    const stalled = ofKind(runRules({ layers: mlp(2, 'tanh'), timeline: timeline(10, 3, i => ({ saturatedFraction: i === 1 ? 0.6 : 0.2 }), () => 2) }), 'saturation');
    assert.deepEqual(stalled.map(f => [f.severity, f.layer, f.evidence.lossStalled]), [['warning', 1, true]]);
    mentions(stalled[0], '60% of the unit activations of dense_2 (tanh)', 'the loss stalled at 2 (2 at step 0)');
    assert.deepEqual(noReason(stalled[0].suggestions), [{ activation: 'relu', init: 'he_normal', layers: [1] }, { init: 'glorot_uniform', layers: [1] }]);
    const fine = ofKind(runRules({ layers: mlp(2, 'tanh'), timeline: timeline(10, 3, i => ({ saturatedFraction: i === 1 ? 0.6 : 0.2 })) }), 'saturation');
    assert.deepEqual(fine.map(f => f.severity), ['info']);
    mentions(fine[0], 'the loss still fell');
    // 0.9 and above on 3 consecutive probes from step 30 (after 3 calm probes): error, from that step.
    const err = ofKind(runRules({ layers: mlp(2, 'tanh'), timeline: timeline(10, 3, (i, k) => ({ saturatedFraction: i === 0 && k >= 3 ? 0.95 : 0.2 })) }), 'saturation');
    assert.deepEqual(err.map(f => [f.severity, f.step, f.evidence.consecutiveProbes, f.evidence.peak]), [['error', 30, 7, 0.95]]);
  });

  it('vanishing gradient in a relu net: He init on every non-saturating hidden layer; error below 1e-4', () => {
    const v = ofKind(runRules({ layers: mlp(3, 'relu'), timeline: timeline(20, 4, i => ({ gradRms: i === 0 ? 1e-3 : 1 })) }), 'vanishing-gradient');
    assert.equal(v.length, 1);
    assert.deepEqual([v[0].severity, v[0].layer, v[0].step], ['warning', 0, 190]);
    assert.deepEqual(v[0].evidence, { ratio: 0.001, ratioAtStep0: 0.001, affectedLayers: [0], ratios: [0.001], outputLayer: 'dense_4' });
    assert.deepEqual(noReason(v[0].suggestions), [{ init: 'he_normal', layers: [0, 1, 2] }]);
    mentions(v[0], 'the gradient reaching dense_1 is', 'vanishes in 1 layer(s) (dense_1)');
    const e = ofKind(runRules({ layers: mlp(3, 'relu'), timeline: timeline(20, 4, i => ({ gradRms: i === 0 ? 5e-5 : i === 1 ? 5e-3 : 1 })) }), 'vanishing-gradient');
    assert.deepEqual([e[0].severity, e[0].evidence.affectedLayers, e[0].evidence.ratios], ['error', [0, 1], [5e-5, 5e-3]]);
    const zero = ofKind(runRules({ layers: mlp(2, 'relu'), timeline: timeline(20, 3, i => ({ gradRms: i === 0 ? 0 : 1 })) }), 'vanishing-gradient');
    mentions(zero[0], 'the gradient reaching dense_1 is zero');
  });

  it('exploding gradient in a tanh stack: Glorot first, then the clip (p90 of the norms) and a 10x lower rate', () => {
    const f = ofKind(runRules({ layers: mlp(2, 'tanh'), lr: 0.1, timeline: timeline(20, 3, i => ({ gradRms: i === 0 ? 500 : 1 })) }), 'exploding-gradient');
    assert.equal(f.length, 1);
    assert.deepEqual([f[0].severity, f[0].layer, f[0].step], ['warning', 0, 190]);
    assert.deepEqual(f[0].evidence, { gradNormP90: 1, jumps: 0, firstJumpStep: null, maxGradNorm: 1, ratio: 500, ratioAtEnd: 500, affectedLayers: [0], ratios: [500] });
    assert.deepEqual(noReason(f[0].suggestions), [{ init: 'glorot_uniform', layers: [0, 1] }, { clip: 1 }, { lr: 0.01 }]);
    mentions(f[0], 'the gradient reaching dense_1 is 500x the output layer', 'median of the last probes', 'grows through 1 layer(s) (dense_1)');
    // Exploding at the start only (3 probes at 2e4, then 1): judged on the first probes, an error, at step 0.
    const early = ofKind(runRules({ layers: mlp(2, 'relu'), timeline: timeline(20, 3, (i, k) => ({ gradRms: i === 0 && k < 3 ? 2e4 : 1 })) }), 'exploding-gradient');
    assert.deepEqual([early[0].severity, early[0].step, early[0].evidence.ratio, early[0].evidence.ratioAtEnd], ['error', 0, 2e4, 1]);
    mentions(early[0], 'median of the first probes; 1x at the end');
    assert.deepEqual(noReason(early[0].suggestions), [{ clip: 1 }], 'relu: no Glorot; no lr given: no lower rate');
  });

  it('non-finite: from the event (layer, backward) with a lower rate and a clip from the norms before the blow-up', () => {
    const tl = timeline(10, 3, () => ({}), k => (k < 5 ? 1 : 10), k => 1 + k / 10);
    const f = ofKind(runRules({ layers: mlp(2, 'relu'), timeline: tl, lr: 0.1, nonFinite: { step: 40, layer: 1, where: 'backward' } }), 'non-finite');
    assert.deepEqual([f[0].severity, f[0].layer, f[0].step], ['error', 1, 40]);
    assert.deepEqual(f[0].evidence, { step: 40, layer: 1, where: 'backward' });
    assert.deepEqual(noReason(f[0].suggestions), [{ lr: 0.01 }, { clip: 1.4 }]);
    mentions(f[0], 'NaN/Inf first appeared in the backward pass at step 40, layer dense_2');
    const loss = ofKind(runRules({ layers: mlp(2, 'relu'), timeline: tl, nonFinite: { step: 50, layer: -1, where: 'loss' } }), 'non-finite');
    assert.deepEqual([loss[0].layer, loss[0].layerName], [-1, 'network']);
    mentions(loss[0], 'NaN/Inf first appeared in the loss at step 50:');
    // No event: a non-finite training loss at probe 3 is found in the timeline.
    const fromLog = ofKind(runRules({ layers: mlp(2, 'relu'), timeline: timeline(6, 3, () => ({}), k => (k === 3 ? NaN : 1)) }), 'non-finite');
    assert.deepEqual(fromLog[0].evidence, { step: 30, layer: -1, where: 'loss' });
  });

  it('dead units: born dead at a warning level (no lower rate), several info layers merged into one', () => {
    const born = ofKind(runRules({ layers: mlp(2, 'relu'), lr: 0.1, timeline: timeline(20, 3, i => ({ deadFraction: i === 0 ? 0.6 : 0 })) }), 'dead-units');
    assert.deepEqual([born[0].severity, born[0].layer, born[0].step], ['warning', 0, 0]);
    assert.deepEqual(born[0].evidence, { deadFraction: 0.6, atStep0: 0.6, max: 0.6, bornDead: true, deadSinceStep: 0, probes: 20 });
    assert.deepEqual(noReason(born[0].suggestions), [{ activation: 'leaky_relu', init: 'he_normal' }, { activation: 'elu', init: 'he_normal' }]);
    mentions(born[0], '60% of the units of dense_1 (relu) are dead', 'already 60% at step 0 (born dead)');
    const info = ofKind(runRules({ layers: mlp(3, 'relu'), timeline: timeline(20, 4, i => ({ deadFraction: i === 0 ? 0.35 : i === 1 ? 0.4 : 0.1 })) }), 'dead-units');
    assert.equal(info.length, 1);
    assert.deepEqual([info[0].severity, info[0].layer, info[0].evidence.layers, info[0].evidence.deadFractions], ['info', 0, [0, 1], [0.35, 0.4]]);
    mentions(info[0], '35%-40% of the units of 2 layers (dense_1, dense_2) are dead');
  });
});
