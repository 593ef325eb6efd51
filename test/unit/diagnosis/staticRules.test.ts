/**
 * The static rules' findings in full: severity, the layer they point at, evidence (variances hand-computed
 * from the initializers' formulas: Var(w) * fan_in is 1 for lecun, 2 for he, 2 fan_in / (fan_in + fan_out)
 * for glorot), suggestions, and the facts their messages must name (layers, numbers, classes). Each branch of
 * the output rule is taken once, and its neighbours are shown not to fire.
 */
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import type { NetworkConfig } from '../../../src/model';
import { staticRules } from '../../../src/diagnosis/staticRules';
import type { Finding } from '../../../src/diagnosis/types';

function config(layers: string, extra: string): NetworkConfig {
  const r = parseConfigText(`${extra}\nmodel:\n  layers:\n${layers}`, 'test.nn.yaml');
  assert.ok(r.config, JSON.stringify(r.problems));
  return r.config;
}
const rep = (n: number, line: string) => Array.from({ length: n }, () => `    - ${line}`).join('\n');
const CE3 = 'data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }';
const only = (fs: Finding[], kind: Finding['kind']): Finding => {
  const f = fs.filter(x => x.kind === kind);
  assert.equal(f.length, 1, `one ${kind}: ${fs.map(x => x.kind).join(', ')}`);
  return f[0];
};
const mentions = (f: Finding, ...facts: string[]) => { for (const s of facts) assert.ok(f.message.includes(s), `"${s}" in: ${f.message}`); };

describe('output-mismatch, branch by branch', () => {
  const hidden = '    - { type: dense, units: 8, activation: relu, init: he_normal }\n';
  it('softmax over 1 unit is an error pointing at the activation; a sigmoid is suggested', () => {
    const f = only(staticRules(config(`${hidden}    - { name: out, type: dense, units: 1, activation: softmax }`, 'data: { source: circles }\ntrain: { loss: binary_cross_entropy }')), 'output-mismatch');
    assert.equal(f.severity, 'error'); assert.equal(f.layer, 1); assert.equal(f.layerName, 'out');
    assert.deepEqual(f.evidence, { units: 1, loss: 'binary_cross_entropy' });
    assert.equal(f.suggestions[0].activation, 'sigmoid');
    mentions(f, 'softmax over 1 unit', '1.0');
    assert.ok(f.span, 'a place in the file');
  });
  it('sigmoid with cross_entropy over 3 classes is an error naming the class count; over 2 units only a warning', () => {
    const f = only(staticRules(config(`${hidden}    - { type: dense, units: 3, activation: sigmoid }`, CE3)), 'output-mismatch');
    assert.equal(f.severity, 'error');
    assert.deepEqual(f.evidence, { units: 3, classes: 3, loss: 'cross_entropy' });
    assert.equal(f.suggestions[0].activation, 'softmax');
    mentions(f, 'over 3 classes'); assert.match(f.suggestions[0].reason!, /3 exclusive classes/);
    const two = only(staticRules(config(`${hidden}    - { type: dense, units: 2, activation: sigmoid }`, 'data: { source: spiral, classes: 2 }\ntrain: { loss: cross_entropy }')), 'output-mismatch');
    assert.equal(two.severity, 'warning'); assert.deepEqual(two.evidence, { loss: 'cross_entropy' });
    mentions(two, 'sigmoid output with cross_entropy');
  });
  it('binary_cross_entropy without sigmoid: a warning naming the activation; with sigmoid nothing', () => {
    const f = only(staticRules(config(`${hidden}    - { type: dense, units: 1, activation: tanh }`, 'data: { source: circles }\ntrain: { loss: binary_cross_entropy }')), 'output-mismatch');
    assert.equal(f.severity, 'warning'); mentions(f, 'tanh output with binary_cross_entropy');
    assert.equal(f.suggestions[0].activation, 'sigmoid');
    assert.deepEqual(staticRules(config(`${hidden}    - { type: dense, units: 1, activation: sigmoid }`, 'data: { source: circles }\ntrain: { loss: binary_cross_entropy }')), []);
  });
  it('mse on signed targets: a non-negative output (relu, range [0, inf)) for sine and teacher data; tanh only for teacher', () => {
    for (const source of ['sine', 'teacher']) {
      const f = only(staticRules(config(`${hidden}    - { type: dense, units: 1, activation: relu }`, `data: { source: ${source} }\ntrain: { loss: mse }`)), 'output-mismatch');
      assert.equal(f.severity, 'warning');
      assert.deepEqual(f.evidence, { loss: 'mse', source, range: '[0, inf)' });
      assert.equal(f.suggestions[0].activation, 'linear');
      mentions(f, `relu output for ${source} regression`, '[0, inf)');
    }
    const t = only(staticRules(config(`${hidden}    - { type: dense, units: 1, activation: tanh }`, 'data: { source: teacher }\ntrain: { loss: mse }')), 'output-mismatch');
    assert.deepEqual(t.evidence, { loss: 'mse', source: 'teacher', range: '(-1, 1)' });
    mentions(t, 'tanh output for unbounded teacher regression');
    assert.deepEqual(staticRules(config(`${hidden}    - { type: dense, units: 1, activation: tanh }`, 'data: { source: sine }\ntrain: { loss: mse }')), [], 'sine targets lie in [-1, 1]');
    assert.deepEqual(staticRules(config(`${hidden}    - { type: dense, units: 1 }`, 'data: { source: sine }\ntrain: { loss: mse }')), [], 'linear is right');
  });
  it('softmax in a hidden layer: a warning on that layer, relu + he_normal suggested', () => {
    const f = only(staticRules(config(`    - { name: h, type: dense, units: 8, activation: softmax }\n    - { type: dense, units: 3, activation: softmax }`, CE3)), 'output-mismatch');
    assert.equal(f.layer, 0); assert.equal(f.layerName, 'h'); assert.equal(f.severity, 'warning');
    assert.deepEqual(f.suggestions[0], { activation: 'relu', init: 'he_normal', reason: f.suggestions[0].reason });
    mentions(f, 'softmax in hidden layer h');
  });
});

describe('init-mismatch evidence, hand-computed from the initializers', () => {
  const out = '\n    - { type: dense, units: 3, activation: softmax }';
  it('5 relu layers with lecun_normal (Var * fan_in = 1): the layers, 1 each, he_normal for all of them', () => {
    const f = only(staticRules(config(rep(5, '{ type: dense, units: 16, activation: relu, init: lecun_normal }') + out, 'data: { source: gaussians, features: 16, classes: 3 }\ntrain: { loss: cross_entropy }')), 'init-mismatch');
    assert.deepEqual(f.evidence, { layers: [0, 1, 2, 3, 4], varianceTimesFanIn: [1, 1, 1, 1, 1] });
    assert.deepEqual(f.suggestions, [{ init: 'he_normal', layers: [0, 1, 2, 3, 4], reason: f.suggestions[0].reason }]);
    assert.equal(f.severity, 'warning'); assert.equal(f.layer, 0);
    mentions(f, '5 relu layers', 'Var(w) = 1/fan_in', '(lecun_normal)', 'dense_1, dense_2, dense_3, dense_4, dense_5');
  });
  it('tanh with he_normal (2): one layer named, singular; two layers plural', () => {
    const one = only(staticRules(config('    - { type: dense, units: 16, activation: tanh, init: he_normal }' + out, CE3)), 'init-mismatch');
    assert.deepEqual(one.evidence, { layers: [0], varianceTimesFanIn: [2] });
    assert.equal(one.suggestions[0].init, 'glorot_uniform');
    mentions(one, 'tanh layer dense_1 initialized with Var(w) = 2/fan_in');
    const two = only(staticRules(config(rep(2, '{ type: dense, units: 16, activation: sigmoid, init: he_uniform }') + out, CE3)), 'init-mismatch');
    assert.deepEqual(two.evidence, { layers: [0, 1], varianceTimesFanIn: [2, 2] });
    mentions(two, 'sigmoid layers dense_1, dense_2');
  });
  it('selu with glorot_uniform: Var * fan_in = 2 * 2 / (2 + 16) for a 2 -> 16 layer', () => {
    // spiral has 2 features: fan_in 2, fan_out 16; glorot Var = 2 / 18, times fan_in 2 = 0.222.
    const f = only(staticRules(config('    - { type: dense, units: 16, activation: selu, init: glorot_uniform }' + out, CE3)), 'init-mismatch');
    assert.deepEqual(f.evidence, { layers: [0], varianceTimesFanIn: [0.222] });
    assert.equal(f.suggestions[0].init, 'lecun_normal');
    mentions(f, 'selu layer dense_1', '/fan_in');
    // Within 10% of 1 is lecun enough: variance_scaling scale 1.08 passes, 1.12 does not.
    const near = (s: number) => staticRules(config(`    - { type: dense, units: 16, activation: selu, init: { name: variance_scaling, scale: ${s}, mode: fan_in, distribution: truncated_normal } }` + out, CE3)).length;
    assert.equal(near(1.08), 0); assert.equal(near(1.12), 1);
  });
});

describe('activation-choice', () => {
  it('sigmoid in 2 of 3 hidden layers: the count, the layers, tanh+glorot then relu+he for exactly those layers', () => {
    const c = config(`    - { type: dense, units: 8, activation: sigmoid }\n    - { type: dense, units: 8, activation: relu, init: he_normal }\n    - { type: dense, units: 8, activation: sigmoid }\n    - { type: dense, units: 3, activation: softmax }`, CE3);
    const f = only(staticRules(c), 'activation-choice');
    assert.deepEqual(f.evidence, { layers: [0, 2], hiddenLayers: 3 });
    assert.deepEqual(f.suggestions.map(s => [s.activation, s.init, s.layers]), [['tanh', 'glorot_uniform', [0, 2]], ['relu', 'he_normal', [0, 2]]]);
    mentions(f, 'sigmoid in 2 of 3 hidden layers (dense_1, dense_3)');
    const two = config(`    - { type: dense, units: 8, activation: sigmoid }\n    - { type: dense, units: 8, activation: sigmoid }\n    - { type: dense, units: 3, activation: softmax }`, CE3);
    assert.equal(staticRules(two).filter(x => x.kind === 'activation-choice').length, 0, 'two hidden layers are not a deep stack');
  });
  it('two linear dense layers in a row collapse: a warning naming both; linear into relu is info', () => {
    const both = config(`    - { name: a, type: dense, units: 8 }\n    - { name: b, type: dense, units: 8 }\n    - { type: dense, units: 3, activation: softmax }`, CE3);
    const fs = staticRules(both).filter(x => x.kind === 'activation-choice');
    assert.deepEqual(fs.map(f => [f.severity, f.layer, f.evidence.layers]), [['warning', 0, [0, 1]], ['info', 1, [1, 2]]]);
    mentions(fs[0], 'a and b are consecutive dense/dense layers with linear activation');
    mentions(fs[1], 'b has a linear activation and feeds dense_3');
    assert.equal(fs[0].suggestions[0].activation, 'relu');
  });
});
