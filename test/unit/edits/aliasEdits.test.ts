/**
 * Suggestion edits on YAML that writes a value once and uses it in several places (anchors and aliases), and on
 * odd YAML (tags, block scalars, CRLF, several documents): an edit goes where the value is written, only when
 * every use of it is meant to change the same way, and never leaves the file different in any other value.
 * Cases from the attack review of helper 14 (/tmp/attack14/al2.nn.yaml and friends).
 */
import * as assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import { applyEdits, suggestionEdits } from '../../../src/edits/suggestionEdits';
import { checkEdits, readTree } from '../../../src/edits/editCheck';

type Change = Parameters<typeof suggestionEdits>[4];

function configOf(text: string, file = 'a.nn.yaml') {
  const { config, problems } = parseConfigText(text, file);
  assert.ok(config, JSON.stringify(problems));
  return config;
}
function edit(text: string, layers: number[], change: Change, file = 'a.nn.yaml') {
  return suggestionEdits(text, file, configOf(text, file), layers, change);
}
function applied(text: string, layers: number[], change: Change, file = 'a.nn.yaml'): string {
  const r = edit(text, layers, change, file);
  assert.ok('edits' in r, 'error' in r ? r.error : '');
  return applyEdits(text, r.edits);
}
const nameOf = (v: unknown) => (v && typeof v === 'object' && 'name' in v ? (v as { name: string }).name : v);
const acts = (text: string) => configOf(text).model.layers.map(l => ('activation' in l ? nameOf(l.activation) : undefined));
const inits = (text: string) => configOf(text).model.layers.map(l => ('init' in l ? nameOf(l.init) : undefined));

// The reviewer's config: five sigmoid layers written once and used five times.
const FIVE = `name: x
data: {source: spiral, samples: 300}
model:
  layers:
    - &l
      type: dense
      units: 16
      activation: sigmoid
    - *l
    - *l
    - *l
    - *l
    - {type: dense, units: 3, activation: softmax}
`;

describe('suggestion edits: anchors and aliases', () => {
  it('a fix for all five layers that share an anchor edits the anchor once and the file still reads (it used to insert init under each "- *l")', () => {
    const r = edit(FIVE, [0, 1, 2, 3, 4], { activation: 'tanh', init: 'glorot_uniform' });
    assert.ok('edits' in r, 'error' in r ? r.error : '');
    assert.equal(r.edits.length, 2, 'one replacement and one insertion, at the anchor');
    const out = applyEdits(FIVE, r.edits);
    assert.equal(out, FIVE.replace('activation: sigmoid', 'activation: tanh\n      init: glorot_uniform'));
    assert.deepEqual(acts(out), ['tanh', 'tanh', 'tanh', 'tanh', 'tanh', 'softmax']);
    assert.deepEqual(inits(out).slice(0, 5), Array(5).fill('glorot_uniform'));
  });

  it('a fix for one alias layer, the anchored layer, or four of the five is refused with the reason, not written through the anchor', () => {
    for (const layers of [[1], [0], [0, 1, 2, 3], [4]]) {
      const r = edit(FIVE, layers, { activation: 'tanh' });
      assert.ok('error' in r, `layers ${layers} must be refused`);
      assert.match(r.error, /cannot change the activation of layer dense_\d alone: it is written once, at &l, and shared with .*layer dense_\d/);
    }
    // Also for a key the layers do not have yet: the insertion would go into the shared mapping.
    const r = edit(FIVE, [2], { init: 'he_normal' });
    assert.ok('error' in r && /written once, at &l/.test(r.error), JSON.stringify(r));
  });

  it('an anchor defined in a flow list and used by every layer it is meant for: one edit, the aliases stay', () => {
    const text = 'data: {source: spiral, samples: 300}\nmodel:\n  layers: [&h {type: dense, units: 8, activation: sigmoid}, *h, {type: dense, units: 3, activation: softmax}]\n';
    const out = applied(text, [0, 1], { activation: 'relu', init: 'he_normal' });
    assert.equal(out, text.replace('activation: sigmoid}', 'activation: relu, init: he_normal}'));
    assert.deepEqual(acts(out), ['relu', 'relu', 'softmax']);
  });

  it('a scalar anchor (activation: &a sigmoid) used by another layer: the alias token is replaced alone, the anchor only with all its users', () => {
    const text = 'data: {source: spiral, samples: 300}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: &a sigmoid}\n    - {type: dense, units: 8, activation: *a}\n    - {type: dense, units: 3, activation: softmax}\n';
    const one = applied(text, [1], { activation: 'tanh' });
    assert.equal(one, text.replace('activation: *a}', 'activation: tanh}'));
    assert.deepEqual(acts(one), ['sigmoid', 'tanh', 'softmax']);
    const anchored = edit(text, [0], { activation: 'tanh' });
    assert.ok('error' in anchored && /written once, at &a, and shared with the activation of layer dense_2/.test(anchored.error), JSON.stringify(anchored));
    assert.deepEqual(acts(applied(text, [0, 1], { activation: 'tanh' })), ['tanh', 'tanh', 'softmax']);
  });

  it('a name anchored twice: each alias is the nearest anchor before it (YAML 1.2), in the config and in the edit', () => {
    const text = 'data: {source: spiral, samples: 300}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: &a relu}\n    - {type: dense, units: 8, activation: *a}\n    - {type: dense, units: 8, activation: &a tanh}\n    - {type: dense, units: 3, activation: *a}\n';
    assert.deepEqual(acts(text), ['relu', 'relu', 'tanh', 'tanh']);
    const r = edit(text, [0], { activation: 'elu' });
    assert.ok('error' in r && /shared with the activation of layer dense_2$|shared with the activation of layer dense_2,/.test(r.error), JSON.stringify(r));
    assert.deepEqual(acts(applied(text, [2, 3], { activation: 'elu' })), ['relu', 'relu', 'elu', 'elu']);
  });

  it('a layer mapping with a merge key (<<: *base) is not a config this reads, and an edit into one is refused', () => {
    const merged = 'base: &b {type: dense, units: 3, activation: softmax}\ndata: {source: spiral, samples: 100}\nmodel:\n  layers:\n    - {<<: *b, units: 5}\n';
    assert.equal(parseConfigText(merged, 'm.nn.yaml').config, undefined);
    const plain = 'data: {source: spiral, samples: 100}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: sigmoid}\n    - {type: dense, units: 3, activation: softmax}\n';
    // The config of the plain text, the text of a file that since got a merge key in the layer.
    const withMerge = plain.replace('- {type: dense, units: 8, activation: sigmoid}', '- {<<: {init: zeros}, type: dense, units: 8}');
    const r = suggestionEdits(withMerge, 'a.nn.yaml', configOf(plain), [0], { activation: 'tanh' });
    assert.ok('error' in r && /merge key/.test(r.error), JSON.stringify(r));
  });
});

describe('suggestion edits: odd YAML keeps every other byte', () => {
  it('a flow mapping {units: 8, activation: relu}: the value replaced and the key added inside the braces', () => {
    const text = 'data: {source: spiral, samples: 300}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: relu}   # hidden\n    - {type: dense, units: 3, activation: softmax}\n';
    assert.equal(applied(text, [0], { activation: 'tanh', init: 'glorot_uniform' }),
      text.replace('activation: relu}', 'activation: tanh, init: glorot_uniform}'));
  });

  it('a CRLF file stays CRLF and keeps its comments', () => {
    const text = FIVE.replace('activation: sigmoid', 'activation: sigmoid   # why?').replace('  layers:', '  layers:   # five the same').replace(/\n/g, '\r\n');
    const out = applied(text, [0, 1, 2, 3, 4], { activation: 'tanh', init: 'glorot_uniform', lr: 0.05 });
    assert.equal(out.split('\n').length, out.split('\r\n').length, 'every line ends in CRLF');
    assert.equal(out, text.replace('activation: sigmoid   # why?\r\n', 'activation: tanh   # why?\r\n      init: glorot_uniform\r\n') + 'train:\r\n  lr: 0.05\r\n');
  });

  it('a layer with neither activation nor init gets both keys, and a file without train gets one train section with lr and clip', () => {
    const text = 'data: {source: spiral, samples: 300}\nmodel:\n  layers:\n    - type: dense\n      units: 8\n    - {type: dense, units: 3, activation: softmax}\n';
    const out = applied(text, [0], { activation: 'tanh', init: 'glorot_uniform', lr: 0.1, clip: 2 });
    assert.equal(out, text.replace('units: 8\n', 'units: 8\n      activation: tanh\n      init: glorot_uniform\n') + 'train:\n  lr: 0.1\n  clip: 2\n');
  });

  it('tags and block scalars: the value is replaced, the tag stays, the line after a block scalar stays', () => {
    const text = 'data: {source: spiral, samples: 300}\nmodel:\n  layers:\n    - type: dense\n      units: 8\n      activation: !!str sigmoid\n    - type: dense\n      activation: >-\n        sigmoid\n      units: 8\n    - {type: dense, units: 3, activation: softmax}\n';
    assert.deepEqual(acts(text), ['sigmoid', 'sigmoid', 'softmax']);
    const out = applied(text, [0, 1], { activation: 'tanh' });
    assert.equal(out, text.replace('!!str sigmoid', '!!str tanh').replace('>-\n        sigmoid\n', 'tanh\n'));
  });

  it('several YAML documents in one file: no edit', () => {
    const one = 'data: {source: spiral, samples: 300}\nmodel:\n  layers:\n    - {type: dense, units: 3, activation: softmax}\n';
    assert.equal(parseConfigText(`${one}---\n${one}`, 'a.nn.yaml').config, undefined);
    const r = suggestionEdits(`${one}---\n${one}`, 'a.nn.yaml', configOf(one), [0], { activation: 'sigmoid' });
    assert.ok('error' in r && /has errors/.test(r.error), JSON.stringify(r));
  });

  it('a config whose layers come from model.onnx has no model.layers to write into: refused, the reference kept', () => {
    const text = 'data: {source: spiral, samples: 300}\nmodel:\n  layers:\n    - {type: dense, units: 3, activation: softmax}\n';
    const config = configOf(text);
    const moved = 'data: {source: spiral, samples: 300}\nmodel:\n  onnx: m.onnx\n';
    const r = suggestionEdits(moved, 'a.nn.yaml', config, [0], { activation: 'sigmoid' });
    assert.ok('error' in r && /not written in a\.nn\.yaml/.test(r.error), JSON.stringify(r));
  });
});

describe('suggestion edits: the check of the edited text (the safety net)', () => {
  const text = 'data: {source: spiral, samples: 300}\nmodel:\n  layers:\n    - &l {type: dense, units: 8, activation: sigmoid}\n    - *l\n    - {type: dense, units: 3, activation: softmax}\n';
  const root = readTree(text, false).root!;
  const at = (s: string) => text.indexOf(s);
  const want = [{ path: ['model', 'layers', 0, 'activation'], value: 'tanh', label: 'the activation of layer 0' }];
  const name = (p: (string | number)[]) => p.join('.');

  it('accepts exactly the intended change', () => {
    const ok = [{ offset: at('sigmoid'), length: 7, text: 'tanh' }];
    // Layer 1 shares the anchor: the same edit also changes it, which only passes when it is intended too.
    assert.match(checkEdits(text, false, root, ok, want, name) ?? '', /would change model\.layers\.1\.activation/);
    assert.equal(checkEdits(text, false, root, ok, [...want, { ...want[0], path: ['model', 'layers', 1, 'activation'] }], name), undefined);
  });

  it('refuses an edit that breaks the file, changes another value, or misses the intended one', () => {
    assert.match(checkEdits(text, false, root, [{ offset: at('*l') + 2, length: 0, text: '\n      init: zeros' }], want, name) ?? '', /would break the file/);
    const tanh = { offset: at('sigmoid'), length: 7, text: 'tanh' };
    const both = [...want, { ...want[0], path: ['model', 'layers', 1, 'activation'] }];
    assert.match(checkEdits(text, false, root, [tanh, { offset: at('units: 3'), length: 8, text: 'units: 4' }], both, name) ?? '', /would change model\.layers\.2\.units/);
    assert.match(checkEdits(text, false, root, [{ offset: at('spiral'), length: 6, text: 'spiral' }], want, name) ?? '', /would make the activation of layer 0 "sigmoid", not "tanh"/);
    assert.match(checkEdits(text, false, root, [tanh, { offset: text.length, length: 0, text: 'extra: 1\n' }], both, name) ?? '', /would add extra/);
  });
});
