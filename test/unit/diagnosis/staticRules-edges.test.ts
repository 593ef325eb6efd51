/**
 * The static rules where staticRules.test.ts stops: every activation of the output rule's sets (their ranges
 * are the activation table's and the functions' own), the data sources that do and do not have signed targets,
 * which key of the file each finding points at, trained weights (nothing drawn to judge), the U[-1/sqrt(n)]
 * stack counted over sigmoid/tanh layers only, and each suggestion's reason naming what it suggests.
 * (Written against the survivors of `npm run mutation -- staticRules`, docs/testing.md.)
 */
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import type { NetworkConfig } from '../../../src/model';
import { staticRules } from '../../../src/diagnosis/staticRules';
import type { Finding } from '../../../src/diagnosis/types';
import { makeConfig } from '../core/helpers';

/** The config and its text, so that a finding's span can be read back as the text it points at. */
function parsed(layers: string, extra: string): { config: NetworkConfig; text: string } {
  const text = `${extra}\nmodel:\n  layers:\n${layers}`;
  const r = parseConfigText(text, 'test.nn.yaml');
  assert.ok(r.config, JSON.stringify(r.problems));
  return { config: r.config, text };
}
const config = (layers: string, extra: string) => parsed(layers, extra).config;
const pointsAt = (f: Finding, text: string) => (f.span ? text.slice(f.span.start.offset, f.span.end.offset) : undefined);
const rep = (n: number, line: string) => Array.from({ length: n }, () => `    - ${line}`).join('\n');
const hidden = '    - { type: dense, units: 8, activation: relu, init: he_normal }\n';
const CE3 = 'data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }';
const ofKind = (fs: Finding[], kind: Finding['kind']) => fs.filter(f => f.kind === kind);
const mentions = (f: Finding, ...facts: string[]) => { for (const s of facts) assert.ok(f.message.includes(s), `"${s}" in: ${f.message}`); };

/** Every suggestion has a reason; one that changes only the init names the init's author. */
function explained(fs: Finding[]) {
  assert.ok(fs.length > 0);
  for (const f of fs) {
    assert.ok(f.suggestions.length > 0, `${f.kind} suggests something`);
    for (const s of f.suggestions) {
      assert.ok(s.reason.length > 20, `a reason for ${JSON.stringify(s)}`);
      if (!s.activation) assert.match(s.reason, { he_normal: /\bHe\b/, glorot_uniform: /Glorot/, lecun_normal: /lecun/ }[s.init as string]!, s.reason);
    }
  }
}
/** The same config with other data or loss (combinations the parser refuses, or sources that need files). */
const withData = (c: NetworkConfig, data: Partial<NetworkConfig['data']>, loss = c.train.loss): NetworkConfig =>
  ({ ...c, data: { ...c.data, ...data } as NetworkConfig['data'], train: { ...c.train, loss } });

describe('output-mismatch: every activation of each set, every source', () => {
  it('mse on signed (teacher) targets: each activation that cannot be negative is a warning, with its range', () => {
    // relu6 [0, 6], softplus (0, inf), hard_sigmoid [0, 1], softmax (0, 1), sigmoid (0, 1).
    for (const act of ['relu6', 'softplus', 'hard_sigmoid', 'softmax', 'sigmoid']) {
      // (The parser reads a softmax output on teacher data as classification: the regression case is set here.)
      const c = withData(config(`${hidden}    - { type: dense, units: 2, activation: ${act} }`, 'data: { source: teacher }\ntrain: { loss: mse }'), { classes: undefined });
      const fs = ofKind(staticRules(c), 'output-mismatch');
      assert.deepEqual(fs.map(f => [f.severity, f.suggestions[0]?.activation]), [['warning', 'linear']], act);
      mentions(fs[0], `${act} output for teacher regression`, 'negative values');
      explained(fs);
    }
  });
  it('mse on unbounded teacher targets: tanh and softsign (both in (-1, 1)) are a warning suggesting linear', () => {
    for (const act of ['tanh', 'softsign']) {
      const fs = ofKind(staticRules(config(`${hidden}    - { type: dense, units: 1, activation: ${act} }`, 'data: { source: teacher }\ntrain: { loss: mse }')), 'output-mismatch');
      assert.deepEqual(fs.map(f => [f.severity, f.suggestions.map(s => s.activation)]), [['warning', ['linear']]], act);
      mentions(fs[0], `${act} output for unbounded teacher regression`, '(-1, 1)');
      explained(fs);
    }
  });
  it('mse on targets of unknown or non-negative sign (csv, a classification source): no regression warning', () => {
    const sine = config(`${hidden}    - { type: dense, units: 1, activation: relu }`, 'data: { source: sine }\ntrain: { loss: mse }');
    assert.equal(staticRules(sine).length, 1, 'sine: signed');
    assert.deepEqual(staticRules(withData(sine, { source: 'csv' } as Partial<NetworkConfig['data']>)), [], 'csv targets: sign unknown');
    assert.deepEqual(staticRules(config(`${hidden}    - { type: dense, units: 1, activation: sigmoid }`, 'data: { source: circles }\ntrain: { loss: mse }')), []);
    assert.deepEqual(staticRules(config(`${hidden}    - { type: dense, units: 3, activation: relu }`, 'data: { source: teacher, classes: 3 }\ntrain: { loss: mse }')), [], 'a teacher that labels classes');
  });
  it('binary_cross_entropy with a sigmoid is right whatever the source; a softmax over 3 units is not', () => {
    const sig = config(`${hidden}    - { type: dense, units: 1, activation: sigmoid }`, 'data: { source: sine }\ntrain: { loss: mse }');
    assert.deepEqual(staticRules(withData(sig, {}, 'binary_cross_entropy')), [], 'the loss decides, not the source');
    // Multi-label: 3 sigmoid units with binary_cross_entropy is the right pair, not "sigmoid with cross_entropy".
    const three = (act: string) => withData(config(`${hidden}    - { type: dense, units: 3, activation: ${act} }`, CE3), {}, 'binary_cross_entropy');
    assert.deepEqual(staticRules(three('sigmoid')), []);
    const sm = ofKind(staticRules(three('softmax')), 'output-mismatch');
    assert.deepEqual(sm.map(f => [f.severity, f.evidence, f.suggestions.map(s => s.activation)]), [['warning', { loss: 'binary_cross_entropy' }, ['sigmoid']]]);
    explained(sm);
  });
  it('cross_entropy with a relu output: a warning suggesting softmax, because of the logits', () => {
    const fs = ofKind(staticRules(config(`${hidden}    - { type: dense, units: 3, activation: relu }`, CE3)), 'output-mismatch');
    assert.deepEqual(fs.map(f => [f.severity, f.suggestions.map(s => s.activation)]), [['warning', ['softmax']]]);
    mentions(fs[0], 'relu output with cross_entropy');
    explained(fs);
  });
  it('the class count is the larger of the units and the data\'s classes; without classes, the units', () => {
    const c = config(`${hidden}    - { type: dense, units: 3, activation: sigmoid }`, 'data: { source: spiral, classes: 3 }\ntrain: { loss: cross_entropy }');
    const noClasses: NetworkConfig = { ...c, data: { ...c.data, classes: undefined } };
    const f = ofKind(staticRules(noClasses), 'output-mismatch');
    assert.deepEqual(f.map(x => [x.severity, x.evidence.classes]), [['error', 3]]);
    const four: NetworkConfig = { ...c, data: { ...c.data, classes: 4 } };
    const g = ofKind(staticRules(four), 'output-mismatch');
    mentions(g[0], 'over 4 classes');
    assert.match(g[0].suggestions[0].reason, /4 exclusive classes/);
  });
  it('a conv2d output counts its filters: softmax over 1 filter is the 1-unit error', () => {
    const c = makeConfig([6, 6, 1], [{ type: 'conv2d', filters: 4, kernel: [3, 3], activation: 'relu', init: 'he_normal' }, { type: 'conv2d', filters: 1, kernel: [4, 4], activation: 'softmax' }], { loss: 'binary_cross_entropy' });
    const fs = ofKind(staticRules(c), 'output-mismatch');
    assert.deepEqual(fs.map(f => [f.severity, f.evidence.units]), [['error', 1]]);
    explained(fs);
  });
  it('a hidden softmax: evidence names it, the reason says why relu', () => {
    const fs = ofKind(staticRules(config(`    - { type: dense, units: 8, activation: softmax }\n    - { type: dense, units: 3, activation: softmax }`, CE3)), 'output-mismatch');
    assert.deepEqual(fs.map(f => f.evidence), [{ activation: 'softmax' }]);
    explained(fs);
  });
  it('a config without a weighted layer gets no output finding and no throw', () => {
    const c = config('    - { type: dense, units: 3, activation: softmax }', CE3);
    assert.deepEqual(staticRules({ ...c, model: { ...c.model, layers: [] } }), []);
  });
});

describe('static findings point at the key they are about', () => {
  it('activation findings at the activation value (on the activation layer when it is separate), init findings at the init', () => {
    const { config: c, text } = parsed([
      '    - { type: dense, units: 8 }',
      '    - { type: activation, activation: softmax }',
      '    - { type: dense, units: 16, activation: tanh, init: he_normal }',
      '    - { type: dense, units: 3, activation: sigmoid }',
    ].join('\n'), CE3);
    const fs = staticRules(c);
    const at = (kind: Finding['kind'], layer: number) => pointsAt(fs.find(f => f.kind === kind && f.layer === layer)!, text);
    assert.equal(at('output-mismatch', 1), 'softmax', 'the hidden softmax, on the activation layer');
    assert.equal(at('output-mismatch', 3), 'sigmoid', 'the output sigmoid with cross_entropy');
    assert.equal(at('init-mismatch', 2), 'he_normal');
    // A dense with its init, then a separate tanh layer: the init finding is on the dense, at its init.
    const split = parsed('    - { type: dense, units: 16, init: he_normal }\n    - { type: activation, activation: tanh }\n    - { type: dense, units: 3, activation: softmax }', CE3);
    const im = ofKind(staticRules(split.config), 'init-mismatch');
    assert.deepEqual(im.map(f => [f.layer, pointsAt(f, split.text)]), [[0, 'he_normal']]);
  });
  it('each output branch and activation-choice point at the activation value', () => {
    const cases: [string, string, string][] = [
      ['    - { type: dense, units: 1, activation: softmax }', 'data: { source: circles }\ntrain: { loss: binary_cross_entropy }', 'softmax'],
      ['    - { type: dense, units: 3, activation: relu }', CE3, 'relu'],
      ['    - { type: dense, units: 1, activation: tanh }', 'data: { source: circles }\ntrain: { loss: binary_cross_entropy }', 'tanh'],
      ['    - { type: dense, units: 1, activation: relu }', 'data: { source: sine }\ntrain: { loss: mse }', 'relu'],
      ['    - { type: dense, units: 1, activation: tanh }', 'data: { source: teacher }\ntrain: { loss: mse }', 'tanh'],
    ];
    for (const [out, extra, value] of cases) {
      const { config: c, text } = parsed(`${hidden}${out}`, extra);
      const f = ofKind(staticRules(c), 'output-mismatch');
      assert.equal(f.length, 1, out);
      assert.equal(pointsAt(f[0], text), value, out);
    }
    const { config: c, text } = parsed(rep(3, '{ type: dense, units: 8, activation: sigmoid }') + '\n    - { type: dense, units: 3, activation: softmax }', CE3);
    assert.equal(pointsAt(ofKind(staticRules(c), 'activation-choice')[0], text), 'sigmoid');
    const lin = parsed('    - { type: dense, units: 8, activation: linear }\n    - { type: dense, units: 3, activation: softmax }', CE3);
    const lf = ofKind(staticRules(lin.config), 'activation-choice');
    assert.equal(pointsAt(lf[0], lin.text), 'linear');
    assert.deepEqual(lf[0].suggestions.map(s => [s.activation, s.init]), [['relu', 'he_normal']]);
    explained(lf);
  });
});

describe('init-mismatch: what is judged, and the U[-1/sqrt(n), 1/sqrt(n)] stack', () => {
  const out = '\n    - { type: dense, units: 3, activation: softmax }';
  const gauss = 'data: { source: gaussians, features: 16, classes: 3 }\ntrain: { loss: cross_entropy }';
  // Var(U[-a, a]) = a^2 / 3, so U[-1/sqrt(n), 1/sqrt(n)] has Var * fan_in = 1/3: variance_scaling scale 1/3,
  // fan_in, uniform. Glorot for 16 -> 16 is Var * fan_in = 2 * 16 / 32 = 1, so 16-wide layers are not "standard".
  const standard = '{ type: dense, units: 8, activation: tanh, init: { name: variance_scaling, scale: 0.3333333, mode: fan_in, distribution: uniform } }';
  it('4 tanh layers with U[-1/sqrt(n)]: a warning counting them, Glorot suggested', () => {
    const fs = ofKind(staticRules(config(rep(4, standard) + out, gauss)), 'init-mismatch');
    assert.equal(fs.length, 1);
    mentions(fs[0], '4 of 4 tanh layers use U[-1/sqrt(n), 1/sqrt(n)]');
    assert.deepEqual(fs[0].suggestions.map(s => [s.init, s.layers]), [['glorot_uniform', [0, 1, 2, 3]]]);
    explained(fs);
  });
  it('the stack counts sigmoid/tanh layers only: 3 of them and a relu layer are not 4', () => {
    const relu = '{ type: dense, units: 8, activation: relu, init: he_normal }';
    assert.deepEqual(ofKind(staticRules(config(`${rep(3, standard)}\n    - ${relu}${out}`, gauss)), 'init-mismatch'), []);
  });
  it('Var * fan_in = 0.6 is not U[-1/sqrt(n)] (1/3 within 15%)', () => {
    const wide = '{ type: dense, units: 8, activation: tanh, init: { name: variance_scaling, scale: 0.6, mode: fan_in, distribution: uniform } }';
    assert.deepEqual(ofKind(staticRules(config(rep(4, wide) + out, gauss)), 'init-mismatch'), []);
  });
  it('trained weights (init: from-model, on the model or the layer) have no drawn init to judge', () => {
    const c = config(rep(2, '{ type: dense, units: 16, activation: selu, init: glorot_uniform }') + out, CE3);
    assert.equal(ofKind(staticRules(c), 'init-mismatch').length, 1, 'drawn: judged');
    assert.deepEqual(ofKind(staticRules({ ...c, model: { ...c.model, fromModel: true } }), 'init-mismatch'), []);
    const perLayer = { ...c, model: { ...c.model, layers: c.model.layers.map(l => ({ ...l, fromModel: true })) } } as NetworkConfig;
    assert.deepEqual(ofKind(staticRules(perLayer), 'init-mismatch'), []);
  });
  it('the output layer is not judged for init (a softmax output with he_normal is fine)', () => {
    const c = config(`${hidden}    - { type: dense, units: 1, activation: sigmoid, init: he_normal }`, 'data: { source: circles }\ntrain: { loss: binary_cross_entropy }');
    assert.deepEqual(ofKind(staticRules(c), 'init-mismatch'), []);
  });
  it('every init finding explains its init: He for relu, Glorot for tanh, lecun for two selu layers (plural)', () => {
    const relu = ofKind(staticRules(config(rep(5, '{ type: dense, units: 16, activation: relu, init: lecun_normal }') + out, gauss)), 'init-mismatch');
    const tanh = ofKind(staticRules(config('    - { type: dense, units: 16, activation: tanh, init: he_normal }' + out, CE3)), 'init-mismatch');
    const selu = ofKind(staticRules(config(rep(2, '{ type: dense, units: 16, activation: selu, init: he_normal }') + out, CE3)), 'init-mismatch');
    explained([...relu, ...tanh, ...selu]);
    mentions(selu[0], 'selu layers dense_1, dense_2');
  });
});

describe('activation-choice suggestions', () => {
  it('a deep sigmoid stack: tanh + Glorot and relu + He, each reason naming its activation', () => {
    const fs = ofKind(staticRules(config(rep(3, '{ type: dense, units: 8, activation: sigmoid }') + '\n    - { type: dense, units: 3, activation: softmax }', CE3)), 'activation-choice');
    explained(fs);
    assert.match(fs[0].suggestions[0].reason, /Glorot/);
    assert.match(fs[0].suggestions[1].reason, /He init/);
  });
});
