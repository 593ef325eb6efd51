import * as assert from 'node:assert/strict';
import { completionsAt, replaceRange, type CompletionEntry } from '../../../src/edits/completions';

/** Completions at the `|` of a config text. */
function at(marked: string, format: 'yaml' | 'json' = 'yaml'): CompletionEntry[] {
  const offset = marked.indexOf('|');
  return completionsAt(marked.replace('|', ''), offset, format);
}
const labels = (items: CompletionEntry[]) => items.map(i => i.label);

describe('config completions (no other extension needed)', () => {
  it('offers the top-level sections not yet written, model first (it is required)', () => {
    const items = at('name: x\n|');
    assert.deepEqual(labels(items).sort(), ['data', 'diagnostics', 'model', 'probe', 'seed', 'train']);
    const sorted = [...items].sort((a, b) => (a.sortText ?? '').localeCompare(b.sortText ?? ''));
    assert.equal(sorted[0].label, 'model');
    assert.equal(items.find(i => i.label === 'data')?.insertText, 'data: ');
  });

  it('offers a dense layer\'s keys in block style, and a conv layer\'s own keys, from the layer type', () => {
    const dense = labels(at('model:\n  layers:\n    - type: dense\n      units: 3\n      |'));
    assert.ok(dense.includes('activation') && dense.includes('init') && dense.includes('use_bias'), dense.join());
    assert.ok(!dense.includes('units'), 'units is already written');
    assert.ok(!dense.includes('filters') && !dense.includes('kernel'), 'conv keys are not offered for dense');
    // A list at the same indent as its key is valid YAML too.
    const conv = labels(at('model:\n  layers:\n  - type: conv2d\n    |'));
    for (const k of ['filters', 'kernel', 'stride', 'padding']) assert.ok(conv.includes(k), `${k} in ${conv.join()}`);
    assert.ok(!conv.includes('units'));
  });

  it('offers layer keys inside a flow map, leaving out those already in it', () => {
    const keys = labels(at('model:\n  layers:\n    - {type: dense, units: 32, |}'));
    assert.ok(keys.includes('activation') && !keys.includes('units') && !keys.includes('type'), keys.join());
  });

  it('lists activation names with their formula, when to use and the paired init', () => {
    for (const text of ['model:\n  layers:\n    - type: dense\n      activation: |', 'model:\n  layers:\n    - {type: dense, units: 4, activation: |}']) {
      const items = at(text);
      const relu = items.find(i => i.label === 'relu');
      assert.ok(relu, labels(items).join());
      assert.match(relu.detail ?? '', /max\(0, ?x\)/);
      assert.match(relu.documentation ?? '', /When to use/);
      assert.match(relu.documentation ?? '', /he_normal/);
      assert.ok(labels(items).includes('selu') && labels(items).includes('softmax'));
    }
  });

  it('init: from-model where the schema allows it: a layer\'s init (not bias_init), batchnorm\'s init, model.init', () => {
    const dense = labels(at('model:\n  weights: m.onnx\n  layers:\n    - type: dense\n      init: |'));
    assert.ok(dense.includes('from-model') && dense.includes('he_normal'), dense.join());
    assert.ok(!labels(at('model:\n  layers:\n    - type: conv2d\n      bias_init: |')).includes('from-model'));
    assert.ok(labels(at('model:\n  layers:\n    - {type: conv2d, init: |}')).includes('from-model'));
    assert.deepEqual(labels(at('model:\n  layers:\n    - type: batchnorm\n      init: |')).sort(), ['from-model', 'random']);
    assert.deepEqual(labels(at('model:\n  init: |')).sort(), ['from-model', 'random']);
    assert.ok(labels(at('model:\n  layers:\n    - type: batchnorm\n      |')).includes('init'));
  });

  it('lists initializers with their variance formula, layer types, sources, optimizers and losses', () => {
    const inits = at('model:\n  layers:\n    - type: dense\n      init: |');
    assert.match(inits.find(i => i.label === 'he_normal')?.detail ?? '', /2 \/ fan_in/);
    assert.match(inits.find(i => i.label === 'glorot_uniform')?.detail ?? '', /fan_in \+ fan_out/);
    const types = labels(at('model:\n  layers:\n    - type: |'));
    assert.deepEqual(types.sort(), ['activation', 'avgpool2d', 'batchnorm', 'conv2d', 'dense', 'dropout', 'flatten', 'global_avgpool2d', 'maxpool2d']);
    const sources = at('data:\n  source: |');
    assert.ok(labels(sources).includes('spiral') && labels(sources).includes('csv'));
    assert.match(sources.find(i => i.label === 'spiral')?.detail ?? '', /spiral/);
    assert.deepEqual(labels(at('train: {optimizer: |}')).sort(), ['adam', 'momentum', 'rmsprop', 'sgd']);
    assert.deepEqual(labels(at('train:\n  loss: |')).sort(), ['binary_cross_entropy', 'cross_entropy', 'mse']);
  });

  it('offers the keys of the section the cursor is in, even with sections after it', () => {
    const keys = labels(at('train:\n  optimizer: adam\n  |\ndata:\n  source: spiral\n'));
    assert.ok(keys.includes('lr') && keys.includes('batch') && !keys.includes('optimizer') && !keys.includes('source'), keys.join());
    const thresholds = at('diagnostics:\n  dead_warning: 0.6\n  |');
    assert.ok(labels(thresholds).includes('vanishing_warning') && !labels(thresholds).includes('dead_warning'));
    assert.match(thresholds.find(i => i.label === 'vanishing_warning')?.detail ?? '', /gradRms ratio/);
  });

  it('works in *.nn.json: keys get quotes, values inside quotes replace the whole string', () => {
    const keys = at('{"model": {"layers": [{"type": "dense", |}]}}', 'json');
    assert.equal(keys.find(i => i.label === 'units')?.insertText, '"units": ');
    const text = '{"model": {"layers": [{"type": "dense", "activation": "re"}]}}';
    const offset = text.indexOf('"re"') + 3;
    const values = completionsAt(text, offset, 'json');
    assert.equal(values.find(i => i.label === 'relu')?.insertText, '"relu"');
    const r = replaceRange(text, offset, 'json');
    assert.equal(text.slice(r.start, r.end), '"re"');
    assert.deepEqual(labels(at('{"data": {"source": |}}', 'json')).includes('iris'), true);
  });

  it('offers nothing in a comment or for free-text values', () => {
    assert.equal(at('# model: |').length, 0);
    assert.equal(at('name: my |').length, 0);
  });
});
