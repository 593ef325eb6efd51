/**
 * The run rules at their edges: each SPEC §4 threshold hit exactly (">= 0.5" fires at 0.5, "< 1e-2" does not at
 * 1e-2), the "it hurts" and "loss rose with the jump" conditions one at a time, partial timelines (null stats,
 * missing layers, an empty run), and the facts each message and suggestion must carry. Every timeline is
 * constant or piecewise constant, so medians, ratios and percentiles are hand-computed in the comments.
 * (Written against the survivors of `npm run mutation -- runRules`, docs/testing.md.)
 */
import assert from 'node:assert/strict';
import type { LayerStats, ProbePoint } from '../../../src/core/types';
import { runRules } from '../../../src/diagnosis/runRules';
import type { DiagnosisLayer } from '../../../src/diagnosis/rules';
import type { Finding } from '../../../src/diagnosis/types';
import type { Thresholds } from '../../../src/model';
import { formatNumber } from '../../../src/format';

const stats = (o: Partial<LayerStats>): LayerStats => ({
  deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
  preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
});
/** n probes every 10 steps; the default loss falls 1 -> 0.2 (never "stalled"), the default gradient norm is 1. */
function timeline(n: number, layers: number, layer: (i: number, k: number) => Partial<LayerStats>,
  loss: (k: number) => number = k => 1 - 0.8 * k / Math.max(1, n - 1), gradNorm: (k: number) => number = () => 1): ProbePoint[] {
  return Array.from({ length: n }, (_, k) => ({
    step: 10 * k, trainLoss: loss(k), valLoss: loss(k), gradNorm: gradNorm(k),
    layers: Array.from({ length: layers }, (_, i) => stats(layer(i, k))),
  }));
}
const mlp = (acts: string[], out = 'softmax'): DiagnosisLayer[] => [
  ...acts.map((a, i) => ({ index: i, name: `dense_${i + 1}`, type: 'dense', activation: { name: a as 'relu' }, isOutput: false })),
  { index: acts.length, name: `dense_${acts.length + 1}`, type: 'dense', activation: { name: out as 'softmax' }, isOutput: true },
];
const same = (n: number, a: string) => Array.from({ length: n }, () => a);
const ofKind = (fs: Finding[], kind: Finding['kind']) => fs.filter(f => f.kind === kind);
const mentions = (f: Finding, ...facts: string[]) => { for (const s of facts) assert.ok(f.message.includes(s), `"${s}" in: ${f.message}`); };
const run = (layers: DiagnosisLayer[], tl: ProbePoint[], extra: { thresholds?: Thresholds; lr?: number; nonFinite?: Finding['evidence'] } = {}) =>
  runRules({ layers, timeline: tl, ...(extra as object) });

/** Each suggestion's reason names what it suggests: the activation, the init's author, the clip value, the rate. */
function explained(fs: Finding[]) {
  for (const f of fs) {
    for (const s of f.suggestions) {
      const r = s.reason;
      if (s.activation) assert.ok(r.includes(s.activation), `${s.activation} in "${r}"`);
      else if (s.init) assert.match(r, { he_normal: /\bHe\b/, glorot_uniform: /Glorot/, lecun_normal: /lecun|LeCun/ }[s.init as string] ?? /./);
      if (s.clip !== undefined) assert.ok(r.includes(`clip the`) && r.includes(formatNumber(s.clip)), r);
      if (s.lr !== undefined) assert.match(r, /learning rate/);
    }
  }
}

describe('run rules at the thresholds of SPEC §4', () => {
  it('dead units: exactly 0.3 is info, exactly 0.5 a warning, exactly 0.9 an error (">=")', () => {
    const sev = (d: number) => ofKind(run(mlp(['relu']), timeline(10, 2, i => ({ deadFraction: i === 0 ? d : null }))), 'dead-units').map(f => f.severity);
    assert.deepEqual(sev(0.3), ['info']);
    assert.deepEqual(sev(0.29), []);
    assert.deepEqual(sev(0.5), ['warning']);
    assert.deepEqual(sev(0.9), ['error']);
    // Constant from step 0 at the level: born dead, dead since step 0.
    const at = ofKind(run(mlp(['relu']), timeline(10, 2, i => ({ deadFraction: i === 0 ? 0.5 : null }))), 'dead-units')[0];
    assert.deepEqual([at.evidence.bornDead, at.evidence.deadSinceStep], [true, 0]);
  });
  it('dead units: when they became dead is judged against the level of the finding\'s own severity', () => {
    // info: 0.31 at step 0 is already above 0.3 (born dead), though the end value is 0.4.
    const info = ofKind(run(mlp(['relu']), timeline(10, 2, (i, k) => ({ deadFraction: i === 0 ? (k < 5 ? 0.31 : 0.4) : null }))), 'dead-units')[0];
    assert.deepEqual([info.severity, info.evidence.bornDead], ['info', true]);
    // error: 0.6 at step 0 is below 0.9, so not born dead; it crossed 0.9 at probe 4 (step 40).
    const err = ofKind(run(mlp(['relu']), timeline(10, 2, (i, k) => ({ deadFraction: i === 0 ? (k < 4 ? 0.6 : 0.95) : null }))), 'dead-units')[0];
    assert.deepEqual([err.severity, err.evidence.bornDead, err.evidence.deadSinceStep, err.evidence.atStep0], ['error', false, 40, 0.6]);
    mentions(err, '95% of the units of dense_1 (relu) are dead', '60% at step 0, they became dead during training by step 40');
    // error: 0.92 at step 0 is already above 0.9: born dead, though the end value is 0.95.
    const born = ofKind(run(mlp(['relu']), timeline(10, 2, (i, k) => ({ deadFraction: i === 0 ? (k < 4 ? 0.92 : 0.95) : null }))), 'dead-units')[0];
    assert.deepEqual([born.severity, born.evidence.bornDead], ['error', true]);
    mentions(born, 'already 92% at step 0 (born dead)');
  });
  it('dead units: the peak is the largest value seen; a last probe below the level still gives a step of the run', () => {
    // 0.1, then 0.8 at probes 3-5, then 0.6: the last 3 probes (0.6) give the level, the peak is 0.8.
    const f = ofKind(run(mlp(['relu']), timeline(10, 2, (i, k) => ({ deadFraction: i === 0 ? (k < 3 ? 0.1 : k < 6 ? 0.8 : 0.6) : null }))), 'dead-units')[0];
    assert.deepEqual([f.severity, f.evidence.deadFraction, f.evidence.max], ['warning', 0.6, 0.8]);
    // The last of the tail probes falls below 0.5: the run at the level ended, the finding dates from the last step.
    const g = ofKind(run(mlp(['relu']), timeline(10, 2, (i, k) => ({ deadFraction: i === 0 ? (k < 9 ? 0.6 : 0.4) : null }))), 'dead-units')[0];
    assert.equal(g.severity, 'warning');
    assert.equal(g.step, 90);
  });
  it('a layer whose every unit is dead is an error even when the user set dead_error above 1', () => {
    const f = ofKind(run(mlp(['relu', 'relu']), timeline(10, 3, i => ({ deadFraction: i === 0 ? 1 : i === 1 ? 0 : null, gradRms: i === 0 ? 0 : 1 })), { thresholds: { dead_error: 2 } }), 'dead-units');
    assert.deepEqual(f.map(x => [x.layer, x.severity]), [[0, 'error']]);
  });
  it('the output layer is never judged for dead units (SPEC: hidden layers)', () => {
    assert.deepEqual(run(mlp(['relu'], 'relu'), timeline(10, 2, i => ({ deadFraction: i === 1 ? 1 : 0 }))), []);
  });
  it('saturation: exactly 0.5 on exactly 3 consecutive probes is found; exactly 0.9 sustained is an error', () => {
    // Probes 4-6 at 0.5 (a run of 3), the rest 0.1; it hurts (layer 0's gradient ratio is 0.05): a warning.
    const three = ofKind(run(mlp(['tanh']), timeline(10, 2, (i, k) => ({ saturatedFraction: i === 0 ? (k >= 4 && k <= 6 ? 0.5 : 0.1) : null, gradRms: i === 0 ? 0.05 : 1 }))), 'saturation');
    assert.deepEqual(three.map(f => [f.severity, f.evidence.consecutiveProbes, f.step]), [['warning', 3, 40]]);
    const err = ofKind(run(mlp(['tanh']), timeline(10, 2, i => ({ saturatedFraction: i === 0 ? 0.9 : null }))), 'saturation');
    assert.deepEqual(err.map(f => f.severity), ['error']);
  });
  it('saturation error needs both: the last probes at >= 0.9 AND a run of 3 probes at >= 0.9', () => {
    // 0.95 except every third probe at 0.6: the last 3 (0.6, 0.95, 0.95) have median 0.95, but no 3 in a row >= 0.9.
    const gappy = ofKind(run(mlp(['tanh']), timeline(10, 2, (i, k) => ({ saturatedFraction: i === 0 ? (k % 3 === 1 ? 0.6 : 0.95) : null }))), 'saturation');
    assert.deepEqual(gappy.map(f => f.severity), ['info']);
    // 0.95 for 5 probes, then 0.6: a long run at >= 0.9, but the last probes are at 0.6.
    // Exactly the last 3 probes at 0.95 (a run of 3, and the last probes): an error.
    const three = ofKind(run(mlp(['tanh']), timeline(10, 2, (i, k) => ({ saturatedFraction: i === 0 ? (k >= 7 ? 0.95 : 0.6) : null }))), 'saturation');
    assert.deepEqual(three.map(f => f.severity), ['error']);
    const early = ofKind(run(mlp(['tanh']), timeline(10, 2, (i, k) => ({ saturatedFraction: i === 0 ? (k < 5 ? 0.95 : 0.6) : null }))), 'saturation');
    assert.deepEqual(early.map(f => f.severity), ['info']);
  });
  it('saturation hurts only below a ratio of 0.1 at this layer or below it, not at a layer above', () => {
    const sat = (g: (i: number) => number) => ofKind(run(mlp(['tanh', 'tanh']), timeline(10, 3, i => ({ saturatedFraction: i === 0 ? 0.7 : 0.1, gradRms: g(i) }))), 'saturation');
    const exactly = sat(i => (i === 0 ? 0.1 : 1));
    assert.deepEqual(exactly.map(f => f.severity), ['info'], 'exactly 0.1 does not hurt');
    mentions(exactly[0], 'the loss still fell');
    // One layer: its own fraction, not a range.
    assert.match(exactly[0].message, /^70% of the unit activations of dense_1 \(tanh\)/);
    assert.deepEqual(sat(i => (i === 0 ? 0.5 : i === 1 ? 0.05 : 1)).map(f => f.severity), ['info'], 'a starved layer above does not count');
    const zero = sat(i => (i === 0 ? 0 : 1));
    assert.equal(zero[0].severity, 'warning');
    mentions(zero[0], 'the gradient reaching dense_1 is zero');
  });
  it('a saturated stack names its most starved layer, with that ratio, and the range of the fractions', () => {
    // Layers 0 and 1 saturated (0.6, 0.8); ratios 0.08 and 0.05: both hurt, the worst is dense_2 at 0.05.
    const f = ofKind(run(mlp(['sigmoid', 'tanh']), timeline(10, 3, i => ({ saturatedFraction: i === 0 ? 0.6 : i === 1 ? 0.8 : null, gradRms: i === 0 ? 0.08 : i === 1 ? 0.05 : 1 }))), 'saturation');
    assert.equal(f.length, 1);
    assert.equal(f[0].severity, 'warning');
    mentions(f[0], '60%-80% of the unit activations of 2 sigmoid/tanh layers (dense_1, dense_2)', 'the gradient reaching dense_2 is 0.05 of the output layer');
    assert.equal(f[0].evidence.minGradRatioAtOrBelow, 0.05);
    assert.deepEqual(f[0].suggestions.map(s => [s.activation, s.init]), [['relu', 'he_normal'], [undefined, 'glorot_uniform']], 'not all sigmoid: Glorot, not tanh');
    explained(f);
  });
  it('loss stalled: above 0.7 of its step-0 value over the last probes, on at least 3 probes', () => {
    const sat = (loss: (k: number) => number, n = 10, thresholds?: Thresholds) =>
      ofKind(run(mlp(['tanh']), timeline(n, 2, i => ({ saturatedFraction: i === 0 ? 0.6 : null }), loss), { thresholds }), 'saturation')[0];
    assert.equal(sat(k => (k < 5 ? 1 : 0.7)).evidence.lossStalled, false, 'exactly 0.7 of the start is not above it');
    assert.equal(sat(k => (k < 5 ? 2 : 1)).evidence.lossStalled, false, '2 -> 1 fell by half');
    assert.equal(sat(() => 2, 3).evidence.lossStalled, true, '3 probes are enough');
    assert.equal(sat(() => 2, 2, { saturation_probes: 1 }).evidence.lossStalled, false, '2 probes are too few to call it stalled');
  });
  it('vanishing: exactly 1e-2 is not below 1e-2; exactly 1e-4 is a warning, not an error; the ratio divides by the output\'s gradRms', () => {
    const v = (g0: number, gOut = 1) => ofKind(run(mlp(['relu', 'relu']), timeline(10, 3, i => ({ gradRms: i === 0 ? g0 : i === 2 ? gOut : 1 }))), 'vanishing-gradient');
    assert.deepEqual(v(1e-2), []);
    assert.deepEqual(v(1e-4).map(f => f.severity), ['warning']);
    // 0.01 against an output gradRms of 2: ratio 0.005.
    const half = v(0.01, 2);
    assert.deepEqual(half.map(f => f.evidence.ratio), [0.005]);
    mentions(half[0], 'the gradient reaching dense_1 is 0.005 of the output layer\'s', '0.005 at step 0');
  });
  it('exploding: exactly 1e2 is not above 1e2; exactly 1e4 is a warning; an error when any affected layer exceeds 1e4', () => {
    const e = (g: (i: number) => number) => ofKind(run(mlp(['relu', 'relu']), timeline(10, 3, i => ({ gradRms: g(i) }))), 'exploding-gradient');
    assert.deepEqual(e(i => (i === 0 ? 100 : 1)), []);
    assert.deepEqual(e(i => (i === 0 ? 1e4 : 1)).map(f => f.severity), ['warning']);
    const two = e(i => (i === 0 ? 2e4 : i === 1 ? 500 : 1));
    assert.deepEqual(two.map(f => [f.severity, f.layer]), [['error', 0]]);
    mentions(two[0], 'median of the last probes): it grows through 2 layer(s) (dense_1, dense_2)');
  });
});

describe('run rules: gradient-norm jumps need a material loss rise', () => {
  const jumpRun = (norms: (k: number) => number, loss: (k: number) => number, n = 30) =>
    ofKind(run(mlp(['relu', 'relu']), timeline(n, 3, () => ({}), loss, norms)), 'exploding-gradient');
  it('a jump above 10x the running median with the loss up 3x: a warning naming the norm, the step and the multiple', () => {
    // Norms 2 for probes 0-19, 40 at probe 20: 20x the running median 2. Loss 1, then 3 from probe 20 on.
    const f = jumpRun(k => (k === 20 ? 40 : 2), k => (k < 20 ? 1 : 3));
    assert.deepEqual(f.map(x => [x.severity, x.layer, x.step, x.evidence.jumps, x.evidence.maxGradNorm]), [['warning', -1, 200, 1, 40]]);
    mentions(f[0], 'the global gradient norm jumped to 40 at step 200, 20x its running median (1 jump(s) above 10x)');
    assert.deepEqual(f[0].suggestions.map(s => s.clip), [2]);
    assert.match(f[0].suggestions[0].reason, /clip the global gradient norm at 2, the 90th percentile of the norms observed before the first jump/);
    explained(f);
  });
  it('the running median is of the norms before the jump, not of the whole run; the loss median likewise', () => {
    // Norms 1 for probes 0-9, then 15 (a sustained jump); loss 1 then 3. The whole-run medians are 15 and 3.
    const f = jumpRun(k => (k < 10 ? 1 : 15), k => (k < 10 ? 1 : 3), 40);
    assert.deepEqual(f.map(x => [x.step, x.evidence.firstJumpStep, x.evidence.maxGradNorm]), [[100, 100, 15]]);
    mentions(f[0], 'jumped to 15 at step 100, 15x its running median');
  });
  it('no jump: exactly 10x; 7.5x of a median of 2; a flat or 1.5x loss; a loss still below 0.25 of its start', () => {
    assert.deepEqual(jumpRun(k => (k === 20 ? 20 : 2), k => (k < 20 ? 1 : 3)), [], 'exactly 10x the median 2');
    assert.deepEqual(jumpRun(k => (k === 20 ? 15 : 2), k => (k < 20 ? 1 : 3)), [], '7.5x');
    assert.deepEqual(jumpRun(k => (k === 20 ? 40 : 2), () => 2), [], 'the loss did not move');
    assert.deepEqual(jumpRun(k => (k === 20 ? 40 : 2), k => (k < 20 ? 2 : 3)), [], 'the loss rose 1.5x, not above 2x');
    assert.deepEqual(jumpRun(k => (k === 20 ? 40 : 2), k => (k < 20 ? 1 : 2)), [], 'exactly 2x');
    // Converged: loss 1 at step 0, then 0.01; the spike's loss 0.05 is 5x the median but below 0.25 of the start.
    assert.deepEqual(jumpRun(k => (k === 20 ? 40 : 2), k => (k === 0 ? 1 : k === 20 ? 0.05 : 0.01)), []);
    assert.deepEqual(jumpRun(k => (k === 20 ? 40 : 2), k => (k === 0 ? 1 : k === 20 ? 0.25 : 0.01)), [], 'exactly 0.25 of the start');
    // Start 4, then 0.1; the spike's 0.5 is 5x the median but not above 0.25 x 4 = 1.
    assert.deepEqual(jumpRun(k => (k === 20 ? 40 : 2), k => (k === 0 ? 4 : k === 20 ? 0.5 : 0.1)), []);
  });
  it('no jump at the last probe without a loss rise, from a zero median, or to an infinite norm', () => {
    assert.deepEqual(jumpRun(k => (k === 29 ? 40 : 2), () => 1), [], 'a spike on the last probe, flat loss');
    assert.deepEqual(jumpRun(k => (k < 20 ? 0 : 0.5), k => (k < 20 ? 1 : 3)), [], 'from a gradient of 0, no multiple');
    assert.deepEqual(jumpRun(k => (k === 20 ? Infinity : 2), k => (k < 20 ? 1 : 3)), [], 'an infinite norm is the non-finite rule\'s');
  });
  it('an exploding ratio and jumps together: both in one message; no clip without measured norms', () => {
    // A norm the log lacks (NaN at probe 5) changes neither the jump nor the largest norm.
    const both = ofKind(run(mlp(['relu', 'relu']), timeline(30, 3, i => ({ gradRms: i === 0 ? 500 : 1 }), k => (k < 20 ? 1 : 3), k => (k === 20 ? 40 : k === 5 ? NaN : 2)), { lr: 0.1 }), 'exploding-gradient');
    assert.equal(both.length, 1);
    assert.equal(both[0].evidence.maxGradNorm, 40);
    explained(both);
    mentions(both[0], '500x the output layer\'s (gradRms ratio, median of the last probes): it grows through 1 layer(s) (dense_1), and the gradient norm jumped above 10x its running median 1 time(s)');
    const alone = ofKind(run(mlp(['relu', 'relu']), timeline(10, 3, i => ({ gradRms: i === 0 ? 500 : 1 }))), 'exploding-gradient');
    assert.match(alone[0].message, /grows through 1 layer\(s\) \(dense_1\)$/, 'no jump: nothing after the layers');
    assert.match(alone[0].suggestions[0].reason, /the 90th percentile of the norms observed$/, 'no jump: no "before the first jump"');
    const noNorm = ofKind(run(mlp(['relu', 'relu']), timeline(10, 3, i => ({ gradRms: i === 0 ? 500 : 1 }), undefined, () => NaN)), 'exploding-gradient');
    assert.deepEqual(noNorm[0].suggestions.filter(s => s.clip !== undefined), [], 'NaN norms (a log without them): no clip');
    const zeroNorm = ofKind(run(mlp(['relu', 'relu']), timeline(10, 3, i => ({ gradRms: i === 0 ? 500 : 1 }), undefined, () => 0)), 'exploding-gradient');
    assert.deepEqual(zeroNorm[0].suggestions.filter(s => s.clip !== undefined), [], 'no clip at 0');
  });
  it('a saturating stack that explodes gets Glorot on its hidden layers only, not on the sigmoid output', () => {
    const f = ofKind(run(mlp(['tanh', 'tanh'], 'sigmoid'), timeline(10, 3, i => ({ gradRms: i === 0 ? 500 : 1 }))), 'exploding-gradient');
    assert.deepEqual(f[0].suggestions[0], { init: 'glorot_uniform', layers: [0, 1], reason: f[0].suggestions[0].reason });
    explained(f);
  });
});

describe('run rules: vanishing gradients, what each message and suggestion names', () => {
  it('a saturating stack: relu + He and tanh + Glorot on the affected layers, named in the message', () => {
    // Ratios 0.001 and 0.005 at layers 0 and 1 (sigmoid), layer 2 relu fine.
    const f = ofKind(run(mlp(['sigmoid', 'sigmoid', 'relu']), timeline(10, 4, i => ({ gradRms: i === 0 ? 0.001 : i === 1 ? 0.005 : 1 }))), 'vanishing-gradient');
    assert.deepEqual(f[0].suggestions.map(({ reason: _r, ...s }) => s), [
      { activation: 'relu', init: 'he_normal', layers: [0, 1] }, { activation: 'tanh', init: 'glorot_uniform', layers: [0, 1] }]);
    mentions(f[0], 'the gradient reaching dense_1 is 0.001 of the output layer\'s', 'it vanishes in 2 layer(s) (dense_1, dense_2)');
    explained(f);
  });
  it('mixed: one saturating layer among the affected ones is enough to suggest changing the activation', () => {
    const f = ofKind(run(mlp(['relu', 'tanh']), timeline(10, 3, i => ({ gradRms: i < 2 ? 0.001 : 1 }))), 'vanishing-gradient');
    assert.deepEqual(f[0].suggestions.map(s => s.activation), ['relu', 'tanh']);
  });
  it('no ratio at step 0 (a log that starts without gradients): "n/a at step 0"', () => {
    const f = ofKind(run(mlp(['relu', 'relu']), timeline(10, 3, (i, k) => ({ gradRms: i === 0 ? (k === 0 ? NaN : 0.001) : 1 }))), 'vanishing-gradient');
    assert.equal(f[0].evidence.ratioAtStep0, null);
    mentions(f[0], 'n/a at step 0');
  });
  it('only weighted layers are judged: a flatten with a tiny gradRms is no finding', () => {
    const layers: DiagnosisLayer[] = [
      { index: 0, name: 'dense_1', type: 'dense', activation: { name: 'relu' }, isOutput: false },
      { index: 1, name: 'flatten', type: 'flatten', isOutput: false },
      { index: 2, name: 'dense_2', type: 'dense', activation: { name: 'softmax' }, isOutput: true },
    ];
    assert.deepEqual(run(layers, timeline(10, 3, i => ({ gradRms: i === 1 ? 1e-6 : 1 }))), []);
  });
  it('gradScale corrects only its own layer', () => {
    const layers = mlp(['relu', 'relu']).map(l => (l.index === 0 ? { ...l, gradScale: 256 } : l));
    const f = ofKind(run(layers, timeline(10, 3, i => ({ gradRms: i < 2 ? 1 / 400 : 1 }))), 'vanishing-gradient');
    // Layer 0: 256/400 = 0.64, fine; layer 1 (no pooling): 0.0025.
    assert.deepEqual(f.map(x => x.evidence.affectedLayers), [[1]]);
  });
});

describe('run rules on partial inputs (what a log reader or a short run gives)', () => {
  it('stats missing on the first probes (null) are skipped; the rest is judged, peaks stay numbers', () => {
    const tl = timeline(10, 2, (i, k) => ({ deadFraction: i === 0 ? (k < 3 ? null : 0.6) : null, saturatedFraction: null }));
    const d = ofKind(run(mlp(['relu']), tl), 'dead-units');
    assert.deepEqual(d.map(f => [f.severity, f.evidence.max, f.evidence.atStep0]), [['warning', 0.6, null]]);
    const ts = timeline(10, 2, (i, k) => ({ saturatedFraction: i === 0 ? (k < 3 ? null : 0.7) : null }));
    const s = ofKind(run(mlp(['tanh']), ts), 'saturation');
    assert.deepEqual(s.map(f => [f.evidence.peak, f.evidence.consecutiveProbes, f.step]), [[0.7, 7, 30]]);
  });
  it('saturation without any gradient data: judged on the loss, never a ratio', () => {
    const s = ofKind(run(mlp(['tanh']), timeline(10, 2, i => ({ saturatedFraction: i === 0 ? 0.7 : null, gradRms: NaN }))), 'saturation');
    assert.deepEqual([s[0].severity, s[0].evidence.minGradRatioAtOrBelow], ['info', null]);
    mentions(s[0], 'the loss still fell');
  });
  it('output gradRms 0 or infinite gives no ratio: no exploding or vanishing gradient from a division', () => {
    assert.deepEqual(run(mlp(['relu']), timeline(10, 2, i => ({ gradRms: i === 1 ? 0 : 1 }))), []);
    assert.deepEqual(run(mlp(['relu']), timeline(10, 2, i => ({ gradRms: i === 1 ? Infinity : 1 }))), []);
  });
  it('probes that lack some layers (a log with fewer tags) are judged on what they have, without throwing', () => {
    const tl = timeline(10, 1, () => ({ deadFraction: 0.6 }));
    assert.deepEqual(ofKind(run(mlp(['relu', 'relu']), tl), 'dead-units').map(f => f.layer), [0]);
  });
  it('layers described by config index, not position: the output layer is named from its index', () => {
    // A dense / activation / dense / activation net described by its weighted layers only (indices 0 and 2).
    const layers: DiagnosisLayer[] = [
      { index: 0, name: 'hidden', type: 'dense', activation: { name: 'relu' }, isOutput: false },
      { index: 2, name: 'logits', type: 'dense', activation: { name: 'softmax' }, isOutput: true },
    ];
    const tl = timeline(10, 3, i => ({ gradRms: i === 0 ? 0.001 : 1 }));
    assert.equal(ofKind(run(layers, tl), 'vanishing-gradient')[0].evidence.outputLayer, 'logits');
  });
  it('the output is the weighted output layer, not an activation layer after it; without any marked, the last layer', () => {
    const layers: DiagnosisLayer[] = [
      { index: 0, name: 'hidden', type: 'dense', activation: { name: 'relu' }, isOutput: false },
      { index: 1, name: 'logits', type: 'dense', isOutput: true },
      { index: 2, name: 'softmax', type: 'activation', activation: { name: 'softmax' }, isOutput: true },
    ];
    // gradRms: hidden 0.005, logits 1, the activation layer 0.001: 0.005 / 1 vanishes; 0.005 / 0.001 would not.
    const f = run(layers, timeline(10, 3, i => ({ gradRms: [0.005, 1, 0.001][i] })));
    assert.deepEqual(f.map(x => [x.kind, x.evidence.ratio]), [['vanishing-gradient', 0.005]]);
    const unmarked = mlp(['relu', 'relu']).map(l => ({ ...l, isOutput: false }));
    const g = run(unmarked, timeline(10, 3, i => ({ gradRms: i === 0 ? 0.001 : 1 })));
    assert.deepEqual(g.map(x => [x.kind, x.layer]), [['vanishing-gradient', 0]]);
  });
  it('no layers at all, or no activation known: no throw; an unknown activation reads as linear', () => {
    assert.deepEqual(run([], timeline(10, 2, () => ({}))), []);
    const layers: DiagnosisLayer[] = [{ index: 0, name: 'h', type: 'dense', isOutput: false }, { index: 1, name: 'o', type: 'dense', isOutput: true }];
    const f = ofKind(run(layers, timeline(10, 2, i => ({ deadFraction: i === 0 ? 0.6 : null }))), 'dead-units');
    mentions(f[0], 'of the units of h (linear) are dead');
  });
  it('findings point at the activation (dead units, saturation) or the init (gradients) in the config', () => {
    const span = (line: number) => ({ start: { line, character: 0, offset: 0 }, end: { line, character: 4, offset: 4 } });
    const layers = mlp(['tanh', 'relu']).map(l => ({ ...l, span: span(1), spans: { activation: span(2), init: span(3) } }));
    const tl = timeline(10, 3, i => ({ saturatedFraction: i === 0 ? 0.7 : null, deadFraction: i === 1 ? 0.6 : null, gradRms: i === 0 ? 0.001 : 1 }));
    const byKind = Object.fromEntries(run(layers, tl).map(f => [f.kind, f.span!.start.line]));
    assert.deepEqual(byKind, { 'dead-units': 2, saturation: 2, 'vanishing-gradient': 3 });
    const up = run(layers, timeline(10, 3, i => ({ gradRms: i === 0 ? 500 : 1 })));
    assert.deepEqual(up.map(f => [f.kind, f.span!.start.line]), [['exploding-gradient', 3]]);
    // Without a per-key span, the layer's own.
    const plain = mlp(['relu']).map(l => ({ ...l, span: span(1), spans: { init: span(3) } }));
    assert.equal((run(plain, timeline(10, 2, i => ({ deadFraction: i === 0 ? 0.6 : null })))[0].span!).start.line, 1);
  });
});

describe('run rules: every suggestion says why', () => {
  it('units that died in training (lower rate), a saturated sigmoid stack (tanh), a vanishing gradient through relu (He)', () => {
    const died = ofKind(run(mlp(['relu']), timeline(10, 2, (i, k) => ({ deadFraction: i === 0 ? (k < 4 ? 0 : 0.6) : null })), { lr: 0.1 }), 'dead-units');
    assert.deepEqual(died[0].suggestions.map(s => s.lr), [0.01, undefined, undefined]);
    const sig = ofKind(run(mlp(['sigmoid', 'sigmoid']), timeline(10, 3, i => ({ saturatedFraction: i < 2 ? 0.7 : null, gradRms: i === 0 ? 0.05 : 1 }))), 'saturation');
    assert.deepEqual(sig[0].suggestions.map(s => s.activation), ['relu', 'tanh']);
    const van = ofKind(run(mlp(['relu', 'relu']), timeline(10, 3, i => ({ gradRms: i === 0 ? 0.001 : 1 }))), 'vanishing-gradient');
    assert.deepEqual(van[0].suggestions.map(s => s.init), ['he_normal']);
    explained([...died, ...sig, ...van]);
  });
});

describe('run rules: a network dead from a layer, and merged info findings', () => {
  it('dead from layer 1 with 2 dead layers above: counted in the message; leaky_relu/elu on every layer that can die', () => {
    // relu, tanh, relu, relu, relu: layers 1..4 ... layer 1 is tanh (cannot die); dead from layer 2.
    const layers = mlp(['relu', 'tanh', 'relu', 'relu', 'relu']);
    const f = ofKind(run(layers, timeline(10, 6, i => ({ deadFraction: i === 0 ? 0.1 : i >= 2 && i < 5 ? 1 : null, gradRms: i < 5 ? 0 : 1 }))), 'dead-units');
    const top = f.find(x => x.layer === 2)!;
    mentions(top, 'the network is dead from layer dense_3 (#2)', '2 layer(s) above it are dead too');
    assert.deepEqual(top.suggestions.slice(0, 2).map(s => [s.activation, s.layers]), [['leaky_relu', [0, 2, 3, 4]], ['elu', [0, 2, 3, 4]]]);
    assert.match(top.suggestions[0].reason, /on all 4 layers that can die/);
    // Born dead (1 from step 0): the deep-narrow advice with He init, not a lower rate.
    assert.deepEqual(top.suggestions.slice(2).map(s => [s.init, s.lr]), [['he_normal', undefined]]);
    assert.match(top.suggestions[2].reason, /Lu et al\. 2019/);
    explained(f);
  });
  it('the top hidden layer dead, the only one that can die: no list of layers, the layers above see a constant input', () => {
    const f = ofKind(run(mlp(['tanh', 'relu']), timeline(10, 3, i => ({ deadFraction: i === 1 ? 1 : null }))), 'dead-units');
    mentions(f[0], 'the network is dead from layer dense_2 (#1)', 'the layers above see a constant input');
    assert.equal(f[0].suggestions[0].layers, undefined);
    assert.match(f[0].suggestions[0].reason, /so units cannot die$/);
  });
  it('a warning next to two info layers: the warning stands alone, the info ones merge', () => {
    const f = ofKind(run(mlp(['relu', 'relu', 'relu']), timeline(10, 4, i => ({ deadFraction: [0.35, 0.6, 0.4][i] ?? null }))), 'dead-units');
    assert.deepEqual(f.map(x => [x.severity, x.layer, x.evidence.layers]), [['warning', 1, undefined], ['info', 0, [0, 2]]]);
  });
});

describe('run rules: non-finite', () => {
  it('found in the forward pass at layer 0 of a timeline without an event', () => {
    const f = ofKind(run(mlp(['relu']), timeline(6, 2, (i, k) => ({ nonFinite: i === 0 && k >= 3 ? 2 : 0 }))), 'non-finite');
    assert.deepEqual(f.map(x => [x.layer, x.step, x.evidence.where]), [[0, 30, 'forward']]);
    mentions(f[0], 'NaN/Inf first appeared in the forward pass at step 30, layer dense_1 (#0)');
  });
  it('the trainer\'s event wins over what the probes show', () => {
    const f = ofKind(run(mlp(['relu']), timeline(6, 2, (i, k) => ({ nonFinite: i === 1 && k >= 2 ? 2 : 0 })),
      { nonFinite: { step: 40, layer: 0, where: 'backward' } }), 'non-finite');
    assert.deepEqual(f.map(x => [x.layer, x.step, x.evidence.where]), [[0, 40, 'backward']]);
  });
  it('a run that diverged before its first probe: one error, no clip', () => {
    const f = run(mlp(['relu']), [], { lr: 0.1, nonFinite: { step: 0, layer: -1, where: 'loss' } });
    assert.deepEqual(f.map(x => [x.kind, x.severity]), [['non-finite', 'error']]);
    assert.deepEqual(f[0].suggestions.map(s => s.lr), [0.01]);
    explained(f);
  });
  it('the clip is the p90 of the norms before the loss left 2x its start (exactly 2x is not out)', () => {
    const nf = { step: 90, layer: -1, where: 'loss' };
    // p90 by linear interpolation of the norms 1..m (probe k has norm k + 1): 1 + 0.9 (m - 1).
    // Loss 4 at probes 0-4, exactly 8 at probe 5, then 100: probes 0-5 count, norms 1..6, p90 = 5.5.
    const f = run(mlp(['relu']), timeline(10, 2, () => ({}), k => (k < 5 ? 4 : k === 5 ? 8 : 100), k => k + 1), { nonFinite: nf });
    assert.deepEqual(f[0].suggestions.map(s => s.clip), [5.5]);
    assert.match(f[0].suggestions[0].reason, /clip the gradient norm at 5\.5, the 90th percentile of the norms observed before the run diverged/);
    // Loss 4, then 5 (not 2x 4), then 100 at probe 8: probes 0-7, norms 1..8, p90 = 7.3.
    const g = run(mlp(['relu']), timeline(10, 2, () => ({}), k => (k < 5 ? 4 : k < 8 ? 5 : 100), k => k + 1), { nonFinite: nf });
    assert.deepEqual(g[0].suggestions.map(s => s.clip), [7.3]);
    // Never above 2x: every probe counts, the last included: norms 1..10, p90 = 9.1.
    const h = run(mlp(['relu']), timeline(10, 2, () => ({}), () => 1, k => k + 1), { nonFinite: nf });
    assert.deepEqual(h[0].suggestions.map(s => s.clip), [9.1]);
    // The loss is NaN from the first probe: nothing was measured before the divergence; norms of 0: no clip.
    assert.deepEqual(run(mlp(['relu']), timeline(10, 2, () => ({}), () => NaN, () => 1), { nonFinite: nf })[0].suggestions, []);
    assert.deepEqual(run(mlp(['relu']), timeline(10, 2, () => ({}), () => 1, () => 0), { nonFinite: nf })[0].suggestions, []);
  });
});
