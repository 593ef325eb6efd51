/**
 * The Keras / TF.js importer against the conformance corpus (copied from ../shared/corpus/keras into
 * test/fixtures/keras with its MANIFEST.md; the expectations below are that manifest's table) and against
 * the raw Keras 3 fixtures written by make_keras3.py.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfigText, importKeras, toConfigYaml } from '../../../src/config';
import { inferShapes, countParams } from '../../../src/config/shapes';
import { formatProblem, type LayerSpec, type NetworkConfig, type Span } from '../../../src/model';

const DIR = path.join(__dirname, '../../fixtures/keras');
const read = (f: string) => fs.readFileSync(path.join(DIR, f), 'utf8');

/** A layer in the manifest's notation: Dense(16;relu), Conv2D(16,3x3,strides 3x3,same;relu), MaxPooling2D(2x2,same)... */
function notation(l: LayerSpec): string {
  switch (l.type) {
    case 'dense': return `Dense(${l.units};${l.activation.name})`;
    case 'conv2d': return `Conv2D(${l.filters},${l.kernel.join('x')}${l.stride[0] !== 1 || l.stride[1] !== 1 ? `,strides ${l.stride.join('x')}` : ''}${l.padding === 'same' ? ',same' : ''};${l.activation.name})`;
    case 'maxpool2d': return `MaxPooling2D(${l.size.join('x')}${l.padding === 'same' ? ',same' : ''})`;
    case 'avgpool2d': return `AveragePooling2D(${l.size.join('x')})`;
    case 'global_avgpool2d': return 'GlobalAveragePooling2D';
    case 'flatten': return 'Flatten';
    case 'dropout': return `Dropout(${l.rate})`;
    case 'batchnorm': return 'BatchNormalization';
    case 'activation': return l.activation.name === 'leaky_relu' ? `LeakyReLU(alpha=${l.activation.alpha})` : `Activation(${l.activation.name})`;
  }
}

interface Expect { file: string; input: number[]; layers: string; params: number; nonTrainable?: number }
const POSITIVE: Expect[] = [
  { file: '01-keras2-sequential-cnn-activation-layers.json', input: [150, 150, 3], params: 1_212_513, layers: 'Conv2D(32,3x3;linear) Activation(relu) MaxPooling2D(2x2) Conv2D(32,3x3;linear) Activation(relu) MaxPooling2D(2x2) Conv2D(64,3x3;linear) Activation(relu) MaxPooling2D(2x2) Flatten Dense(64;linear) Activation(relu) Dropout(0.5) Dense(1;linear) Activation(sigmoid)' },
  { file: '02-keras2-sequential-mlp-creditcard.json', input: [30], params: 1_711, layers: 'Dense(16;relu) Dense(18;relu) Dropout(0.25) Dense(20;relu) Dense(24;relu) Dense(1;sigmoid)' },
  { file: '03-keras2-sequential-mlp-leakyrelu.json', input: [52], params: 2_401, layers: 'Dense(32;linear) LeakyReLU(alpha=0.3) Dropout(0.5) Dense(16;linear) LeakyReLU(alpha=0.3) Dropout(0.5) Dense(8;linear) LeakyReLU(alpha=0.3) Dropout(0.5) Dense(4;linear) LeakyReLU(alpha=0.3) Dropout(0.5) Dense(1;sigmoid)' },
  { file: '05-tfkeras2-sequential-cnn-inputlayer-mnist.json', input: [28, 28, 1], params: 1_199_882, layers: 'Conv2D(32,3x3;relu) Conv2D(64,3x3;relu) MaxPooling2D(2x2) Dropout(0.25) Flatten Dense(128;relu) Dropout(0.5) Dense(10;softmax)' },
  { file: '06-tfkeras2-sequential-cnn-bn-no-inputlayer.json', input: [48, 48, 1], params: 4_474_759, nonTrainable: 3_968, layers: 'Conv2D(64,3x3,same;linear) BatchNormalization Activation(relu) MaxPooling2D(2x2) Dropout(0.25) Conv2D(128,5x5,same;linear) BatchNormalization Activation(relu) MaxPooling2D(2x2) Dropout(0.25) Conv2D(512,3x3,same;linear) BatchNormalization Activation(relu) MaxPooling2D(2x2) Dropout(0.25) Conv2D(512,3x3,same;linear) BatchNormalization Activation(relu) MaxPooling2D(2x2) Dropout(0.25) Flatten Dense(256;linear) BatchNormalization Activation(relu) Dropout(0.25) Dense(512;linear) BatchNormalization Activation(relu) Dropout(0.25) Dense(7;softmax)' },
  { file: '07-tfkeras2-sequential-mlp-inputlayer.json', input: [30223], params: 3_876_993, layers: 'Dense(128;relu) Dropout(0.5) Dense(64;relu) Dropout(0.5) Dense(1;sigmoid)' },
  { file: '08-keras2-sequential-mlp-leading-dropout.json', input: [900], params: 1_821_895, layers: 'Dropout(0.5) Dense(832;relu) Dropout(0.2) Dense(640;relu) Dropout(0.3) Dense(832;relu) Dropout(0.2) Dense(7;softmax)' },
  { file: '09-tfkeras2-functional-model-mlp-pretty.json', input: [12], params: 4_244_513, layers: 'Dense(1024;relu) Dropout(0.1) Dense(2048;relu) Dropout(0.1) Dense(1024;relu) Dropout(0.1) Dense(33;linear)' },
  { file: '10-tfkeras2-functional-cnn.json', input: [257, 98, 1], params: 94_817, layers: 'Conv2D(16,3x3,strides 3x3,same;relu) MaxPooling2D(2x2,same) Conv2D(32,5x5,strides 5x5,same;relu) MaxPooling2D(2x2,same) Conv2D(64,5x5,strides 5x5,same;relu) MaxPooling2D(2x2,same) Dropout(0.2) Flatten Dense(128;relu) Dense(128;relu) Dense(32;relu) Dense(32;relu) Dense(16;relu) Dense(1;linear)' },
  { file: '11-keras3-sequential-mlp-flatten.json', input: [28, 28], params: 1_494_154, layers: 'Flatten Dense(1024;relu) Dense(512;relu) Dense(256;relu) Dense(128;relu) Dense(10;softmax)' },
  { file: '12-keras3-sequential-mlp-selu.json', input: [126], params: 237_634, layers: 'Dense(512;selu) Dense(256;selu) Dense(128;selu) Dense(64;selu) Dense(2;linear)' },
  { file: '13-tfjs-keras3-sequential-cnn-bn.json', input: [64, 64, 3], params: 2_501_917, nonTrainable: 960, layers: 'Conv2D(32,3x3,same;relu) BatchNormalization MaxPooling2D(2x2) Conv2D(64,3x3,same;relu) BatchNormalization MaxPooling2D(2x2) Conv2D(128,3x3,same;relu) BatchNormalization MaxPooling2D(2x2) Conv2D(256,3x3,same;relu) BatchNormalization MaxPooling2D(2x2) Flatten Dense(512;relu) Dropout(0.5) Dense(29;softmax)' },
  { file: '14-tfjs-keras3-functional-mlp.json', input: [1], params: 49, layers: 'Dense(16;relu) Dense(1;sigmoid)' },
  { file: '15-tfjs-keras2-sequential-mlp-tanh.json', input: [13], params: 562, layers: 'Dense(17;tanh) Dense(17;tanh) Dense(1;sigmoid)' },
  { file: '16-tfjs-noformat-sequential-mlp.json', input: [4], params: 8_705, layers: 'Dense(64;relu) Dense(64;relu) Dense(64;relu) Dense(1;linear)' },
  { file: '17-tfjs-layersjs-sequential-list-mlp.json', input: [4], params: 386, layers: 'Dense(16;relu) Dense(16;relu) Dense(2;sigmoid)' },
  // Raw Keras 3 to_json() written by make_keras3.py (the corpus has no raw Keras 3 Functional file and no Keras 3 ReLU/GAP layers).
  { file: 'k3-functional-mlp.json', input: [10], params: 931, layers: 'Dense(32;relu) Dropout(0.25) Dense(16;linear) LeakyReLU(alpha=0.2) Dense(3;softmax)' },
  { file: 'k3-sequential-cnn.json', input: [32, 32, 3], params: 5_482, nonTrainable: 64, layers: 'Conv2D(16,3x3;relu) MaxPooling2D(2x2) Conv2D(32,3x3,strides 2x2,same;linear) BatchNormalization Activation(relu) GlobalAveragePooling2D Dense(10;softmax)' },
];

function imported(file: string): NetworkConfig {
  const r = parseConfigText(read(file), path.join(DIR, file));
  assert.deepEqual(r.problems.filter(p => p.severity === 'error'), [], `${file}: ${r.problems.map(p => p.message).join('; ')}`);
  assert.ok(r.config, file);
  return r.config;
}

describe('Keras / TF.js import: the corpus', () => {
  for (const e of POSITIVE) {
    it(`${e.file}: layers, input shape and parameter counts`, () => {
      const c = imported(e.file);
      assert.deepEqual(c.model.input, e.input);
      assert.equal(c.model.layers.map(notation).join(' '), e.layers);
      const { shapes, problems } = inferShapes(c.model.input, c.model.layers);
      assert.deepEqual(problems, []);
      const counts = countParams(shapes);
      assert.equal(counts.params, e.params);
      assert.equal(counts.nonTrainableParams, e.nonTrainable ?? 0);
      assert.equal(c.model.keras, path.join(DIR, e.file));
      // Without a data section the model trains on a teacher of its own input shape.
      assert.equal(c.data.source, 'teacher');
      assert.deepEqual(c.data.shape, e.input);
    });
  }

  it('10: the spatial sizes of a strided same-padded functional CNN', () => {
    const c = imported('10-tfkeras2-functional-cnn.json');
    const { shapes } = inferShapes(c.model.input, c.model.layers);
    assert.deepEqual(shapes.slice(0, 8).map(s => s.outputShape), [[86, 33, 16], [43, 17, 16], [9, 4, 32], [5, 2, 32], [1, 1, 64], [1, 1, 64], [1, 1, 64], [64]]);
    assert.deepEqual(shapes[shapes.length - 1].outputShape, [1]);
  });

  it('06: per-layer counts of conv, batchnorm (moving statistics non-trainable) and dense', () => {
    const c = imported('06-tfkeras2-sequential-cnn-bn-no-inputlayer.json');
    const { shapes } = inferShapes(c.model.input, c.model.layers);
    assert.deepEqual([shapes[0].params, shapes[1].params, shapes[1].nonTrainableParams], [3 * 3 * 1 * 64 + 64, 128, 128]);
    assert.deepEqual(shapes[0].outputShape, [48, 48, 64]);
    assert.deepEqual(shapes[20].outputShape, [3 * 3 * 512]); // flatten after four 2x2 pools: 48 -> 24 -> 12 -> 6 -> 3
  });

  it('reads initializers, training config and float32 artefacts as the user wrote them', () => {
    const c3 = imported('03-keras2-sequential-mlp-leakyrelu.json');
    assert.equal((c3.model.layers[1] as { activation: { alpha?: number } }).activation.alpha, 0.3);
    const c11 = imported('11-keras3-sequential-mlp-flatten.json');
    assert.deepEqual([c11.train.loss, c11.train.optimizer, c11.train.lr], ['cross_entropy', 'adam', 0.0005]);
    const k3 = imported('k3-functional-mlp.json');
    assert.equal(k3.model.layers[0].type === 'dense' && k3.model.layers[0].init.name, 'he_normal');
    assert.deepEqual([k3.train.loss, k3.train.clip, k3.train.lr], ['cross_entropy', 1, 0.001]);
    const cnn = imported('k3-sequential-cnn.json');
    const conv2 = cnn.model.layers[2];
    // VarianceScaling(2, fan_in, truncated_normal) written out is he_normal.
    assert.equal(conv2.type === 'conv2d' && conv2.init.name, 'he_normal');
    assert.deepEqual([cnn.train.optimizer, cnn.train.momentum, cnn.train.lr], ['momentum', 0.9, 0.01]);
    const c16 = parseConfigText(read('16-tfjs-noformat-sequential-mlp.json'), '16.json');
    assert.ok(c16.problems.some(p => p.severity === 'warning' && /Nadam/.test(p.message)), 'an optimizer we do not model is named');
  });

  it('spans point into the Keras JSON: the Dense units and activation values', () => {
    const text = read('09-tfkeras2-functional-model-mlp-pretty.json');
    const c = imported('09-tfkeras2-functional-model-mlp-pretty.json');
    const d = c.model.layers[0];
    const s = d.spans!.units;
    assert.equal(text.slice(s.start.offset, s.end.offset), '1024');
    const a = d.spans!.activation;
    assert.equal(text.slice(a.start.offset, a.end.offset), '"relu"');
    assert.equal(text.split('\n')[a.start.line].slice(a.start.character, a.end.character), '"relu"');
  });
});

describe('Keras / TF.js import: refusals name the class and its place', () => {
  const refuse = (file: string, pattern: RegExp) => {
    const text = read(file);
    const r = parseConfigText(text, path.join(DIR, file));
    assert.equal(r.config, undefined);
    const err = r.problems.find(p => p.severity === 'error');
    assert.ok(err, `${file}: no error`);
    assert.match(err.message, pattern);
    assert.ok(err.span, 'the refusal has a place');
    return { err, text, r };
  };
  it('18: a TF.js graph-model is not a layers model', () => { refuse('18-negative-tfjs-graph-model.json', /graph-model.*not a layers model/); });
  it('19: an XGBoost booster', () => { refuse('19-negative-xgboost-model.json', /XGBoost/); });
  it('20: a scikit-learn style linear model', () => { refuse('20-negative-sklearn-linear-model.json', /scikit-learn/); });
  it('04: the nested Sequential is unwrapped, the custom ClusteringLayer refused; the rest is still linted', () => {
    const { err, text, r } = refuse('04-keras2-nested-sequential-custom-layer.json', /unsupported layer ClusteringLayer/);
    assert.equal(text.slice(err.span!.start.offset, err.span!.end.offset), '"ClusteringLayer"');
    assert.ok(r.partial);
    assert.equal(r.partial.model.layers.map(notation).join(' '), 'Dense(500;relu) Dense(500;relu) Dense(2000;relu) Dense(10;linear)');
    assert.equal(countParams(inferShapes(r.partial.model.input, r.partial.model.layers).shapes).params, 1_292_510);
  });
  it('a residual Add is a multi-branch graph', () => { refuse('k3-negative-residual-add.json', /"add" \(Add\) merges 2 inputs.*multi-branch/); });
  it('Embedding/LSTM layers are named', () => { refuse('k3-negative-embedding-lstm.json', /unsupported layer Embedding "embedding"/); });
  it('a file that is a bare list of layers: a layer\'s refusal is at its class_name, line:col as in the Sequential form', () => {
    const text = '[\n  {"class_name": "Dense", "config": {"name": "d", "units": 4, "batch_input_shape": [null, 3]}},\n  {"class_name": "LSTM", "config": {"name": "l", "units": 2}}\n]\n';
    const r = importKeras(JSON.parse(text), text, 'layers.json');
    const err = r.problems.find(p => p.severity === 'error')!;
    assert.match(err.message, /^unsupported layer LSTM "l"/);
    assert.equal(formatProblem('layers.json', err).split(': ')[0], 'layers.json:3:18');
    assert.equal(text.slice(err.span!.start.offset, err.span!.end.offset), '"LSTM"');
    assert.equal(r.partial?.model.layers.map(notation).join(' '), 'Dense(4;linear)');
    // A field's problem is at that field too, not at the whole file.
    const t2 = '[{"class_name": "Dense", "config": {"units": 0, "batch_input_shape": [null, 3]}}]';
    const e2 = importKeras(JSON.parse(t2), t2, 'x.json').problems.find(p => p.severity === 'error')!;
    assert.equal(t2.slice(e2.span!.start.offset, e2.span!.end.offset), '0');
  });
  it('a file that is a bare list of layers: a problem of the whole model is at the array (line 1, col 1), not nowhere', () => {
    // The array is the model and its layer list: the places a problem of the model falls back to.
    const text = '[\n  {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [null, 3]}}\n]\n';
    const ok = importKeras(JSON.parse(text), text, 'layers.json');
    assert.ok(ok.config);
    for (const key of ['model', 'model.layers']) {
      const s: Span | undefined = ok.config!.spans[key];
      assert.ok(s, key);
      assert.deepEqual([s.start.line, s.start.character, text.slice(s.start.offset, s.end.offset)], [0, 0, text.trimEnd()], key);
    }
    // A list with nothing but an InputLayer has no layers: said at the array, also through model.keras in a config.
    const empty = '[{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3]}}]';
    const r = importKeras(JSON.parse(empty), empty, 'empty.json');
    assert.equal(r.problems.length, 1);
    assert.equal(formatProblem('empty.json', r.problems[0]), 'empty.json:1:1: the model has no layers');
    assert.equal(r.problems[0].span?.end.offset, empty.length);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-root-'));
    try {
      fs.writeFileSync(path.join(dir, 'empty.json'), empty);
      const viaConfig = parseConfigText('model:\n  keras: empty.json\n', path.join(dir, 'net.nn.yaml'));
      assert.ok(viaConfig.problems.some(p => p.message === 'empty.json:1:1: the model has no layers'), viaConfig.problems.map(p => p.message).join('; '));
    } finally { fs.rmSync(dir, { recursive: true }); }
  });
  it('a JSON that is no model at all', () => {
    const r = importKeras({ hello: 1 }, '{"hello": 1}', 'x.json');
    assert.match(r.problems[0].message, /not a Keras or TF\.js model/);
  });
});

describe('toConfigYaml', () => {
  it('writes an imported model as an editable config that parses to the same layers', () => {
    for (const f of ['06-tfkeras2-sequential-cnn-bn-no-inputlayer.json', '03-keras2-sequential-mlp-leakyrelu.json', 'k3-sequential-cnn.json', '12-keras3-sequential-mlp-selu.json']) {
      const c = imported(f);
      const yaml = toConfigYaml(c, f);
      const back = parseConfigText(yaml, 'imported.nn.yaml');
      assert.deepEqual(back.problems.filter(p => p.severity === 'error'), [], `${f}: ${back.problems.map(p => p.message).join('; ')}\n${yaml}`);
      assert.equal(back.config!.model.layers.map(notation).join(' '), c.model.layers.map(notation).join(' '));
      assert.deepEqual(back.config!.model.layers.map(l => 'init' in l ? l.init.name : ''), c.model.layers.map(l => 'init' in l ? l.init.name : ''));
      assert.deepEqual([back.config!.train.loss, back.config!.train.lr], [c.train.loss, c.train.lr]);
    }
  });
});
