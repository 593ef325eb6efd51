/**
 * The remedy table (src/diagnosis/remedies.ts) against the rules that name it: every remedy or cited fact a rule
 * names is in the table and every entry is named somewhere (tsx strips types, so a misspelt name would only show
 * as a crash in whichever test reaches it); each remedy is a change the core can make; and a rule's suggestion
 * carries its remedy's reason word for word, with only the rule's context appended.
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
import type { DiagnosisLayer } from '../../../src/diagnosis/rules';
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
      // A change of init alone names the init's author (as the rules' tests ask of every suggestion).
      if (!r.activation) assert.match(r.reason, { he_normal: /\bHe\b/, glorot_uniform: /Glorot/, lecun_normal: /lecun/ }[r.init!], name);
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
