/**
 * The run rules from a timeline alone (as a TensorBoard reader provides it: no NetworkConfig, some stats null),
 * on synthetic timelines whose numbers mirror ../shared/research/calibration.md.
 */
import assert from 'node:assert/strict';
import type { LayerStats, ProbePoint } from '../../../src/core/types';
import { runFindings, DEFAULT_THRESHOLDS, type DiagnosisLayer } from '../../../src/diagnosis/rules';

const stats = (o: Partial<LayerStats>): LayerStats => ({
  deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
  preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
});

/** A timeline of n probes every 10 steps; `layer(i, t)` gives layer i's stats at probe t (0..1 through the run). */
function timeline(n: number, layers: number, layer: (i: number, t: number, k: number) => Partial<LayerStats>,
  loss: (t: number, k: number) => number = t => 1 - 0.8 * t, gradNorm: (k: number) => number = () => 1): ProbePoint[] {
  return Array.from({ length: n }, (_, k) => ({
    step: 10 * k, trainLoss: loss(k / (n - 1), k), valLoss: loss(k / (n - 1), k), gradNorm: gradNorm(k),
    layers: Array.from({ length: layers }, (_, i) => stats(layer(i, k / (n - 1), k))),
  }));
}

const mlp = (hidden: number, act: string, out = 'softmax'): DiagnosisLayer[] => [
  ...Array.from({ length: hidden }, (_, i) => ({ index: i, name: `dense_${i + 1}`, type: 'dense', activation: { name: act as 'relu' }, isOutput: false })),
  { index: hidden, name: `dense_${hidden + 1}`, type: 'dense', activation: { name: out as 'softmax' }, isOutput: true },
];

describe('run rules on a timeline alone', () => {
  it('healthy relu net with 20-30% dead units (calibration: 3 x 48 relu): no warning', () => {
    const f = runFindings({ layers: mlp(3, 'relu'), timeline: timeline(60, 4, (i, t) => ({ deadFraction: i < 3 ? 0.1 + 0.18 * t : null, gradRms: i === 3 ? 1 : 0.3 + t })) });
    assert.deepEqual(f.filter(x => x.severity !== 'info'), []);
  });

  it('dead units: 0.25-0.5 at most info, >= 0.5 warning, >= 0.9 error, each with when it happened', () => {
    const dead = [0.4, 0.6, 0.95];
    const f = runFindings({ layers: mlp(3, 'relu'), lr: 0.5, timeline: timeline(50, 4, (i, t) => ({ deadFraction: i < 3 ? dead[i] * Math.min(1, 2 * t) : null })) });
    const byLayer = new Map(f.filter(x => x.kind === 'dead-units').map(x => [x.layer, x]));
    assert.equal(byLayer.get(0)?.severity, 'info');
    assert.equal(byLayer.get(1)?.severity, 'warning');
    assert.equal(byLayer.get(2)?.severity, 'error');
    const w = byLayer.get(1)!;
    assert.equal(w.evidence.bornDead, false);
    assert.equal(w.evidence.atStep0, 0);
    // 0.6 * min(1, 2t) crosses 0.5 at t = 0.42, i.e. probe 21 of 50 (step 210).
    assert.equal(w.evidence.deadSinceStep, 210);
    assert.ok(w.suggestions.some(s => s.lr === 0.05), 'a 10x lower learning rate');
    // Info level is common in healthy nets (calibration: adam 1e-3 / 5e-3 reach 0.31 dead): the rate is no cause
    // there, and cutting it 10x stalls training (verified on the Keras corpus' 02 MLP: val loss 0.27 -> 0.69).
    assert.deepEqual(byLayer.get(0)!.suggestions.map(s => s.lr), [undefined, undefined], 'no lower rate for info-level dead units');
    assert.deepEqual(f.map(x => x.severity), ['error', 'warning', 'info'], 'ordered by severity');
  });

  it('a fully dead layer: "the network is dead from layer k", once, listing the dead layers above', () => {
    const f = runFindings({ layers: mlp(6, 'relu'), timeline: timeline(20, 7, i => ({ deadFraction: i >= 2 && i < 6 ? 1 : i < 6 ? 0.5 : null, gradRms: i < 6 ? 0 : 1 })) });
    const dead = f.filter(x => x.kind === 'dead-units' && x.severity === 'error');
    assert.equal(dead.length, 1);
    assert.equal(dead[0].layer, 2);
    assert.deepEqual(dead[0].evidence.deadLayers, [2, 3, 4, 5]);
    assert.equal(dead[0].evidence.bornDead, true);
    assert.match(dead[0].message, /dead from layer [a-z_0-9]+ \(#2\)/);
    assert.deepEqual(f.filter(x => x.kind === 'vanishing-gradient'), [], 'zero gradient below a dead layer is the dead finding');
  });

  it('saturated but learning (calibration: 2 x 16 tanh on xor, 0.39-0.64): info only', () => {
    const f = runFindings({ layers: mlp(2, 'tanh', 'sigmoid'), timeline: timeline(90, 3, (i, t) => ({ saturatedFraction: i === 1 ? 0.39 + 0.25 * t : i === 0 ? 0.05 : null, gradRms: i === 2 ? 1 : 0.5 })) });
    assert.deepEqual(f.map(x => `${x.severity}:${x.kind}`), ['info:saturation']);
  });

  it('saturation that hurts (a starved layer below) is a warning; >= 0.9 sustained an error', () => {
    const hurt = runFindings({ layers: mlp(2, 'tanh'), timeline: timeline(30, 3, i => ({ saturatedFraction: i === 1 ? 0.7 : 0.1, gradRms: i === 0 ? 0.05 : 1 })) });
    assert.equal(hurt.find(x => x.kind === 'saturation')?.severity, 'warning');
    const err = runFindings({ layers: mlp(2, 'tanh'), timeline: timeline(30, 3, i => ({ saturatedFraction: i === 1 ? 0.95 : 0.1 })) });
    assert.equal(err.find(x => x.kind === 'saturation')?.severity, 'error');
    const blip = runFindings({ layers: mlp(2, 'tanh'), timeline: timeline(30, 3, (i, _t, k) => ({ saturatedFraction: i === 1 && k % 3 === 0 ? 0.95 : 0.1 })) });
    assert.deepEqual(blip, [], 'not on 3 consecutive probes: nothing');
  });

  it('the output layer is never judged for saturation (a confident sigmoid classifier saturates at 1.0)', () => {
    const f = runFindings({ layers: mlp(1, 'relu', 'sigmoid'), timeline: timeline(30, 2, i => ({ saturatedFraction: i === 1 ? 1 : null, deadFraction: i === 0 ? 0.1 : null })) });
    assert.deepEqual(f, []);
  });

  it('vanishing gradient: median over the last probes, on the lowest affected layer, listing all', () => {
    // ratio layer i / output = 10^-(4-i) at the end: layers 0, 1 below 1e-2; layer 0 below 1e-4 only at the start.
    const f = runFindings({ layers: mlp(4, 'sigmoid'), timeline: timeline(40, 5, (i, t) => ({ gradRms: i === 4 ? 1 : 10 ** -(4 - i) * (t < 0.5 ? 0.1 : 2) })) });
    const v = f.filter(x => x.kind === 'vanishing-gradient');
    assert.equal(v.length, 1);
    assert.equal(v[0].layer, 0);
    assert.deepEqual(v[0].evidence.affectedLayers, [0, 1]);
    assert.equal(v[0].evidence.ratio, 2e-4);
    assert.equal(v[0].severity, 'warning', 'judged on the last probes (2e-4), not the start (1e-5)');
    assert.ok(v[0].suggestions.some(s => s.activation === 'relu' && s.init === 'he_normal'));
  });

  it('pooling between a layer and the output (gradScale) is not a vanishing gradient', () => {
    // A conv layer under a global average pool over 16 x 16: each position gets 1/256 of the gradient.
    const layers = mlp(1, 'relu').map(l => (l.index === 0 ? { ...l, type: 'conv2d', gradScale: 256 } : l));
    const tl = timeline(20, 2, i => ({ gradRms: i === 0 ? 1 / 400 : 1 }));
    assert.deepEqual(runFindings({ layers, timeline: tl }), []);
    const raw = runFindings({ layers: layers.map(l => ({ ...l, gradScale: undefined })), timeline: tl });
    assert.deepEqual(raw.map(f => f.kind), ['vanishing-gradient']);
  });

  it('exploding gradient: a jump above 10x the running median with the loss, with a clip value at the p90 of the norms before it', () => {
    const norms = Array.from({ length: 30 }, (_, k) => (k === 20 ? 500 : 1 + (k % 10) / 10));
    const f = runFindings({ layers: mlp(2, 'relu'), timeline: timeline(30, 3, () => ({}), (_t, k) => (k === 21 ? 40 : 1), k => norms[k]) });
    const e = f.find(x => x.kind === 'exploding-gradient')!;
    assert.ok(e);
    assert.equal(e.step, 200);
    assert.equal(e.evidence.jumps, 1);
    // p90 of 1.0..1.9 repeated (probes 0-19) = 1.8
    assert.equal(e.suggestions[0].clip, 1.8);
  });

  it('a converged net\'s one-batch gradient-norm spikes at a tiny loss are not exploding gradients', () => {
    // Observed in a healthy 12 x 64 selu run: norms ~0.03 with spikes to 2-4 at steps 104, 192, 264, loss ~0.01.
    const norms = Array.from({ length: 50 }, (_, k) => (k % 12 === 11 ? 3 : 0.05));
    const f = runFindings({ layers: mlp(2, 'relu'), timeline: timeline(50, 3, () => ({}), t => 0.01 + 0.5 * (1 - t) ** 8, k => norms[k]) });
    assert.deepEqual(f, []);
  });

  it('non-finite values in a timeline without an event: the first layer and probe where they appear', () => {
    const tl = timeline(10, 3, (i, _t, k) => ({ nonFinite: k >= 6 && i >= 1 ? 4 : 0 }));
    const f = runFindings({ layers: mlp(2, 'relu'), timeline: tl, source: 'run1/tag' });
    const nf = f.find(x => x.kind === 'non-finite')!;
    assert.equal(nf.layer, 1);
    assert.equal(nf.step, 60);
    assert.equal(nf.evidence.source, 'run1/tag');
    assert.equal(f[0], nf);
  });

  it('thresholds from diagnostics: override the defaults by key', () => {
    const tl = timeline(20, 2, i => ({ deadFraction: i === 0 ? 0.55 : null }));
    assert.equal(runFindings({ layers: mlp(1, 'relu'), timeline: tl })[0].severity, 'warning');
    assert.equal(runFindings({ layers: mlp(1, 'relu'), timeline: tl, thresholds: { dead_warning: 0.6, dead_info: 0.5 } })[0].severity, 'info');
    assert.equal(DEFAULT_THRESHOLDS.dead_warning, 0.5);
  });

  it('stats that a log reader could not provide (null) are skipped, not misread', () => {
    const f = runFindings({ layers: mlp(2, 'relu'), timeline: timeline(20, 3, () => ({ deadFraction: null, saturatedFraction: null, gradRms: NaN })) });
    assert.deepEqual(f, []);
  });
});
