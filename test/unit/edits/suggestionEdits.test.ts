import * as assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyEdits, kerasReferenceEdits, suggestionEdits } from '../../../src/edits/suggestionEdits';

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

  it('rewrites an initializer written under the suggested name with other parameters (it is not that initializer)', () => {
    // {name: he_normal, scale: 1} is Var = 1/fan_in (LeCun's), so a He fix has something to change.
    const text = YAML.replace('activation: sigmoid   # why sigmoid?', 'activation: sigmoid   # why sigmoid?\n      init: {name: he_normal, scale: 1}');
    const out = apply(text, 'a.nn.yaml', [0], { init: 'he_normal' });
    assert.equal(out, text.replace('init: {name: he_normal, scale: 1}', 'init: he_normal'));
    const withActivation = apply(text, 'a.nn.yaml', [0], { activation: 'relu', init: 'he_normal' });
    assert.equal(withActivation, out.replace('activation: sigmoid', 'activation: relu'));
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

describe('suggestion edits: a config whose layers come from model.keras', () => {
  // A real Keras 3 model.json (4 sigmoid hidden layers, GlorotUniform) and a config that refers to it.
  const kerasText = fs.readFileSync(path.join(__dirname, '../../workspace/keras-moons-model.json'), 'utf8');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-kref-'));
  const kerasFile = path.join(dir, 'keras-moons-model.json');
  fs.writeFileSync(kerasFile, kerasText);
  const configFile = path.join(dir, 'moons.nn.yaml');
  const configText = 'data: {source: moons, samples: 600}\nmodel:\n  input: [2]\n  keras: keras-moons-model.json\ntrain:\n  steps: 200\n';
  const config = parseConfigText(configText, configFile).config!;
  const kerasConfig = parseConfigText(kerasText, kerasFile).config;

  it('never rewrites the keras: reference (it used to become "keras: relu")', () => {
    assert.ok(config, 'the config parses');
    const r = suggestionEdits(configText, configFile, config, [0], { activation: 'relu', init: 'he_normal' });
    assert.ok('error' in r, 'a layer change in the referring config is refused');
    assert.match(r.error, /come from keras-moons-model\.json/);
  });

  it('edits the activation and initializer values in the Keras JSON and nothing else', () => {
    const r = kerasReferenceEdits(configText, configFile, config, kerasText, kerasFile, kerasConfig, [0, 1], { activation: 'relu', init: 'he_normal' });
    assert.ok(!('error' in r), 'error' in r ? r.error : '');
    assert.deepEqual(r.config, []);
    const out = JSON.parse(applyEdits(kerasText, r.keras));
    const was = JSON.parse(kerasText);
    const dense = (j: typeof out) => j.config.layers.filter((l: { class_name: string }) => l.class_name === 'Dense').map((l: { config: unknown }) => l.config);
    const [d0, d1, d2] = dense(out);
    assert.equal(d0.activation, 'relu');
    assert.equal(d1.activation, 'relu');
    assert.equal(d2.activation, 'sigmoid');
    assert.equal(d0.kernel_initializer.class_name, 'HeNormal');
    assert.equal(d2.kernel_initializer.class_name, 'GlorotUniform');
    // Everything else in the model is as it was.
    for (const l of [...dense(out).slice(0, 2)]) { l.activation = 'sigmoid'; l.kernel_initializer = dense(was)[0].kernel_initializer; }
    assert.deepEqual(out, was);
  });

  it('puts lr in the config and refuses when the Keras file no longer matches', () => {
    const r = kerasReferenceEdits(configText, configFile, config, kerasText, kerasFile, kerasConfig, [0], { lr: 0.05 });
    assert.ok(!('error' in r));
    assert.deepEqual(r.keras, []);
    assert.match(applyEdits(configText, r.config), /train:\n {2}steps: 200\n {2}lr: 0\.05/);
    const fewer = parseConfigText(kerasText.replace(/, \{"module": "keras.layers", "class_name": "Dense", "config": \{"name": "dense_3".*?"build_config": \{"input_shape": \[null, 32\]\}\}/, ''), kerasFile).config;
    assert.equal(fewer?.model.layers.length, config.model.layers.length - 1);
    const stale = kerasReferenceEdits(configText, configFile, config, kerasText, kerasFile, fewer, [0], { activation: 'relu' });
    assert.ok('error' in stale && /changed since/.test(stale.error));
  });
});
