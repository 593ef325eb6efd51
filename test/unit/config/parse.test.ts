/** The config parser: defaults, spans, problems at their exact place, shape flow, the schema, the examples. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import Ajv from 'ajv';
import { parseConfigText, loadConfigFile, type ParseOptions } from '../../../src/config';
import { inferShapes } from '../../../src/config/shapes';
import { formatProblem, type NetworkConfig, type Span } from '../../../src/model';
import { activationSpellings, ACTIVATION_NAMES } from '../../../src/core/activations';
import { INIT_NAMES } from '../../../src/core/initializers';
import schema from '../../../schemas/network.schema.json';

const ROOT = path.join(__dirname, '../../..');
const EXAMPLES = path.join(ROOT, 'examples');
const noFiles = { readFile: (p: string): string => { throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' }); } };

function ok(text: string, file = 'net.nn.yaml', opts: ParseOptions = noFiles): NetworkConfig {
  const r = parseConfigText(text, file, opts);
  assert.deepEqual(r.problems.filter(p => p.severity === 'error').map(p => formatProblem(file, p)), []);
  return r.config!;
}
function errors(text: string, file = 'net.nn.yaml', opts: ParseOptions = noFiles): string[] {
  const r = parseConfigText(text, file, opts);
  const errs = r.problems.filter(p => p.severity === 'error');
  assert.equal(r.config, undefined, 'no config when there are errors');
  return errs.map(p => formatProblem(file, p));
}
const slice = (text: string, s: Span) => text.slice(s.start.offset, s.end.offset);

const MLP = (layers: string, extra = '') => `data:
  source: spiral
  samples: 1000
  classes: 3
model:
  layers:
${layers}
${extra}`;

describe('config: defaults', () => {
  it('fills Keras defaults, infers input, loss, steps from epochs and the probe interval', () => {
    const c = ok(MLP(`    - type: dense
      units: 16
    - type: dense
      units: 3
      activation: softmax`, 'train:\n  epochs: 5\n  batch: 50'));
    assert.equal(c.seed, 0);
    assert.deepEqual(c.model.input, [2]);
    const d = c.model.layers[0];
    assert.ok(d.type === 'dense');
    assert.deepEqual([d.activation.name, d.init.name, d.init.kind, d.init.mode, d.biasInit.kind, d.useBias, d.name], ['linear', 'glorot_uniform', 'variance_scaling', 'fan_avg', 'zeros', true, 'dense_1']);
    assert.equal(c.model.layers[1].name, 'dense_2');
    assert.equal(c.train.loss, 'cross_entropy');
    // 1000 samples, validation 0.2 -> 800 training samples, 16 batches of 50 per epoch
    assert.deepEqual([c.train.epochs, c.train.steps], [5, 80]);
    assert.equal(c.probe.every, 1);
    assert.equal(c.probe.samples, 200); // capped at the 200 validation samples
    assert.deepEqual([c.train.optimizer, c.train.lr], ['adam', 0.001]);
  });

  it('steps default to 20 epochs and give >= 50 probes', () => {
    const c = ok(MLP('    - {type: dense, units: 3, activation: softmax}'));
    assert.equal(c.train.steps, 20 * Math.ceil(800 / 32));
    assert.equal(c.probe.every, Math.floor(c.train.steps / 50));
    assert.ok(c.train.steps / c.probe.every >= 50);
  });

  it('infers the loss from the output activation and the targets', () => {
    const bin = ok('data: {source: moons}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: tanh}\n    - {type: dense, units: 1, activation: sigmoid}\n');
    assert.equal(bin.train.loss, 'binary_cross_entropy');
    const reg = ok('data: {source: sine}\nmodel:\n  layers:\n    - {type: dense, units: 8, activation: tanh}\n    - {type: dense, units: 1}\n');
    assert.equal(reg.train.loss, 'mse');
    const onehot = ok(MLP('    - {type: dense, units: 3, activation: sigmoid}'));
    assert.equal(onehot.train.loss, 'mse');
  });

  it('layer names: the name key or <type>_<n>; activation objects keep their parameters', () => {
    const c = ok(MLP(`    - {type: dense, units: 8, name: hidden, activation: {name: leaky_relu, alpha: 0.1}}
    - {type: dropout, rate: 0.2}
    - {type: dense, units: 3, activation: softmax, init: {name: variance_scaling, scale: 2, mode: fan_in, distribution: normal}}`));
    assert.deepEqual(c.model.layers.map(l => l.name), ['hidden', 'dropout_1', 'dense_2']);
    const h = c.model.layers[0];
    assert.ok(h.type === 'dense' && h.activation.name === 'leaky_relu' && h.activation.alpha === 0.1);
    const o = c.model.layers[2];
    assert.ok(o.type === 'dense');
    assert.deepEqual([o.init.scale, o.init.mode, o.init.distribution], [2, 'fan_in', 'truncated_normal']);
  });
});

describe('config: spans', () => {
  const text = MLP(`    - type: dense
      units: 16
      activation: relu
    - type: dense
      units: 3
      activation: softmax`, 'train:\n  lr: 0.005\n  optimizer: sgd');
  const c = ok(text);
  it('each layer key value and the layer item', () => {
    const l = c.model.layers[0];
    assert.equal(slice(text, l.spans!.units), '16');
    assert.equal(slice(text, l.spans!.activation), 'relu');
    assert.equal(l.spans!.activation.start.line, 8);
    assert.equal(l.spans!.activation.start.character, 18);
    assert.match(slice(text, l.span!), /^type: dense\n\s+units: 16\n\s+activation: relu/);
  });
  it('top-level dotted paths', () => {
    assert.equal(slice(text, c.spans['train.lr']), '0.005');
    assert.equal(slice(text, c.spans['data.source']), 'spiral');
    assert.ok(c.spans['model.layers']);
  });
  it('the same for a *.nn.json config', () => {
    const json = JSON.stringify({ data: { source: 'xor' }, model: { layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dense', units: 1, activation: 'sigmoid' }] }, train: { lr: 0.01 } }, null, 2);
    const j = ok(json, 'net.nn.json');
    assert.equal(slice(json, j.model.layers[0].spans!.activation), '"tanh"');
    assert.equal(slice(json, j.spans['train.lr']), '0.01');
    assert.equal(j.train.loss, 'binary_cross_entropy');
  });
});

describe('config: problems at their place, with "did you mean"', () => {
  it('unknown names and keys', () => {
    const e = errors(MLP(`    - type: dense
      units: 16
      activation: rleu
      int: he_normal
    - type: dense
      units: 3
      activation: softmax`, 'train:\n  optimiser: adam\n  loss: crossentropy_x'));
    assert.deepEqual(e, [
      'net.nn.yaml:9:19: unknown activation "rleu" (did you mean "relu"?)',
      'net.nn.yaml:10:7: unknown key "int" in a dense layer (did you mean "init"?)',
      'net.nn.yaml:15:3: unknown key "optimiser" in train (did you mean "optimizer"?)',
      'net.nn.yaml:16:9: unknown loss "crossentropy_x" (did you mean "cross_entropy"?); expected one of mse, binary_cross_entropy, cross_entropy',
    ]);
  });
  it('unknown initializer, layer type and data source', () => {
    const e = errors('data: {source: spirl}\nmodel:\n  layers:\n    - {type: dens, units: 3}\n    - {type: dense, units: 3, init: he_norml}\n');
    assert.equal(e.length, 3);
    assert.match(e[0], /^net\.nn\.yaml:1:16: unknown source "spirl" \(did you mean "spiral"\?\)/);
    assert.match(e[1], /^net\.nn\.yaml:4:14: unknown layer type "dens" \(did you mean "dense"\?\)/);
    assert.match(e[2], /^net\.nn\.yaml:5:37: unknown initializer "he_norml" \(did you mean "he_normal"\?\)/);
  });
  it('sizes must be positive, rates in [0, 1), numbers not quoted', () => {
    const e = errors(MLP(`    - {type: dense, units: 0}
    - {type: dropout, rate: 1}
    - {type: dense, units: 3, activation: softmax}`, 'train:\n  lr: "1e-3"\n  batch: 2.5'));
    assert.deepEqual(e, [
      'net.nn.yaml:7:28: "units" must be >= 1, got 0',
      'net.nn.yaml:8:29: "rate" must be in [0, 1), got 1',
      'net.nn.yaml:11:7: "lr" must be a number > 0 and <= 100, got "1e-3" (remove the quotes)',
      'net.nn.yaml:12:10: "batch" must be a whole number, got 2.5',
    ]);
  });
  it('a YAML syntax error is a problem with a place', () => {
    const r = parseConfigText('model:\n  layers: [\n', 'x.nn.yaml');
    assert.equal(r.config, undefined);
    assert.ok(r.problems[0].span && r.problems[0].severity === 'error');
  });
  it('both epochs and steps', () => {
    assert.match(errors(MLP('    - {type: dense, units: 3, activation: softmax}', 'train: {epochs: 2, steps: 10}'))[0], /either train\.epochs or train\.steps/);
  });
});

describe('config: shapes flow through the layers', () => {
  it('conv output sizes, pooling, flatten and dense fan-in', () => {
    const c = ok(`data: {source: shapes, size: 16}
model:
  layers:
    - {type: conv2d, filters: 4, kernel: 3}
    - {type: maxpool2d}
    - {type: conv2d, filters: 8, kernel: [3, 5], stride: 2, padding: same}
    - {type: flatten}
    - {type: dense, units: 3, activation: softmax}
`);
    assert.deepEqual(c.model.input, [16, 16, 1]);
    const { shapes } = inferShapes(c.model.input, c.model.layers);
    assert.deepEqual(shapes.map(s => s.outputShape), [[14, 14, 4], [7, 7, 4], [4, 4, 8], [128], [3]]);
    assert.deepEqual(shapes.map(s => s.params), [3 * 3 * 1 * 4 + 4, 0, 3 * 5 * 4 * 8 + 8, 0, 128 * 3 + 3]);
    assert.deepEqual([shapes[2].fanIn, shapes[2].fanOut, shapes[4].fanIn], [3 * 5 * 4, 3 * 5 * 8, 128]);
  });
  it('a kernel larger than its input, a dense on images, an output that does not fit the classes', () => {
    const e = errors(`data: {source: shapes, size: 8}
model:
  layers:
    - {type: conv2d, filters: 4, kernel: 3}
    - {type: maxpool2d, size: 4}
    - {type: conv2d, filters: 4, kernel: 3}
    - {type: dense, units: 2, activation: softmax}
`);
    assert.deepEqual(e, [
      'net.nn.yaml:6:42: kernel 3x3 is larger than the 1x1 input of "conv2d_2" with padding valid (use padding: same or a smaller kernel)',
      'net.nn.yaml:7:14: dense layer "dense_1" gets an input of shape [1, 1, 4]; add a flatten (or global_avgpool2d) layer before it',
      'net.nn.yaml:7:28: the output layer "dense_1" has 2 units but the shapes data has 3 classes',
    ]);
  });
  it('a bad output layer is one error, not also a complaint about the layer before it', () => {
    const e = errors('data: {source: moons}\nmodel:\n  layers:\n    - {type: dense, units: 16, activation: relu}\n    - {type: dense, units: -1, activation: sigmoid}\n');
    assert.equal(e.length, 1, e.join('\n'));
    assert.match(e[0], /^net\.nn\.yaml:5:28: "units" must be >= 1, got -1/);
  });
  it('model.input that contradicts the data', () => {
    assert.match(errors('data: {source: xor}\nmodel:\n  input: 3\n  layers:\n    - {type: dense, units: 1, activation: sigmoid}\n')[0], /^net\.nn\.yaml:3:10: model\.input \[3\] does not match the xor data, whose samples have shape \[2\]/);
  });
});

describe('config: model.keras and csv references', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-config-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  it('imports the layers and compile settings, the file overrides them', () => {
    fs.copyFileSync(path.join(EXAMPLES, 'keras-moons-model.json'), path.join(dir, 'm.json'));
    const file = path.join(dir, 'k.nn.yaml');
    const text = 'data: {source: moons}\nmodel:\n  keras: m.json\ntrain: {lr: 0.5, steps: 100}\n';
    const r = parseConfigText(text, file);
    assert.deepEqual(r.problems, []);
    const c = r.config!;
    assert.deepEqual(c.model.layers.map(l => l.type === 'dense' ? `${l.units}:${l.activation.name}` : l.type), ['32:sigmoid', '32:sigmoid', '32:sigmoid', '32:sigmoid', '1:sigmoid']);
    assert.deepEqual([c.train.loss, c.train.optimizer, c.train.lr, c.model.keras], ['binary_cross_entropy', 'sgd', 0.5, 'm.json']);
    // Layer ranges are in this file: the keras value.
    assert.equal(slice(text, c.model.layers[2].span!), 'm.json');
  });
  it('problems inside the Keras file are shown at the keras value with their place in that file', () => {
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/keras/k3-negative-embedding-lstm.json'), path.join(dir, 'lstm.json'));
    const e = errors('model:\n  keras: lstm.json\n', path.join(dir, 'l.nn.yaml'), {});
    assert.match(e[0], /l\.nn\.yaml:2:10: lstm\.json:1:\d+: unsupported layer Embedding "embedding"/);
    assert.match(errors('model:\n  keras: nope.json\n', path.join(dir, 'n.nn.yaml'), {})[0], /n\.nn\.yaml:2:10: cannot read nope\.json: no such file/);
  });
  it('csv: input from the header, samples from the rows, a wrong target named', () => {
    fs.writeFileSync(path.join(dir, 'd.csv'), 'a,b,c,label\n1,2,3,0\n4,5,6,1\n7,8,9,0\n1,1,1,1\n');
    const c = ok('data: {source: csv, path: d.csv, target: label}\nmodel:\n  layers:\n    - {type: dense, units: 1, activation: sigmoid}\n', path.join(dir, 'c.nn.yaml'), {});
    assert.deepEqual([c.model.input, c.data.samples, c.train.loss], [[3], 4, 'binary_cross_entropy']);
    assert.match(errors('data: {source: csv, path: d.csv, target: lable}\nmodel:\n  layers:\n    - {type: dense, units: 1}\n', path.join(dir, 'c.nn.yaml'), {})[0], /c\.nn\.yaml:1:42: target column "lable" is not in the CSV header \("a", "b", "c", "label"\)/);
    assert.match(errors('data: {source: csv, path: ../x.csv}\nmodel:\n  layers:\n    - {type: dense, units: 1}\n', path.join(dir, 'c.nn.yaml'), { workspaceRoot: dir })[0], /outside the workspace/);
  });
});

describe('the JSON schema', () => {
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  it('is the file package.json registers for *.nn.json and *.nn.yaml', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.contributes.jsonValidation[0].url, './schemas/network.schema.json');
    assert.equal(pkg.contributes.yamlValidation[0].url, './schemas/network.schema.json');
  });
  it('offers every activation spelling and initializer name of the core tables', () => {
    const acts = (schema.definitions.activation.anyOf[0] as { enum: string[] }).enum;
    assert.deepEqual([...acts].sort(), [...activationSpellings()].sort());
    for (const n of ACTIVATION_NAMES) assert.ok(acts.includes(n), n);
    const inits = (schema.definitions.init.anyOf[0] as { enum: string[] }).enum;
    for (const n of INIT_NAMES) assert.ok(inits.includes(n), n);
  });
  it('the parser takes exactly the spellings the schema offers, and suggests them for Keras-style names', () => {
    const cases: [string, string, RegExp][] = [
      ['{type: dense, units: 3, activation: ReLU}', '{type: dense, units: 3, activation: relu}', /unknown activation "ReLU" \(did you mean "relu"\?\)/],
      ['{type: dense, units: 3, init: GlorotUniform}', '{type: dense, units: 3, init: glorot_uniform}', /unknown initializer "GlorotUniform" \(did you mean "glorot_uniform"\?\)/],
      ['{type: Dense, units: 3}', '{type: dense, units: 3}', /unknown layer type "Dense" \(did you mean "dense"\?\)/],
    ];
    for (const [bad, good, msg] of cases) {
      const badText = MLP(`    - ${bad}`), goodText = MLP(`    - ${good}`);
      const r = parseConfigText(badText, 'x.nn.yaml');
      assert.ok(r.problems.some(p => msg.test(p.message)), `${bad}: ${r.problems.map(p => p.message).join('; ')}`);
      assert.equal(validate(YAML.parse(badText)), false, `${bad}: the schema agrees`);
      assert.deepEqual(parseConfigText(goodText, 'x.nn.yaml').problems, [], good);
      assert.equal(validate(YAML.parse(goodText)), true, good);
    }
    const loss = parseConfigText(MLP('    - {type: dense, units: 3, activation: softmax}', 'train: {loss: categorical_crossentropy, optimizer: Adam}'), 'x.nn.yaml');
    assert.deepEqual(loss.problems.map(p => p.message), [
      'unknown loss "categorical_crossentropy" (did you mean "cross_entropy"?); expected one of mse, binary_cross_entropy, cross_entropy',
      'unknown optimizer "Adam" (did you mean "adam"?); expected one of sgd, momentum, adam, rmsprop',
    ]);
  });
  it('an unknown key the builder does not know about is still reported (via the schema)', () => {
    const r = parseConfigText(MLP('    - {type: dense, units: 3, activation: softmax}', 'probe: {every: 5, evry: 2}'), 'x.nn.yaml');
    assert.ok(r.problems.some(p => /unknown key "evry"/.test(p.message)));
  });
  it('accepts every bundled example', () => {
    for (const f of fs.readdirSync(EXAMPLES).filter(f => f.endsWith('.nn.yaml'))) {
      const value = YAML.parse(fs.readFileSync(path.join(EXAMPLES, f), 'utf8'));
      assert.ok(validate(value), `${f}: ${JSON.stringify(validate.errors)}`);
    }
  });
});

describe('bundled examples', () => {
  const index = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'index.json'), 'utf8')) as { file: string; title: string; description: string; files?: string[] }[];
  it('index.json lists every example once, with a title and a description', () => {
    const files = fs.readdirSync(EXAMPLES).filter(f => /\.nn\.(ya?ml|json)$/.test(f)).sort();
    assert.deepEqual(index.map(e => e.file).sort(), files);
    for (const e of index) assert.ok(e.title.length > 5 && e.description.length > 20, e.file);
    // Files an example reads come along when it is used as a template.
    for (const e of index) for (const f of e.files ?? []) assert.ok(fs.existsSync(path.join(EXAMPLES, f)), f);
    assert.deepEqual(index.find(e => e.file === 'keras-import.nn.yaml')?.files, ['keras-moons-model.json']);
    assert.ok(files.includes('deep-sigmoid-spiral.nn.yaml'));
  });
  for (const e of index) {
    it(`${e.file} parses without problems and starts with a comment saying what it shows`, () => {
      const file = path.join(EXAMPLES, e.file);
      const text = fs.readFileSync(file, 'utf8');
      assert.match(text, /^# \S/);
      const r = loadConfigFile(file);
      assert.deepEqual(r.problems.map(p => formatProblem(e.file, p)), []);
      assert.ok(r.config!.train.steps <= 2000, 'short runs');
    });
  }
});

describe('loadConfigFile and content sniffing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-load-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  it('a missing file, a directory: one problem, no exception', () => {
    assert.deepEqual(loadConfigFile(path.join(dir, 'nope.nn.yaml')).problems.map(p => formatProblem('nope.nn.yaml', p)), ['nope.nn.yaml:1:1: no such file']);
    assert.match(loadConfigFile(dir).problems[0].message, /is a directory/);
  });
  it('a Keras model under any .json name is imported; a config under a plain .json name is a config', () => {
    const keras = fs.readFileSync(path.join(ROOT, 'test/fixtures/keras/15-tfjs-keras2-sequential-mlp-tanh.json'), 'utf8');
    fs.writeFileSync(path.join(dir, 'model.json'), keras);
    assert.equal(loadConfigFile(path.join(dir, 'model.json')).config?.model.layers.length, 3);
    fs.writeFileSync(path.join(dir, 'net.json'), JSON.stringify({ data: { source: 'xor' }, model: { layers: [{ type: 'dense', units: 1, activation: 'sigmoid' }] } }));
    assert.equal(loadConfigFile(path.join(dir, 'net.json')).config?.train.loss, 'binary_cross_entropy');
  });
  it('an empty file and a file of binary data are problems', () => {
    assert.match(parseConfigText('', 'e.nn.yaml').problems[0].message, /empty/);
    assert.match(parseConfigText('\u0000\u0001\u0002PK', 'b.nn.yaml').problems[0].message, /binary data/);
  });
});
