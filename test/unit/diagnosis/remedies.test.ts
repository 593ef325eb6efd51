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
  const layersOf = (acts: [string, string][]) => {
    const yaml = `data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }\nmodel:\n  layers:\n${
      acts.map(([a, init]) => `    - { type: dense, units: 16, activation: ${a}, init: ${init} }`).join('\n')}\n    - { type: dense, units: 3, activation: softmax }`;
    const r = parseConfigText(yaml, 'test.nn.yaml');
    assert.ok(r.config, JSON.stringify(r.problems));
    return r.config;
  };
  const stats = (o: Partial<LayerStats>): LayerStats => ({
    deadFraction: null, saturatedFraction: null, activationMean: 0, activationStd: 1, preactMean: null, preactStd: null,
    preactHist: null, activationHist: null, gradRms: 1, weightGradRms: null, updateRatio: null, nonFinite: 0, ...o,
  });
  const run = (acts: [string, string][], hidden: Partial<LayerStats>, kind: string) => runRules({
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
    assert.deepEqual(run([['relu', 'glorot_uniform'], ['selu', 'glorot_uniform'], ['linear', 'glorot_uniform']], { gradRms: 1e-3 }, 'vanishing-gradient'), [[
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
