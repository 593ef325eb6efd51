import * as assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import { applyEdits, suggestionEdits } from '../../../src/edits/suggestionEdits';

function apply(text: string, file: string, layers: number[], change: Parameters<typeof suggestionEdits>[4]): string {
  const { config, problems } = parseConfigText(text, file);
  assert.ok(config, JSON.stringify(problems));
  const r = suggestionEdits(text, file, config, layers, change);
  assert.ok('edits' in r, 'error' in r ? r.error : '');
  const out = applyEdits(text, r.edits);
  const again = parseConfigText(out, file);
  assert.deepEqual(again.problems.filter(p => p.severity === 'error'), [], `edited text still parses:\n${out}`);
  return out;
}

const YAML = `# comment kept
data: {source: spiral, samples: 300, classes: 3}
model:
  layers:
    - type: dense
      units: 16
      activation: sigmoid   # why sigmoid?
    - type: dense
      units: 16
    - {type: dense, units: 3, activation: softmax}
train:
  optimizer: sgd
  lr: 2        # too high
  steps: 50
`;

describe('suggestion edits: only the values they change', () => {
  it('replaces an activation value and keeps the comment after it', () => {
    const out = apply(YAML, 'a.nn.yaml', [0], { activation: 'relu', init: 'he_normal' });
    assert.match(out, /activation: relu {3}# why sigmoid\?/);
    assert.match(out, /units: 16\n {6}activation: relu {3}# why sigmoid\?\n {6}init: he_normal\n/);
    assert.equal(out.replace(/activation: relu/, 'activation: sigmoid').replace(/\n {6}init: he_normal/, ''), YAML);
  });

  it('inserts a missing activation at the layer\'s indentation', () => {
    const out = apply(YAML, 'a.nn.yaml', [1], { activation: 'elu' });
    assert.ok(out.includes('    - type: dense\n      units: 16\n      activation: elu\n    - {type'), out);
  });

  it('edits inside a flow mapping', () => {
    const out = apply(YAML, 'a.nn.yaml', [2], { init: 'glorot_uniform' });
    assert.ok(out.includes('    - {type: dense, units: 3, activation: softmax, init: glorot_uniform}\n'), out);
  });

  it('changes the learning rate and adds a clip value under train', () => {
    const out = apply(YAML, 'a.nn.yaml', [0], { lr: 0.2, clip: 1.5 });
    assert.match(out, /lr: 0\.2 {8}# too high/);
    assert.match(out, /\n {2}clip: 1\.5/);
  });

  it('writes JSON strings in a *.nn.json file', () => {
    const json = JSON.stringify({ data: { source: 'moons', samples: 200 }, model: { layers: [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 1, activation: 'sigmoid' }] }, train: { lr: 0.1, steps: 20 } }, null, 2);
    const out = apply(json, 'b.nn.json', [0], { activation: 'relu', init: 'he_normal' });
    const parsed = JSON.parse(out);
    assert.equal(parsed.model.layers[0].activation, 'relu');
    assert.equal(parsed.model.layers[0].init, 'he_normal');
  });
});
