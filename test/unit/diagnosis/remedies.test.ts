/**
 * The remedy table (src/diagnosis/remedies.ts) against the rules that name it: every remedy or cited fact a rule
 * names is in the table and every entry is named somewhere (tsc --noEmit already rejects a misspelt name, since the
 * table is `as const`; the check stays for a mocha run on its own, where tsx strips types, and because tsc does not
 * see an entry no rule names); each remedy is a change the core can make; three rules' suggestions carry their
 * remedy's reason word for word, with only the rule's context appended; and each place a rule names a remedy gives
 * the change and reason meant there (the table-driven block at the end).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIVATIONS, ACTIVATION_NAMES } from '../../../src/core/activations';
import { INIT_NAMES } from '../../../src/core/initializers';
import { parseConfigText } from '../../../src/config';
import type { LayerStats, ProbePoint } from '../../../src/core/types';
import type { Finding } from '../../../src/diagnosis/types';
import { CITED, REMEDY, type Remedy } from '../../../src/diagnosis/remedies';
import { runRules } from '../../../src/diagnosis/runRules';
import { diagnosisLayers, type DiagnosisLayer } from '../../../src/diagnosis/rules';
import { staticRules } from '../../../src/diagnosis/staticRules';

const ROOT = join(__dirname, '../../..');
const DIAGNOSIS = join(ROOT, 'src/diagnosis');
/** Every `REMEDY.name` / `CITED.name` written in src/diagnosis outside the table itself. */
function namesUsed(table: 'REMEDY' | 'CITED'): Set<string> {
  const used = new Set<string>();
  for (const file of readdirSync(DIAGNOSIS).filter(f => f.endsWith('.ts') && f !== 'remedies.ts')) {
    for (const m of readFileSync(join(DIAGNOSIS, file), 'utf8').matchAll(new RegExp(`\\b${table}\\.(\\w+)`, 'g'))) used.add(m[1]);
  }
  return used;
}

describe('remedies: the table and the rules that name it', () => {
  it('every remedy and cited fact a rule names exists, and every entry is named by a rule', () => {
    for (const [table, entries] of [['REMEDY', REMEDY], ['CITED', CITED]] as const) {
      const used = namesUsed(table);
      assert.ok(used.size > 0, `the rules name ${table} entries`);
      assert.deepEqual([...used].filter(n => !Object.hasOwn(entries, n)), [], `${table} names missing from the table`);
      assert.deepEqual(Object.keys(entries).filter(n => !used.has(n)), [], `${table} entries no rule names`);
    }
  });

  it('each remedy is a change the core can make: a known activation, an init of the table, the init its activation calls for', () => {
    for (const [name, r] of Object.entries(REMEDY) as [string, Remedy][]) {
      assert.ok(r.activation || r.init, `${name} changes something`);
      if (r.activation) assert.ok(ACTIVATION_NAMES.includes(r.activation), `${name}: ${r.activation}`);
      if (r.init) assert.ok(INIT_NAMES.includes(r.init), `${name}: ${r.init}`);
      if (r.activation && r.init) assert.equal(r.init, ACTIVATIONS[r.activation].recommendedInit, name);
      // A change of init alone names who backs it (as the rules' tests ask of every suggestion): He and Glorot are
      // their inits' authors; for lecun_normal it is selu's paper (Klambauer et al. 2017), not the init's name.
      if (!r.activation) assert.match(r.reason, { he_normal: /\bHe\b/, glorot_uniform: /Glorot/, lecun_normal: /Klambauer et al\. 2017/ }[r.init!], name);
    }
  });

  it("README's diagnose example shows the vanishing-gradient remedy in the table's words", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes(`fix: activation: relu, init: he_normal — ${REMEDY.reluHe.reason}`), REMEDY.reluHe.reason);
  });
});

describe("remedies: a rule's suggestion carries the table's reason", () => {
  it('static: 5 relu layers with lecun_normal get He init on all five, with the He remedy\'s reason', () => {
    const yaml = `data: { source: gaussians, features: 16, classes: 3 }\ntrain: { loss: cross_entropy }\nmodel:\n  layers:\n${
      Array.from({ length: 5 }, () => '    - { type: dense, units: 16, activation: relu, init: lecun_normal }').join('\n')}\n    - { type: dense, units: 3, activation: softmax }`;
    const config = parseConfigText(yaml, 'test.nn.yaml').config!;
    const f = staticRules(config).filter(x => x.kind === 'init-mismatch');
    assert.deepEqual(f.map(x => x.suggestions), [[{ init: 'he_normal', layers: [0, 1, 2, 3, 4], reason: REMEDY.heInit.reason }]]);
  });

  const stats = (o: Partial<LayerStats>): LayerStats => ({
    deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
    preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
  });
  const timeline = (layer: (i: number) => Partial<LayerStats>, layers: number): ProbePoint[] => Array.from({ length: 10 }, (_, k) => ({
    step: 10 * k, trainLoss: 1 - 0.08 * k, valLoss: 1 - 0.08 * k, gradNorm: 1,
    layers: Array.from({ length: layers }, (_, i) => stats(layer(i))),
  }));
  const mlp = (acts: string[]): DiagnosisLayer[] => [
    ...acts.map((a, i) => ({ index: i, name: `dense_${i + 1}`, type: 'dense', activation: { name: a as 'relu' }, isOutput: false })),
    { index: acts.length, name: `dense_${acts.length + 1}`, type: 'dense', activation: { name: 'softmax' }, isOutput: true },
  ];

  it('run: a gradient vanishing through two sigmoid layers (1e-3 of the output\'s) gets relu + He, then tanh + Glorot', () => {
    const f = runRules({ layers: mlp(['sigmoid', 'sigmoid']), timeline: timeline(i => ({ gradRms: i < 2 ? 1e-3 : 1 }), 3) })
      .filter(x => x.kind === 'vanishing-gradient');
    assert.deepEqual(f.map(x => x.suggestions), [[
      { activation: 'relu', init: 'he_normal', layers: [0, 1], reason: REMEDY.reluHe.reason },
      { activation: 'tanh', init: 'glorot_uniform', layers: [0, 1], reason: REMEDY.tanhGlorot.reason },
    ]]);
  });

  it('run: a network dead from its first layer gets leaky_relu on both relu layers, the count appended to the reason', () => {
    const f = runRules({ layers: mlp(['relu', 'relu']), timeline: timeline(i => ({ deadFraction: i < 2 ? 1 : null, gradRms: i < 2 ? 0 : 1 }), 3) })
      .filter(x => x.kind === 'dead-units');
    assert.deepEqual(f[0].suggestions[0], { activation: 'leaky_relu', init: 'he_normal', layers: [0, 1], reason: `${REMEDY.leakyRelu.reason} (on all 2 layers that can die)` });
  });
});

/**
 * One row per place a rule names a remedy (staticRules.ts, runRules.ts): a minimal input that triggers the rule,
 * and the change plus a key phrase of the reason it must carry, written here rather than read from REMEDY, so
 * swapping two remedies with the same change but another reason (the four Glorot ones, he_normal's three) fails.
 */
describe('remedies: each place a rule names a remedy gives the change and the reason meant there', () => {
  type Want = { activation?: string; init?: string; reason: RegExp };
  const staticYaml = (layers: string[], extra: string) => {
    const r = parseConfigText(`${extra}\nmodel:\n  layers:\n${layers.map(l => `    - ${l}`).join('\n')}`, 'test.nn.yaml');
    assert.ok(r.config, JSON.stringify(r.problems));
    return staticRules(r.config);
  };
  const CE3 = 'data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }';
  const d = (units: number, activation: string, init = '') => `{ type: dense, units: ${units}, activation: ${activation}${init ? `, init: ${init}` : ''} }`;
  const relu8 = d(8, 'relu', 'he_normal');
  const standard = '{ name: variance_scaling, scale: 0.3333333, mode: fan_in, distribution: uniform }';

  const stats = (o: Partial<LayerStats>): LayerStats => ({
    deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
    preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
  });
  const run = (acts: string[], layer: (i: number) => Partial<LayerStats>) => runRules({
    layers: [
      ...acts.map((a, i) => ({ index: i, name: `dense_${i + 1}`, type: 'dense', activation: { name: a as 'relu' }, isOutput: false })),
      { index: acts.length, name: `dense_${acts.length + 1}`, type: 'dense', activation: { name: 'softmax' }, isOutput: true },
    ],
    timeline: Array.from({ length: 10 }, (_, k) => ({ step: 10 * k, trainLoss: 1 - 0.08 * k, valLoss: 1 - 0.08 * k, gradNorm: 1,
      layers: Array.from({ length: acts.length + 1 }, (_, i) => stats(i < acts.length ? layer(i) : {})) })),
  });

  const rows: { place: string; kind: string; findings: () => ReturnType<typeof runRules>; want: Want[] }[] = [
    { place: 'staticRules.ts outputMismatch, softmax in a hidden layer', kind: 'output-mismatch',
      findings: () => staticYaml([d(8, 'softmax', 'glorot_uniform'), d(3, 'softmax')], CE3),
      want: [{ activation: 'relu', init: 'he_normal', reason: /element-wise activation/ }] },
    { place: 'staticRules.ts outputMismatch, softmax over 1 unit', kind: 'output-mismatch',
      findings: () => staticYaml([relu8, d(1, 'softmax')], 'data: { source: circles }\ntrain: { loss: binary_cross_entropy }'),
      want: [{ activation: 'sigmoid', reason: /one output unit of a binary classifier/ }] },
    { place: 'staticRules.ts outputMismatch, sigmoid output over 3 classes', kind: 'output-mismatch',
      findings: () => staticYaml([relu8, d(3, 'sigmoid')], CE3),
      want: [{ activation: 'softmax', reason: /fused, stable pair for 3 exclusive classes$/ }] },
    { place: 'staticRules.ts outputMismatch, relu output with cross_entropy', kind: 'output-mismatch',
      findings: () => staticYaml([relu8, d(3, 'relu')], CE3),
      want: [{ activation: 'softmax', reason: /^softmax with cross_entropy is computed stably from the logits/ }] },
    { place: 'staticRules.ts outputMismatch, linear output with binary_cross_entropy', kind: 'output-mismatch',
      findings: () => staticYaml([relu8, d(1, 'linear')], 'data: { source: circles }\ntrain: { loss: binary_cross_entropy }'),
      want: [{ activation: 'sigmoid', reason: /^sigmoid with binary_cross_entropy is computed stably/ }] },
    { place: 'staticRules.ts outputMismatch, relu output for sine regression', kind: 'output-mismatch',
      findings: () => staticYaml([d(8, 'tanh', 'glorot_uniform'), d(1, 'relu')], 'data: { source: sine }\ntrain: { loss: mse }'),
      want: [{ activation: 'linear', reason: /regression output is linear/ }] },
    { place: 'staticRules.ts outputMismatch, tanh output for teacher regression', kind: 'output-mismatch',
      findings: () => staticYaml([relu8, d(1, 'tanh')], 'data: { source: teacher }\ntrain: { loss: mse }'),
      want: [{ activation: 'linear', reason: /regression output is linear/ }] },
    { place: 'staticRules.ts initMismatch, 5 relu layers with lecun_normal', kind: 'init-mismatch',
      findings: () => staticYaml([...Array.from({ length: 5 }, () => d(16, 'relu', 'lecun_normal')), d(3, 'softmax')], CE3),
      want: [{ init: 'he_normal', reason: /He init .*through relu layers/ }] },
    // He et al. 2015 derive He init for relu and prelu, not for gelu/swish/elu: those get the reason that says so, naming them.
    { place: 'staticRules.ts initMismatch, 5 gelu/swish layers with lecun_normal', kind: 'init-mismatch',
      findings: () => staticYaml([...['gelu', 'swish', 'gelu', 'swish', 'gelu'].map(a => d(16, a, 'lecun_normal')), d(3, 'softmax')], CE3),
      want: [{ init: 'he_normal', reason: /He et al\. 2015 derived it for relu and prelu, so for these it is a rule of thumb \(gelu, swish\)$/ }] },
    { place: 'staticRules.ts initMismatch, 3 relu/leaky_relu and 2 elu layers with lecun_normal', kind: 'init-mismatch',
      findings: () => staticYaml([...['relu', 'leaky_relu', 'elu', 'relu', 'elu'].map(a => d(16, a, 'lecun_normal')), d(3, 'softmax')], CE3),
      want: [{ init: 'he_normal', reason: /through relu layers, and nearly so through leaky relu and prelu of small slope \(He et al\. 2015\)$/ },
        { init: 'he_normal', reason: /rule of thumb \(elu\)$/ }] },
    { place: 'staticRules.ts initMismatch, tanh with he_normal', kind: 'init-mismatch',
      findings: () => staticYaml([d(16, 'tanh', 'he_normal'), d(3, 'softmax')], CE3),
      want: [{ init: 'glorot_uniform', reason: /pre-activations of sigmoid\/tanh layers in their linear range/ }] },
    { place: 'staticRules.ts initMismatch, selu with he_normal', kind: 'init-mismatch',
      findings: () => staticYaml([d(16, 'selu', 'he_normal'), d(3, 'softmax')], CE3),
      want: [{ init: 'lecun_normal', reason: /Klambauer et al\. 2017: selu/ }] },
    { place: 'staticRules.ts initMismatch, 4 tanh layers with U[-1/sqrt(n), 1/sqrt(n)]', kind: 'init-mismatch',
      findings: () => staticYaml([...Array.from({ length: 4 }, () => d(16, 'tanh', standard)), d(3, 'softmax')], CE3),
      want: [{ init: 'glorot_uniform', reason: /normalized init .*keeps gradient variance across layers/ }] },
    { place: 'staticRules.ts activationChoice, sigmoid in 3 hidden layers', kind: 'activation-choice',
      findings: () => staticYaml([...Array.from({ length: 3 }, () => d(16, 'sigmoid', 'glorot_uniform')), d(3, 'softmax')], CE3),
      want: [{ activation: 'tanh', init: 'glorot_uniform', reason: /keeps the scale, so the learning rate still fits/ },
        { activation: 'relu', init: 'he_normal', reason: /may need a lower learning rate/ }] },
    { place: 'staticRules.ts activationChoice, a linear hidden layer into a linear output', kind: 'activation-choice',
      findings: () => staticYaml([d(8, 'linear', 'glorot_uniform'), d(1, 'linear')], 'data: { source: sine }\ntrain: { loss: mse }'),
      want: [{ activation: 'relu', init: 'he_normal', reason: /between the two layers makes the second one count/ }] },
    { place: 'runRules.ts dead units, a network dead from its first layer (born dead)', kind: 'dead-units',
      findings: () => run(['relu', 'relu'], () => ({ deadFraction: 1, gradRms: 0 })),
      want: [{ activation: 'leaky_relu', init: 'he_normal', reason: /units cannot die \(on all 2 layers that can die\)$/ },
        { activation: 'elu', init: 'he_normal', reason: /non-zero gradient for negative inputs/ },
        { init: 'he_normal', reason: /deep narrow relu nets are born dead .*Lu et al\. 2019.*widen the layers/ }] },
    { place: 'runRules.ts saturation, a saturated sigmoid layer', kind: 'saturation',
      findings: () => run(['sigmoid'], () => ({ saturatedFraction: 0.9 })),
      want: [{ activation: 'relu', init: 'he_normal', reason: /relu does not saturate/ },
        { activation: 'tanh', init: 'glorot_uniform', reason: /4x the slope of sigmoid/ }] },
    { place: 'runRules.ts saturation, a saturated tanh layer', kind: 'saturation',
      findings: () => run(['tanh'], () => ({ saturatedFraction: 0.9 })),
      want: [{ activation: 'relu', init: 'he_normal', reason: /relu does not saturate/ },
        { init: 'glorot_uniform', reason: /pre-activations of sigmoid\/tanh layers in their linear range/ }] },
    { place: 'runRules.ts vanishing gradient through sigmoid layers', kind: 'vanishing-gradient',
      findings: () => run(['sigmoid', 'sigmoid'], () => ({ gradRms: 1e-3 })),
      want: [{ activation: 'relu', init: 'he_normal', reason: /relu passes gradient 1 .*He init keeps its variance/ },
        { activation: 'tanh', init: 'glorot_uniform', reason: /tanh with Glorot .*Glorot & Bengio 2010/ }] },
    { place: 'runRules.ts vanishing gradient through relu layers', kind: 'vanishing-gradient',
      findings: () => run(['relu', 'relu'], () => ({ gradRms: 1e-3 })),
      want: [{ init: 'he_normal', reason: /He init \(Var = 2\/fan_in\) keeps the gradient variance constant through relu layers/ }] },
    { place: 'runRules.ts vanishing gradient through relu, gelu and swish layers', kind: 'vanishing-gradient',
      findings: () => run(['relu', 'gelu', 'swish'], () => ({ gradRms: 1e-3 })),
      want: [{ init: 'he_normal', reason: /through relu layers, .*\(He et al\. 2015\)$/ },
        { init: 'he_normal', reason: /^He init \(Var = 2\/fan_in\) is the usual choice for relu-like layers; He et al\. 2015 derived it for relu and prelu.*\(gelu, swish\)$/ }] },
    { place: 'runRules.ts exploding gradient through tanh layers', kind: 'exploding-gradient',
      findings: () => run(['tanh', 'tanh'], () => ({ gradRms: 1e3 })),
      want: [{ init: 'glorot_uniform', reason: /chaotic regime where gradients grow with depth/ }] },
  ];

  for (const row of rows) {
    it(row.place, () => {
      const f = row.findings().filter(x => x.kind === row.kind);
      assert.equal(f.length, 1, `one ${row.kind}`);
      // Only the remedies' suggestions: learning-rate and clipping ones are the rules' own.
      const got = f[0].suggestions.filter(s => s.activation || s.init);
      assert.deepEqual(got.map(s => ({ activation: s.activation, init: s.init })), row.want.map(w => ({ activation: w.activation, init: w.init })));
      got.forEach((s, i) => assert.match(s.reason, row.want[i].reason));
    });
  }
});

/**
 * The init a run rule offers follows each layer: its activation's recommended init (activations.ts), and never the
 * init it already has. Layers come from a parsed config (diagnosisLayers), so their `init:` is the one written.
 */
describe("remedies: a run rule's init suggestion fits each layer it names", () => {
  const layersOf = (acts: ([string, string] | [string, string, number])[]) => {
    const yaml = `data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }\nmodel:\n  layers:\n${
      acts.map(([a, init, units = 16]) => `    - { type: dense, units: ${units}, activation: ${a}, init: ${init} }`).join('\n')}\n    - { type: dense, units: 3, activation: softmax }`;
    const r = parseConfigText(yaml, 'test.nn.yaml');
    assert.ok(r.config, JSON.stringify(r.problems));
    return r.config;
  };
  const stats = (o: Partial<LayerStats>): LayerStats => ({
    deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
    preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
  });
  const run = (acts: ([string, string] | [string, string, number])[], hidden: Partial<LayerStats>, kind: string) => runRules({
    layers: diagnosisLayers(layersOf(acts)),
    timeline: Array.from({ length: 10 }, (_, k) => ({ step: 10 * k, trainLoss: 1 - 0.08 * k, valLoss: 1 - 0.08 * k, gradNorm: 1,
      layers: Array.from({ length: acts.length + 1 }, (_, i) => stats(i < acts.length ? hidden : {})) })),
  }).filter(f => f.kind === kind).map(f => f.suggestions.map(({ activation, init, layers }) => ({ activation, init, layers })));
  const none = undefined;

  it('a vanishing gradient through a selu stack on he_normal gets lecun_normal, as its init-mismatch finding says', () => {
    const acts: [string, string][] = [['selu', 'he_normal'], ['selu', 'he_normal'], ['selu', 'he_normal']];
    assert.deepEqual(run(acts, { gradRms: 1e-3 }, 'vanishing-gradient'), [[{ activation: none, init: 'lecun_normal', layers: [0, 1, 2] }]]);
    const mismatch = staticRules(layersOf(acts)).filter(f => f.kind === 'init-mismatch');
    assert.deepEqual(mismatch.map(f => f.suggestions.map(x => x.init)), [['lecun_normal']]);
  });

  it('a vanishing gradient through relu, selu and linear layers: He on the relu one, lecun_normal on selu, nothing on linear', () => {
    // The selu layer maps 16 -> 8: Glorot's 2/(16 + 8) is not LeCun's 1/16 (on a square layer they are equal).
    assert.deepEqual(run([['relu', 'glorot_uniform'], ['selu', 'glorot_uniform', 8], ['linear', 'glorot_uniform']], { gradRms: 1e-3 }, 'vanishing-gradient'), [[
      { activation: none, init: 'he_normal', layers: [0] }, { activation: none, init: 'lecun_normal', layers: [1] },
    ]]);
  });

  it('a vanishing gradient through relu layers offers He only to the one not on it already', () => {
    assert.deepEqual(run([['relu', 'he_normal'], ['relu', 'glorot_uniform']], { gradRms: 1e-3 }, 'vanishing-gradient'), [[{ activation: none, init: 'he_normal', layers: [1] }]]);
  });

  it('a saturated relu6 layer on glorot_uniform gets relu only: no Glorot (it has it, and relu6 is not sigmoid/tanh)', () => {
    assert.deepEqual(run([['relu6', 'glorot_uniform']], { saturatedFraction: 0.9 }, 'saturation'), [[{ activation: 'relu', init: 'he_normal', layers: [0] }]]);
  });

  it('saturated tanh (he_normal), tanh (glorot_uniform) and softsign layers: Glorot only on the first', () => {
    assert.deepEqual(run([['tanh', 'he_normal'], ['tanh', 'glorot_uniform'], ['softsign', 'he_normal']], { saturatedFraction: 0.9 }, 'saturation'), [[
      { activation: 'relu', init: 'he_normal', layers: [0, 1, 2] }, { activation: none, init: 'glorot_uniform', layers: [0] },
    ]]);
  });
});

/**
 * "Already on the init a rule would offer" means the same variance at the layer's fans, however the init is written
 * (an alias, the other distribution of the pair, a spelled-out variance_scaling, a random_normal of that stddev), and
 * a scaled one is not it. One row per spelling: the layer under test is dense_2 (fan_in 16 from a 16-unit relu layer
 * on he_normal, fan_out its units), its variance written from the literature (He: 2/fan_in, Glorot:
 * 2/(fan_in + fan_out), LeCun: 1/fan_in, U[-l, l]: l^2/3, N(0, s^2): s^2), and whether the rule offers the init
 * follows from it: a vanishing gradient offers He/LeCun where the variance differs from it; saturation and an
 * exploding gradient offer Glorot where the variance is above Glorot's (its reasons are about lowering it).
 */
describe('remedies: a layer already on the offered init (the same variance, however written) is not offered it', () => {
  const stats = (o: Partial<LayerStats>): LayerStats => ({
    deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
    preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
  });
  const FAN_IN = 16;
  /** Suggestions of `kind` for a net relu(16, he_normal) -> act(units, init) -> softmax(3), the tested layer's stats set. */
  const run = (act: string, init: string, units: number, tested: Partial<LayerStats>, kind: string) => {
    const yaml = `data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy, lr: 0.1 }\nmodel:\n  layers:\n`
      + `    - { type: dense, units: ${FAN_IN}, activation: relu, init: he_normal }\n    - { type: dense, units: ${units}, activation: ${act}, init: ${init} }\n`
      + '    - { type: dense, units: 3, activation: softmax }';
    const r = parseConfigText(yaml, 'test.nn.yaml');
    assert.ok(r.config, JSON.stringify(r.problems));
    const f = runRules({ layers: diagnosisLayers(r.config), lr: 0.1,
      timeline: Array.from({ length: 10 }, (_, k) => ({ step: 10 * k, trainLoss: 1 - 0.08 * k, valLoss: 1 - 0.08 * k, gradNorm: 1,
        layers: [0, 1, 2].map(i => stats(i === 1 ? tested : {})) })) }).filter(x => x.kind === kind);
    assert.equal(f.length, 1, `one ${kind}`);
    return f[0];
  };
  const he = (fanIn: number) => 2 / fanIn, lecun = (fanIn: number) => 1 / fanIn, glorot = (fanIn: number, fanOut: number) => 2 / (fanIn + fanOut);
  // "The same variance" is within 10% (remedies.ts SAME): a two-digit stddev is the init it rounds, a scale of 1.6 for
  // He's 2 is not. The rows near the edge are 2%, 7.5%, 20% and 25% off.
  const TOL = 0.1;
  const same = (a: number, b: number) => Math.abs(a - b) <= TOL * b;

  type Row = { act: string; init: string; units: number; variance: number };
  const vanishingRows: (Row & { wants: 'he_normal' | 'lecun_normal' })[] = [
    { act: 'relu', init: 'he_normal', units: 8, variance: he(16), wants: 'he_normal' },
    { act: 'relu', init: 'kaiming_normal', units: 8, variance: he(16), wants: 'he_normal' },
    { act: 'relu', init: 'he_uniform', units: 8, variance: (6 / 16) / 3, wants: 'he_normal' },
    { act: 'relu', init: '{ name: variance_scaling, scale: 2, mode: fan_in, distribution: uniform }', units: 8, variance: he(16), wants: 'he_normal' },
    { act: 'relu', init: `{ name: random_normal, stddev: ${Math.sqrt(2 / 16)} }`, units: 8, variance: 2 / 16, wants: 'he_normal' },
    { act: 'relu', init: '{ name: he_normal, scale: 0.01 }', units: 8, variance: 0.01 / 16, wants: 'he_normal' },
    { act: 'relu', init: '{ name: random_normal, stddev: 0.35 }', units: 8, variance: 0.35 ** 2, wants: 'he_normal' },
    { act: 'relu', init: '{ name: he_normal, scale: 1.85 }', units: 8, variance: 1.85 / 16, wants: 'he_normal' },
    { act: 'relu', init: '{ name: he_uniform, scale: 1.6 }', units: 8, variance: 1.6 / 16, wants: 'he_normal' },
    { act: 'relu', init: '{ name: kaiming_normal, scale: 0.5 }', units: 8, variance: 0.5 / 16, wants: 'he_normal' },
    { act: 'relu', init: 'glorot_uniform', units: 8, variance: glorot(16, 8), wants: 'he_normal' },
    { act: 'leaky_relu', init: 'lecun_normal', units: 8, variance: lecun(16), wants: 'he_normal' },
    { act: 'gelu', init: 'kaiming_uniform', units: 8, variance: he(16), wants: 'he_normal' },
    { act: 'gelu', init: 'lecun_normal', units: 8, variance: lecun(16), wants: 'he_normal' },
    { act: 'selu', init: 'lecun_normal', units: 8, variance: lecun(16), wants: 'lecun_normal' },
    { act: 'selu', init: 'lecun_uniform', units: 8, variance: (3 / 16) / 3, wants: 'lecun_normal' },
    { act: 'selu', init: '{ name: lecun_normal, scale: 0.5 }', units: 8, variance: 0.5 / 16, wants: 'lecun_normal' },
    { act: 'selu', init: 'he_normal', units: 8, variance: he(16), wants: 'lecun_normal' },
    { act: 'selu', init: 'glorot_uniform', units: 8, variance: glorot(16, 8), wants: 'lecun_normal' },
    // A square layer: Glorot's 2/(16 + 16) is LeCun's 1/16.
    { act: 'selu', init: 'glorot_uniform', units: 16, variance: glorot(16, 16), wants: 'lecun_normal' },
  ];
  for (const row of vanishingRows) {
    const wanted = row.wants === 'he_normal' ? he(FAN_IN) : lecun(FAN_IN);
    const offered = !same(row.variance, wanted);
    it(`vanishing gradient, ${row.act} on ${row.init} (${row.units} units, Var ${row.variance.toPrecision(3)} vs ${wanted.toPrecision(3)}): ${offered ? '' : 'not '}offered ${row.wants}`, () => {
      const f = run(row.act, row.init, row.units, { gradRms: 1e-3 }, 'vanishing-gradient');
      assert.deepEqual(f.suggestions.filter(s => s.init).map(s => [s.init, s.layers]), offered ? [[row.wants, [1]]] : []);
    });
  }

  // init-mismatch judges by Var(w) * fan_in (staticRules.ts), so an alias or the uniform twin of He is He already and
  // a scaled-down He is not: 5 relu layers, flagged when Var(w) * fan_in <= 1 (He's is 2: relu halves the variance).
  const mismatchRows: { init: string; varTimesFanIn: number }[] = [
    { init: 'he_normal', varTimesFanIn: 2 }, { init: 'kaiming_normal', varTimesFanIn: 2 }, { init: 'he_uniform', varTimesFanIn: 2 },
    { init: '{ name: variance_scaling, scale: 2, mode: fan_in }', varTimesFanIn: 2 },
    { init: '{ name: he_normal, scale: 0.5 }', varTimesFanIn: 0.5 }, { init: '{ name: kaiming_uniform, scale: 0.01 }', varTimesFanIn: 0.01 },
    { init: 'lecun_uniform', varTimesFanIn: 1 },
  ];
  for (const row of mismatchRows) {
    const flagged = row.varTimesFanIn <= 1;
    it(`init-mismatch, 5 relu layers on ${row.init} (Var(w) * fan_in = ${row.varTimesFanIn}): ${flagged ? 'He offered' : 'nothing'}`, () => {
      const r = parseConfigText(`data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }\nmodel:\n  layers:\n${
        Array.from({ length: 5 }, () => `    - { type: dense, units: 16, activation: relu, init: ${row.init} }`).join('\n')}\n    - { type: dense, units: 3, activation: softmax }`, 'test.nn.yaml');
      assert.ok(r.config, JSON.stringify(r.problems));
      const f = staticRules(r.config).filter(x => x.kind === 'init-mismatch');
      assert.deepEqual(f.map(x => [x.evidence.varianceTimesFanIn, x.suggestions.map(s => [s.init, s.layers])]),
        flagged ? [[Array(5).fill(row.varTimesFanIn), [['he_normal', [0, 1, 2, 3, 4]]]]] : []);
    });
  }

  const glorotRows: Row[] = [
    { act: 'tanh', init: 'glorot_uniform', units: 8, variance: glorot(16, 8) },
    { act: 'tanh', init: 'glorot_normal', units: 8, variance: glorot(16, 8) },
    { act: 'tanh', init: 'xavier_uniform', units: 8, variance: glorot(16, 8) },
    { act: 'tanh', init: '{ name: variance_scaling, scale: 1, mode: fan_avg, distribution: normal }', units: 8, variance: glorot(16, 8) },
    { act: 'tanh', init: 'he_normal', units: 8, variance: he(16) },
    { act: 'tanh', init: '{ name: glorot_uniform, scale: 4 }', units: 8, variance: 4 * glorot(16, 8) },
    { act: 'tanh', init: '{ name: glorot_normal, scale: 1.05 }', units: 8, variance: 1.05 * glorot(16, 8) },
    { act: 'tanh', init: '{ name: glorot_normal, scale: 1.25 }', units: 8, variance: 1.25 * glorot(16, 8) },
    // LeCun is above Glorot when the layer widens (1/16 > 2/(16 + 32)), below it when it narrows (1/16 < 2/(16 + 8)).
    { act: 'tanh', init: 'lecun_normal', units: 32, variance: lecun(16) },
    { act: 'tanh', init: 'lecun_normal', units: 8, variance: lecun(16) },
    { act: 'sigmoid', init: '{ name: random_normal, stddev: 1 }', units: 8, variance: 1 },
  ];
  for (const row of glorotRows) {
    const offered = row.variance > glorot(FAN_IN, row.units) * (1 + TOL);
    it(`saturation, ${row.act} on ${row.init} (${row.units} units, Var ${row.variance.toPrecision(3)} vs Glorot ${glorot(FAN_IN, row.units).toPrecision(3)}): ${offered ? '' : 'not '}offered Glorot`, () => {
      const f = run(row.act, row.init, row.units, { saturatedFraction: 0.9 }, 'saturation');
      // sigmoid alone gets tanh + Glorot (an activation change) instead; tanh gets the init-only Glorot remedy.
      const glorotOnly = f.suggestions.filter(s => s.init === 'glorot_uniform' && !s.activation);
      assert.deepEqual(glorotOnly.map(s => s.layers), row.act === 'tanh' && offered ? [[1]] : []);
    });
    it(`exploding gradient, ${row.act} on ${row.init}: ${offered ? 'Glorot first, then' : 'no Glorot, only'} clipping and a lower rate`, () => {
      const f = run(row.act, row.init, row.units, { gradRms: 1e3 }, 'exploding-gradient');
      assert.deepEqual(f.suggestions.map(s => s.init ?? (s.clip !== undefined ? 'clip' : s.lr !== undefined ? 'lr' : '?')),
        [...(offered ? ['glorot_uniform'] : []), 'clip', 'lr']);
    });
  }
});

/**
 * A layer that starts from a model's trained weights (`init: from-model`, on the layer or on the model) is offered no
 * init of its own: a fresh draw would throw the trained weights away (and under `model.init: from-model` the edit
 * would change nothing). Remedies that change its activation stay (the changed layer then starts fresh, as compare's
 * trials and verify do), and so do the rate and clipping. The drawn layers beside it keep their init remedies.
 */
describe('remedies: no init is offered to a layer on a model\'s trained weights (init: from-model)', () => {
  const stats = (o: Partial<LayerStats>): LayerStats => ({
    deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
    preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
  });
  /** Three hidden `act` layers on glorot_uniform (16 units each, so Glorot's 2/32 and LeCun's 1/16 are below He's
   *  2/16 and glorot_uniform is Glorot's), `fromModel` the indices marked init: from-model ('all': model.init). */
  const findings = (act: string, fromModel: number[] | 'all', hidden: Partial<LayerStats>, kind: string, init = 'glorot_uniform') => {
    const mark = (i: number) => (fromModel !== 'all' && fromModel.includes(i) ? 'from-model' : init);
    const yaml = `data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy, lr: 0.1 }\nmodel:\n  weights: m.onnx\n${fromModel === 'all' ? '  init: from-model\n' : ''}  layers:\n${
      [0, 1, 2].map(i => `    - { type: dense, units: 16, activation: ${act}, init: ${mark(i)} }`).join('\n')}\n    - { type: dense, units: 3, activation: softmax }`;
    const r = parseConfigText(yaml, 'test.nn.yaml');
    assert.ok(r.config, JSON.stringify(r.problems));
    return runRules({ layers: diagnosisLayers(r.config), lr: 0.1,
      timeline: Array.from({ length: 10 }, (_, k) => ({ step: 10 * k, trainLoss: 1 - 0.08 * k, valLoss: 1 - 0.08 * k, gradNorm: 1,
        layers: [0, 1, 2, 3].map(i => stats(i < 3 ? hidden : {})) })) }).filter(x => x.kind === kind);
  };
  const changes = (fs: Finding[]) => fs.flatMap(f => f.suggestions.map(s => [s.activation ?? null, s.init ?? null, s.layers ?? null, s.lr !== undefined, s.clip !== undefined]));

  it('vanishing gradient through relu layers: He on the drawn layers only; none left when all are from the model, and the message says why', () => {
    assert.deepEqual(changes(findings('relu', [1], { gradRms: 1e-3 }, 'vanishing-gradient')), [[null, 'he_normal', [0, 2], false, false]]);
    for (const fm of [[0, 1, 2], 'all'] as (number[] | 'all')[]) {
      const fs = findings('relu', fm, { gradRms: 1e-3 }, 'vanishing-gradient');
      assert.deepEqual(changes(fs), [], String(fm));
      assert.match(fs[0].message, /no init change is offered \(the layers start from the model's trained weights\): try fewer layers/);
    }
    // Some from the model, the others already on He: the message names both reasons.
    const mixed = findings('relu', [1], { gradRms: 1e-3 }, 'vanishing-gradient', 'he_uniform');
    assert.deepEqual(changes(mixed), []);
    assert.match(mixed[0].message, /no init change is offered \(dense_2 starts from the model's trained weights; the other layers already have the variance/);
  });

  it('selu: no lecun_normal on a from-model layer', () => {
    // On a square layer Glorot's variance is LeCun's: he_normal (2/16) is the one that differs.
    assert.deepEqual(changes(findings('selu', [0, 2], { gradRms: 1e-3 }, 'vanishing-gradient', 'he_normal')), [[null, 'lecun_normal', [1], false, false]]);
  });

  it('saturated tanh layers: relu (+ He) stays on all, Glorot only on the drawn ones', () => {
    // He init is above Glorot's: every drawn layer would be offered Glorot.
    assert.deepEqual(changes(findings('tanh', [0], { saturatedFraction: 0.9 }, 'saturation', 'he_normal')),
      [['relu', 'he_normal', [0, 1, 2], false, false], [null, 'glorot_uniform', [1, 2], false, false]]);
    assert.deepEqual(changes(findings('tanh', 'all', { saturatedFraction: 0.9 }, 'saturation', 'he_normal')),
      [['relu', 'he_normal', [0, 1, 2], false, false]]);
  });

  it('exploding gradient through tanh layers: Glorot only on the drawn ones, clipping and the rate stay', () => {
    assert.deepEqual(changes(findings('tanh', [2], { gradRms: 1e3 }, 'exploding-gradient', 'he_normal')),
      [[null, 'glorot_uniform', [0, 1], false, false], [null, null, null, false, true], [null, null, null, true, false]]);
    assert.deepEqual(changes(findings('tanh', 'all', { gradRms: 1e3 }, 'exploding-gradient', 'he_normal')),
      [[null, null, null, false, true], [null, null, null, true, false]]);
  });

  it('a network dead from its first layer: leaky_relu and elu stay, the deep-narrow He init goes when that layer is from the model', () => {
    const dead = { deadFraction: 1, gradRms: 0 };
    assert.deepEqual(findings('relu', [0], dead, 'dead-units')[0].suggestions.map(s => [s.activation ?? null, s.init ?? null]), [['leaky_relu', 'he_normal'], ['elu', 'he_normal']]);
    assert.deepEqual(findings('relu', [1], dead, 'dead-units')[0].suggestions.map(s => [s.activation ?? null, s.init ?? null]), [['leaky_relu', 'he_normal'], ['elu', 'he_normal'], [null, 'he_normal']]);
  });
});
