/** Static rules and rule-based suggestions on parsed configs (no training). */
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import type { NetworkConfig } from '../../../src/model';
import { staticFindings } from '../../../src/diagnosis/rules';
import { suggestActivations } from '../../../src/diagnosis/suggestions';
import type { Finding } from '../../../src/diagnosis/types';
import { makeConfig } from '../core/helpers';

function config(layers: string, extra = 'data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }'): NetworkConfig {
  const r = parseConfigText(`${extra}\nmodel:\n  layers:\n${layers}`, 'test.nn.yaml');
  assert.ok(r.config, JSON.stringify(r.problems));
  return r.config;
}
const rep = (n: number, line: string) => Array.from({ length: n }, () => `    - ${line}`).join('\n');
const kinds = (c: NetworkConfig) => staticFindings(c).map(f => `${f.severity}:${f.kind}@${f.layer}`);

describe('static rules', () => {
  it('relu + he_normal, selu + lecun_normal, shallow tanh + glorot: nothing', () => {
    assert.deepEqual(kinds(config(`${rep(6, '{ type: dense, units: 32, activation: relu, init: he_normal }')}\n    - { type: dense, units: 3, activation: softmax }`)), []);
    assert.deepEqual(kinds(config(`${rep(16, '{ type: dense, units: 32, activation: selu, init: lecun_normal }')}\n    - { type: dense, units: 3, activation: softmax }`)), []);
    assert.deepEqual(kinds(config(`    - { type: dense, units: 16, activation: tanh }\n    - { type: dense, units: 3, activation: softmax }`)), []);
  });

  it('init-mismatch is judged on the effective variance: a spelled-out variance_scaling counts as the named init', () => {
    const he = "{ type: dense, units: 32, activation: relu, init: { name: variance_scaling, scale: 2.0, mode: fan_in, distribution: truncated_normal } }";
    const lecun = "{ type: dense, units: 32, activation: relu, init: { name: variance_scaling, scale: 1.0, mode: fan_in, distribution: truncated_normal } }";
    assert.deepEqual(kinds(config(`${rep(5, he)}\n    - { type: dense, units: 3, activation: softmax }`)), []);
    const f = staticFindings(config(`${rep(5, lecun)}\n    - { type: dense, units: 3, activation: softmax }`));
    assert.deepEqual(f.map(x => x.kind), ['init-mismatch']);
    assert.deepEqual(f[0].suggestions[0], { init: 'he_normal', layers: [0, 1, 2, 3, 4], reason: f[0].suggestions[0].reason });
    assert.equal(f[0].span?.start.line, 4, 'points at the first layer (0-based line 4)');
  });

  it('relu with the Keras default (glorot_uniform) needs a stack of >= 5 to be flagged', () => {
    const relu = '{ type: dense, units: 32, activation: relu }';
    assert.deepEqual(kinds(config(`${rep(4, relu)}\n    - { type: dense, units: 3, activation: softmax }`)), []);
    assert.deepEqual(kinds(config(`${rep(5, relu)}\n    - { type: dense, units: 3, activation: softmax }`)), ['warning:init-mismatch@0']);
  });

  it('layers that start from the model\'s weights (init: from-model) have no drawn init to judge', () => {
    // Five relu layers with the default glorot_uniform are flagged; the same layers loaded from a model are not.
    const stack = (init: string) => `${rep(5, `{ type: dense, units: 32, activation: relu${init} }`)}\n    - { type: dense, units: 3, activation: softmax }`;
    assert.deepEqual(kinds(config(stack(''))), ['warning:init-mismatch@0']);
    const r = parseConfigText(`data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }\nmodel:\n  weights: m.onnx\n  layers:\n${stack(', init: from-model')}`, 'test.nn.yaml');
    assert.ok(r.config, JSON.stringify(r.problems));
    assert.deepEqual(kinds(r.config), []);
  });

  it('tanh with He variance, selu without lecun_normal', () => {
    assert.deepEqual(kinds(config(`    - { type: dense, units: 16, activation: tanh, init: he_normal }\n    - { type: dense, units: 3, activation: softmax }`)), ['warning:init-mismatch@0']);
    assert.deepEqual(kinds(config(`    - { type: dense, units: 16, activation: selu, init: he_normal }\n    - { type: dense, units: 3, activation: softmax }`)), ['warning:init-mismatch@0']);
  });

  it('U[-1/sqrt(n), 1/sqrt(n)] in a stack of >= 4 sigmoid layers: init-mismatch and activation-choice', () => {
    const std = '{ type: dense, units: 32, activation: sigmoid, init: { name: variance_scaling, scale: 0.3333333, mode: fan_in, distribution: uniform } }';
    assert.deepEqual(kinds(config(`${rep(4, std)}\n    - { type: dense, units: 3, activation: softmax }`)), ['warning:activation-choice@0', 'warning:init-mismatch@0']);
    // Glorot's normalized init does not count, even where Var * fan_in happens to be near 1/3 (fan_out = 5 fan_in).
    const glorot = config(`    - { type: dense, units: 100, activation: tanh }\n${rep(4, '{ type: dense, units: 100, activation: tanh }')}\n    - { type: dense, units: 3, activation: softmax }`,
      'data: { source: gaussians, features: 20, classes: 3 }\ntrain: { loss: cross_entropy }');
    assert.deepEqual(kinds(glorot), []);
  });

  it('softmax in a hidden layer; a linear dense followed by an activation layer is judged by that activation', () => {
    assert.deepEqual(kinds(config(`    - { type: dense, units: 16, activation: softmax }\n    - { type: dense, units: 3, activation: softmax }`)), ['warning:output-mismatch@0']);
    const split = config(`    - { type: dense, units: 16 }\n    - { type: activation, activation: relu }\n    - { type: dense, units: 16 }\n    - { type: dense, units: 3, activation: softmax }`);
    assert.deepEqual(kinds(split), ['info:activation-choice@2'], 'only dense_3 (linear, into the output) composes with the next weights');
  });

  it('cross_entropy without softmax; binary_cross_entropy without sigmoid', () => {
    assert.deepEqual(kinds(config(`    - { type: dense, units: 16, activation: relu, init: he_normal }\n    - { type: dense, units: 3 }`)), ['warning:output-mismatch@1']);
    assert.deepEqual(kinds(config(`    - { type: dense, units: 16, activation: relu, init: he_normal }\n    - { type: dense, units: 1, activation: relu }`,
      'data: { source: circles }\ntrain: { loss: binary_cross_entropy }')), ['warning:output-mismatch@1']);
  });
});

describe('rule-based suggestions', () => {
  it('a ranked list for every layer with an activation, the init that goes with each, and reasons', () => {
    const c = config(`    - { type: dense, units: 16, activation: relu, init: he_normal }\n    - { type: dropout, rate: 0.1 }\n    - { type: dense, units: 3, activation: softmax }`);
    const s = suggestActivations(c, []);
    assert.deepEqual(s.map(x => [x.layer, x.current]), [[0, 'relu'], [2, 'softmax']]);
    assert.equal(s[0].ranked[0].activation, 'relu', 'no finding: keep the current choice');
    assert.match(s[0].ranked[0].reason, /no finding/);
    assert.equal(s[0].ranked.find(r => r.activation === 'selu')?.init, 'lecun_normal');
    assert.equal(s[1].ranked[0].activation, 'softmax');
  });

  it('dead units move leaky_relu/elu ahead of relu, with the evidence in the reason', () => {
    const c = config(`    - { type: dense, units: 16, activation: relu, init: he_normal }\n    - { type: dense, units: 3, activation: softmax }`);
    const dead = { kind: 'dead-units' as const, severity: 'warning' as const, layer: 0, layerName: 'dense_1', step: 50, message: '', evidence: { deadFraction: 0.7 }, suggestions: [] };
    const [s] = suggestActivations(c, [dead]);
    assert.ok(['leaky_relu', 'elu'].includes(s.ranked[0].activation), s.ranked.map(r => r.activation).join());
    assert.match(s.ranked[0].reason, /70% dead units/);
    const relu = s.ranked.findIndex(r => r.activation === 'relu');
    assert.ok(relu > 2);
  });

  it('a deep plain MLP prefers selu with lecun_normal; a 1-hidden-layer net keeps tanh', () => {
    const deep = config(rep(10, '{ type: dense, units: 32, activation: elu, init: he_normal }') + '\n    - { type: dense, units: 3, activation: softmax }');
    assert.equal(suggestActivations(deep, [])[0].ranked.find(r => r.activation === 'selu')!.init, 'lecun_normal');
    assert.ok(suggestActivations(deep, [])[0].ranked.findIndex(r => r.activation === 'selu') <= 1);
    const shallow = config(`    - { type: dense, units: 16, activation: tanh }\n    - { type: dense, units: 3, activation: softmax }`);
    assert.equal(suggestActivations(shallow, [])[0].ranked[0].activation, 'tanh');
  });
});

describe('rule-based suggestions: cost', function () {
  this.timeout(60000); // building 8k-layer configs, not the suggestions, takes the time under load
  /** A deep relu stack with a dead-units finding on every hidden layer and one finding listing all of them. */
  function deepCase(n: number) {
    const layers = Array.from({ length: n }, () => ({ type: 'dense' as const, units: 8, activation: 'relu' as const }));
    const c = makeConfig([8], [...layers, { type: 'dense', units: 1 }]);
    const findings: Finding[] = layers.map((_, i) => ({ kind: 'dead-units', severity: 'warning', layer: i, layerName: `dense_${i}`, step: 10, message: '',
      evidence: { deadFraction: 0.5 }, suggestions: [] }));
    findings.push({ kind: 'activation-choice', severity: 'info', layer: -1, layerName: '', step: null, message: '', evidence: { layers: layers.map((_, i) => i) }, suggestions: [] });
    return { c, findings };
  }
  /** Property reads of the findings while suggesting: what an algorithm that is quadratic in layers multiplies. */
  function reads(n: number): { reads: number; reasons: string[] } {
    const { c, findings } = deepCase(n);
    let count = 0;
    const counted = findings.map(f => new Proxy(f, { get(t, k, r) { count++; return Reflect.get(t, k, r); } }));
    const s = suggestActivations(c, counted);
    return { reads: count, reasons: [s[3].ranked.find(r => r.activation === 'relu')!.reason] };
  }

  it('is linear in layers: 8x the layers (each with a finding) costs about 8x the finding reads, not 64x', () => {
    const small = reads(1000), large = reads(8000);
    assert.ok(large.reads / small.reads < 10, `${small.reads} reads for 1000 layers, ${large.reads} for 8000`);
    // Still each layer's own evidence: layer 3's relu is marked down for its dead units.
    assert.match(small.reasons[0], /this layer has 50% dead units and relu can die too/);
  });
});
