/**
 * The Keras importer's layer table (CONVERTERS, ALIASES in src/config/keras.ts) against what a user reads: the
 * unsupported-layer message names the supported classes, so each class it names must convert (and each alias
 * as its class). The expected classes and layers are Keras' own defaults, written out here by hand, not read
 * from the table.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importKeras } from '../../../src/config';
import { ALIASES, CONVERTERS } from '../../../src/config/keras';
import type { LayerSpec } from '../../../src/model';

/** A one-layer Sequential model of `cls` on an input of `input` (without the batch axis). */
function oneLayer(cls: string, config: Record<string, unknown>, input: number[]) {
  const json = { class_name: 'Sequential', config: { name: 'm', layers: [{ class_name: cls, config: { name: 'l', batch_input_shape: [null, ...input], ...config } }] } };
  const text = JSON.stringify(json, null, 2);
  return { text, result: importKeras(json, text, 'm.json') };
}

/** The classes the unsupported-layer message lists, in its order ("A, B, C and D"). */
function listedClasses(): string[] {
  const { result } = oneLayer('Embedding', { input_dim: 10, output_dim: 4 }, [5]);
  const message = result.problems.find(p => p.severity === 'error')?.message ?? '';
  const m = /^unsupported layer Embedding "l": Activation Lens handles (.+)$/.exec(message);
  assert.ok(m, `the message: ${message}`);
  return m[1].split(/, | and /);
}

/**
 * A minimal layer of each supported class and what it must become, by Keras' defaults: Dense/Conv2D kernels
 * glorot_uniform, biases zeros, no activation; pools 2x2 with strides = pool_size, valid padding;
 * BatchNormalization momentum 0.99, epsilon 1e-3; LeakyReLU (layer) alpha 0.3; PReLU alpha zeros; ELU alpha 1.
 */
const MINIMAL: Record<string, { config: Record<string, unknown>; input: number[]; expect: Partial<LayerSpec> & Record<string, unknown> }> = {
  Dense: { config: { units: 3 }, input: [4], expect: { type: 'dense', units: 3, activation: { name: 'linear' }, useBias: true } },
  Conv2D: { config: { filters: 2, kernel_size: 3 }, input: [5, 5, 1], expect: { type: 'conv2d', filters: 2, kernel: [3, 3], stride: [1, 1], padding: 'valid', activation: { name: 'linear' }, useBias: true } },
  MaxPooling2D: { config: {}, input: [4, 4, 2], expect: { type: 'maxpool2d', size: [2, 2], stride: [2, 2], padding: 'valid' } },
  AveragePooling2D: { config: {}, input: [4, 4, 2], expect: { type: 'avgpool2d', size: [2, 2], stride: [2, 2], padding: 'valid' } },
  GlobalAveragePooling2D: { config: {}, input: [4, 4, 2], expect: { type: 'global_avgpool2d' } },
  Flatten: { config: {}, input: [4, 4, 2], expect: { type: 'flatten' } },
  Dropout: { config: { rate: 0.5 }, input: [4], expect: { type: 'dropout', rate: 0.5 } },
  BatchNormalization: { config: {}, input: [4], expect: { type: 'batchnorm', momentum: 0.99, epsilon: 0.001 } },
  Activation: { config: { activation: 'tanh' }, input: [4], expect: { type: 'activation', activation: { name: 'tanh' } } },
  ReLU: { config: {}, input: [4], expect: { type: 'activation', activation: { name: 'relu' } } },
  LeakyReLU: { config: {}, input: [4], expect: { type: 'activation', activation: { name: 'leaky_relu', alpha: 0.3 } } },
  PReLU: { config: {}, input: [4], expect: { type: 'activation', activation: { name: 'prelu', alpha: 0 } } },
  ELU: { config: {}, input: [4], expect: { type: 'activation', activation: { name: 'elu', alpha: 1 } } },
  Softmax: { config: {}, input: [4], expect: { type: 'activation', activation: { name: 'softmax' } } },
};

/** Other names Keras writes for the same classes, accepted before the table existed. */
const ALIAS_OF: Record<string, string> = { Convolution2D: 'Conv2D', MaxPool2D: 'MaxPooling2D', AvgPool2D: 'AveragePooling2D', GlobalAvgPool2D: 'GlobalAveragePooling2D' };

function converted(cls: string): LayerSpec {
  const { config, input } = MINIMAL[cls];
  const { result } = oneLayer(cls, config, input);
  assert.deepEqual(result.problems.filter(p => p.severity === 'error'), [], cls);
  assert.ok(result.config, cls);
  assert.deepEqual(result.config.model.input, input, cls);
  assert.equal(result.config.model.layers.length, 1, cls);
  return result.config.model.layers[0];
}

describe('Keras importer: the layer table and the unsupported-layer message', () => {
  it('every class the message names converts: a minimal layer of each becomes what Keras\' defaults say', () => {
    assert.deepEqual(listedClasses(), Object.keys(MINIMAL), 'the message names these classes (add a minimal layer here for a new one)');
    for (const cls of listedClasses()) {
      const layer = converted(cls) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(MINIMAL[cls].expect)) assert.deepEqual(layer[k], v, `${cls}.${k}`);
      if (layer.type === 'dense' || layer.type === 'conv2d') {
        assert.deepEqual([(layer.init as { name: string }).name, (layer.biasInit as { kind: string }).kind], ['glorot_uniform', 'zeros'], cls);
      }
    }
  });

  it('the message names no alias: an alias is another spelling of a class it names', () => {
    for (const [alias, cls] of Object.entries(ALIAS_OF)) {
      assert.ok(!listedClasses().includes(alias), alias);
      assert.ok(listedClasses().includes(cls), cls);
    }
  });

  it('each alias converts as the class it names, and the importer accepts no other alias', () => {
    // ALIAS_OF is written by hand: an alias added to the importer by mistake (a wrong spelling of a class) fails here.
    assert.deepEqual({ ...ALIASES }, ALIAS_OF);
    for (const [alias, cls] of Object.entries(ALIAS_OF)) {
      const { config, input } = MINIMAL[cls];
      const { result } = oneLayer(alias, config, input);
      assert.ok(result.config, `${alias}: ${result.problems.map(p => p.message).join('; ')}`);
      // Spans differ by the longer class name only.
      const { spans: _s, span: _p, ...got } = result.config.model.layers[0];
      const { spans: _t, span: _q, ...want } = converted(cls);
      assert.deepEqual(got, want, alias);
    }
  });

  it('the exported tables cannot be changed at run time: a class added there would convert unlisted', () => {
    const converters = CONVERTERS as Record<string, unknown>, aliases = ALIASES as Record<string, string>;
    try {
      assert.throws(() => { converters.LSTM = CONVERTERS.Dense; }, TypeError);
      assert.throws(() => { aliases.LSTM = 'Dense'; }, TypeError);
      assert.throws(() => { delete aliases.MaxPool2D; }, TypeError);
      assert.match(oneLayer('LSTM', { units: 2 }, [4]).result.problems[0].message, /^unsupported layer LSTM/);
      assert.ok(oneLayer('MaxPool2D', {}, [4, 4, 1]).result.config);
    } finally {
      // Unfrozen (the bug this guards), the writes above went through: undo them for the other tests.
      if (!Object.isFrozen(converters)) delete converters.LSTM;
      if (!Object.isFrozen(aliases)) { delete aliases.LSTM; aliases.MaxPool2D = 'MaxPooling2D'; }
    }
  });

  it('a class_name that is an Object.prototype key is an unsupported layer, at its class_name', () => {
    for (const cls of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const { text, result } = oneLayer(cls, {}, [4]);
      assert.equal(result.config, undefined, cls);
      const err = result.problems.find(p => p.severity === 'error');
      assert.match(err?.message ?? '', new RegExp(`^unsupported layer ${cls} "l": Activation Lens handles Dense, `), cls);
      assert.equal(text.slice(err!.span!.start.offset, err!.span!.end.offset), `"${cls}"`, cls);
    }
  });

  it('docs/config.md names the same layers (InputLayer, the table\'s classes) and the aliases', () => {
    const doc = fs.readFileSync(path.join(__dirname, '../../../docs/config.md'), 'utf8').replace(/\s+/g, ' ');
    const m = /Layers understood: ([^(]+) \(also written ([^)]+)\)/.exec(doc);
    assert.ok(m, 'docs/config.md: "Layers understood: ... (also written ...)"');
    assert.deepEqual(m[1].split(', '), ['InputLayer', ...Object.keys(CONVERTERS)]);
    assert.deepEqual(m[2].split(', '), Object.keys(ALIASES));
  });
});

/** The one layer `cls` with `config` becomes, with no error. */
function layerOf(cls: string, config: Record<string, unknown>, input: number[]): Record<string, unknown> & LayerSpec {
  const { result } = oneLayer(cls, config, input);
  assert.deepEqual(result.problems.filter(p => p.severity === 'error').map(p => p.message), [], `${cls} ${JSON.stringify(config)}`);
  assert.ok(result.config);
  return result.config.model.layers[0] as Record<string, unknown> & LayerSpec;
}

/** The first error of a one-layer model, and the text of the file at its span. */
function refusal(cls: string, config: Record<string, unknown>, input: number[]): { message: string; at: string } {
  const { text, result } = oneLayer(cls, config, input);
  assert.equal(result.config, undefined, `${cls} ${JSON.stringify(config)} was accepted`);
  const err = result.problems.find(p => p.severity === 'error');
  assert.ok(err?.span, `${cls}: an error with a place`);
  return { message: err.message, at: text.slice(err.span.start.offset, err.span.end.offset) };
}

/**
 * Options each converter reads beyond the minimal layer, Keras 1 spellings included. The expected values are
 * Keras' documented semantics written out by hand (keras.io layer reference; Keras 1.2 for the old keys).
 */
describe('Keras importer: per-layer options and Keras 1 keys', () => {
  it('pool strides default to pool_size (not to 2): pool_size 3 without strides strides by 3', () => {
    for (const cls of ['MaxPooling2D', 'AveragePooling2D']) {
      const l = layerOf(cls, { pool_size: 3 }, [9, 9, 1]);
      assert.deepEqual([l.size, l.stride], [[3, 3], [3, 3]], cls);
      // Explicit strides still win over the default.
      assert.deepEqual(layerOf(cls, { pool_size: 3, strides: 1 }, [9, 9, 1]).stride, [1, 1], cls);
    }
  });

  it('Keras 1: Dense output_dim is units; Conv2D subsample is strides, border_mode is padding; Dropout p is rate', () => {
    assert.equal(layerOf('Dense', { output_dim: 7 }, [4]).units, 7);
    const conv = layerOf('Convolution2D', { filters: 2, kernel_size: 3, subsample: [2, 1], border_mode: 'same' }, [5, 5, 1]);
    assert.deepEqual([conv.stride, conv.padding], [[2, 1], 'same']);
    assert.equal(layerOf('Dropout', { p: 0.3 }, [4]).rate, 0.3);
  });

  it('ReLU: max_value 6 is relu6, negative_slope a leaky relu of that slope, both absent or 0 a plain relu', () => {
    const act = (config: Record<string, unknown>) => layerOf('ReLU', config, [4]).activation;
    assert.deepEqual(act({ max_value: 6 }), { name: 'relu6' });
    assert.deepEqual(act({ max_value: 6, negative_slope: 0 }), { name: 'relu6' });
    assert.deepEqual(act({ negative_slope: 0.1 }), { name: 'leaky_relu', alpha: 0.1 });
    assert.deepEqual(act({ max_value: null, negative_slope: 0, threshold: 0 }), { name: 'relu' });
    assert.deepEqual(refusal('ReLU', { max_value: 4 }, [4]), { message: 'ReLU "l" with max_value 4 is not supported (only the number 6, as relu6)', at: '4' });
    assert.deepEqual(refusal('ReLU', { threshold: 0.5 }, [4]), { message: 'ReLU "l" with threshold 0.5 is not supported', at: '0.5' });
  });

  it('ReLU: a threshold or max_value written as a string is refused at its value, not ignored or read as the number', () => {
    assert.deepEqual(refusal('ReLU', { threshold: '0.5' }, [4]), { message: 'ReLU "l" has an invalid threshold "0.5" (a number)', at: '"0.5"' });
    assert.deepEqual(refusal('ReLU', { max_value: '6' }, [4]), { message: 'ReLU "l" with max_value "6" is not supported (only the number 6, as relu6)', at: '"6"' });
  });

  it('ReLU: a negative_slope with max_value 6 is refused as that combination, at the negative_slope', () => {
    assert.deepEqual(refusal('ReLU', { max_value: 6, negative_slope: 0.1 }, [4]),
      { message: 'ReLU "l" with max_value 6 and negative_slope 0.1 is not supported (max_value 6 only without negative_slope, as relu6)', at: '0.1' });
  });

  it('ReLU: a negative or non-numeric negative_slope is refused at its value (Keras refuses it too), not read as 0', () => {
    for (const slope of [-0.1, 'x', true]) {
      assert.deepEqual(refusal('ReLU', { negative_slope: slope }, [4]), { message: `ReLU "l" has an invalid negative_slope ${JSON.stringify(slope)} (a number >= 0)`, at: JSON.stringify(slope) }, String(slope));
      assert.match(refusal('ReLU', { max_value: 6, negative_slope: slope }, [4]).message, /invalid negative_slope/, String(slope));
    }
  });

  it('ELU alpha and PReLU\'s Constant alpha_initializer value are the activation\'s alpha', () => {
    assert.deepEqual(layerOf('ELU', { alpha: 0.5 }, [4]).activation, { name: 'elu', alpha: 0.5 });
    assert.deepEqual(layerOf('PReLU', { alpha_initializer: { class_name: 'Constant', config: { value: 0.25 } } }, [4]).activation, { name: 'prelu', alpha: 0.25 });
  });

  it('ELU: a non-numeric alpha is refused at its value, not read as the default 1', () => {
    for (const alpha of ['x', true, [1], { value: 1 }, null]) {
      const r = refusal('ELU', { alpha }, [4]);
      assert.equal(r.message, 'ELU "l" has an invalid alpha', JSON.stringify(alpha));
      assert.deepEqual(JSON.parse(r.at), alpha, 'at the alpha value');
    }
    // JSON has no Infinity, but importKeras also takes an object built in code.
    const json = { class_name: 'Sequential', config: [{ class_name: 'ELU', config: { name: 'l', alpha: Infinity, batch_input_shape: [null, 4] } }] };
    const r = importKeras(json, JSON.stringify(json), 'm.json');
    assert.equal(r.config, undefined);
    assert.equal(r.problems[0].message, 'ELU "l" has an invalid alpha');
  });

  it('LeakyReLU: a non-numeric alpha or negative_slope is refused at the key it was written under', () => {
    assert.deepEqual(refusal('LeakyReLU', { alpha: 'x' }, [4]), { message: 'LeakyReLU "l" has an invalid alpha', at: '"x"' });
    assert.deepEqual(refusal('LeakyReLU', { negative_slope: 'x' }, [4]), { message: 'LeakyReLU "l" has an invalid negative_slope', at: '"x"' });
    // A null is no slope (Keras refuses None), and it is the written key's: not a fall-through to the other key.
    assert.deepEqual(refusal('LeakyReLU', { negative_slope: null }, [4]), { message: 'LeakyReLU "l" has an invalid negative_slope', at: 'null' });
    assert.deepEqual(refusal('LeakyReLU', { alpha: null }, [4]), { message: 'LeakyReLU "l" has an invalid alpha', at: 'null' });
    assert.deepEqual(refusal('LeakyReLU', { alpha: 'x', negative_slope: null }, [4]), { message: 'LeakyReLU "l" has an invalid negative_slope', at: 'null' });
  });

  it('the identity initializer fills a Dense kernel but is refused on a Conv2D kernel, at the initializer', () => {
    const identity = { class_name: 'Identity', config: { gain: 1 } };
    assert.equal((layerOf('Dense', { units: 3, kernel_initializer: identity }, [3]).init as { kind: string }).kind, 'identity');
    const r = refusal('Conv2D', { filters: 2, kernel_size: 3, kernel_initializer: identity }, [5, 5, 1]);
    assert.match(r.message, /^the identity initializer makes 2D matrices only .* this kernel has 4 dimensions \(Conv2D "l"\)$/);
    assert.equal(JSON.parse(r.at).class_name, 'Identity');
  });

  it('GlobalAveragePooling2D: keepdims true is refused at the value, keepdims false converts', () => {
    assert.deepEqual(refusal('GlobalAveragePooling2D', { keepdims: true }, [4, 4, 2]), { message: 'GlobalAveragePooling2D "l" with keepdims is not supported', at: 'true' });
    assert.equal(layerOf('GlobalAveragePooling2D', { keepdims: false }, [4, 4, 2]).type, 'global_avgpool2d');
  });

  it('an activation\'s place: an Activation layer\'s is its "activation" value, ReLU/ELU/Softmax\'s their class_name', () => {
    const spanText = (cls: string, config: Record<string, unknown>) => {
      const { text, result } = oneLayer(cls, config, [4]);
      const s = result.config!.model.layers[0].spans!.activation;
      return text.slice(s.start.offset, s.end.offset);
    };
    assert.equal(spanText('Activation', { activation: 'tanh' }), '"tanh"');
    for (const cls of ['ReLU', 'ELU', 'Softmax', 'PReLU']) assert.equal(spanText(cls, {}), `"${cls}"`, cls);
  });
});

/** The first error of a model written as `text` (JSON.parse: "1e999" is Infinity, "__proto__" an own key), and the text at its span. */
function refusalOfText(text: string): { message: string; at: string; layer?: string } {
  const result = importKeras(JSON.parse(text), text, 'm.json');
  assert.equal(result.config, undefined, `${text} was accepted`);
  const err = result.problems.find(p => p.severity === 'error');
  assert.ok(err?.span, 'an error with a place');
  return { message: err.message, at: text.slice(err.span.start.offset, err.span.end.offset), layer: err.layer };
}
/** A one-layer Sequential as text, its config written as JSON text (so that it may hold what JSON.stringify cannot). */
const layerText = (cls: string, configText: string, input: number[]) =>
  `{"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "${cls}", "config": {"name": "l", "batch_input_shape": [null, ${input.join(', ')}], ${configText}}}]}}`;

describe('Keras importer: values never read as a default (review fixes)', () => {
  it('PReLU: Zeros, Ones and Constant(value) alpha_initializers are that alpha, in every Keras spelling', () => {
    const alpha = (ai: unknown) => (layerOf('PReLU', { alpha_initializer: ai }, [4]).activation as { alpha?: number }).alpha;
    assert.equal(alpha({ class_name: 'Zeros', config: {} }), 0);
    assert.equal(alpha('zeros'), 0);
    assert.equal(alpha({ class_name: 'Ones', config: {} }), 1);
    assert.equal(alpha({ module: 'keras.initializers', class_name: 'Constant', config: { value: 0.1 }, registered_name: null }), 0.1);
    assert.equal(alpha({ class_name: 'Constant', config: { value: -0.5 } }), -0.5);
    assert.ok(Object.is(alpha({ class_name: 'Constant', config: { value: -0 } }), 0), '-0 is the alpha 0');
    assert.equal(alpha({ class_name: 'Constant', config: {} }), 0, 'Keras\' Constant() is 0');
  });

  it('PReLU: a random or unknown alpha_initializer is refused at the initializer, naming the layer (it was read as alpha 0)', () => {
    for (const cls of ['RandomNormal', 'GlorotUniform', 'Orthogonal']) {
      const ai = { class_name: cls, config: {} };
      const r = refusal('PReLU', { alpha_initializer: ai }, [4]);
      assert.equal(r.message, `PReLU "l" with alpha_initializer ${cls} is not supported: only Zeros, Ones or Constant (every alpha starts at one value)`, cls);
      assert.deepEqual(JSON.parse(r.at), ai, cls);
    }
    const unknown = refusal('PReLU', { alpha_initializer: { class_name: 'MyInit', config: {} } }, [4]);
    assert.equal(unknown.message, 'unsupported initializer MyInit in layer "l"');
    assert.equal(JSON.parse(unknown.at).class_name, 'MyInit');
    for (const bad of [5, ['zeros'], true]) assert.match(refusal('PReLU', { alpha_initializer: bad }, [4]).message, /^unsupported initializer .* in layer "l"$/, JSON.stringify(bad));
  });

  it('PReLU: a Constant value that is no finite number is refused at the value ("1e999", "0.5", null, [0.1]); a __proto__ key is no value', () => {
    for (const v of ['1e999', '"0.5"', 'null', '[0.1]', '[[0.1]]', '{"value": 1}']) {
      const r = refusalOfText(layerText('PReLU', `"alpha_initializer": {"class_name": "Constant", "config": {"value": ${v}}}`, [4]));
      assert.match(r.message, /^initializer Constant of layer "l" has an invalid value .*: expected a number$/, v);
      assert.equal(r.at, v, v);
      assert.equal(r.layer, 'l');
    }
    const text = layerText('PReLU', '"__proto__": {"alpha_initializer": "ones"}, "alpha_initializer": {"class_name": "Constant", "config": {"__proto__": {"value": 5}}}', [4]);
    const r = importKeras(JSON.parse(text), text, 'm.json');
    assert.deepEqual((r.config!.model.layers[0] as { activation: unknown }).activation, { name: 'prelu', alpha: 0 });
  });

  it('PReLU: one alpha per channel (shared_axes over all but the last axis); Keras\' default of one alpha per value is refused', () => {
    assert.equal(layerOf('PReLU', { shared_axes: [1, 2] }, [4, 4, 2]).type, 'activation');
    assert.equal(layerOf('PReLU', { shared_axes: [2, 1] }, [4, 4, 2]).type, 'activation');
    assert.equal(layerOf('PReLU', { shared_axes: 1 }, [5, 3]).type, 'activation');
    assert.equal(layerOf('PReLU', { shared_axes: null }, [4]).type, 'activation');
    const msg = (shared: string, shape: string, want: string) => `PReLU "l" with shared_axes ${shared} on an input of shape ${shape} is not supported: only one alpha per channel (shared_axes ${want})`;
    assert.deepEqual(refusal('PReLU', {}, [4, 4, 2]), { message: msg('null', '[4, 4, 2]', '[1,2]'), at: '"PReLU"' });
    assert.deepEqual(refusal('PReLU', { shared_axes: [1] }, [4, 4, 2]), { message: msg('[1]', '[4, 4, 2]', '[1,2]'), at: '[\n            1\n          ]' });
    assert.deepEqual(refusal('PReLU', { shared_axes: [1, 2, 3] }, [4, 4, 2]).message, msg('[1,2,3]', '[4, 4, 2]', '[1,2]'));
    assert.deepEqual(refusal('PReLU', { shared_axes: ['1', '2'] }, [4, 4, 2]).message, msg('["1","2"]', '[4, 4, 2]', '[1,2]'));
    assert.deepEqual(refusal('PReLU', { shared_axes: [1] }, [4]).message, msg('[1]', '[4]', '[]'));
  });

  it('BatchNormalization: a momentum or epsilon that is no number, or out of range, is refused at its value (it was read as the default)', () => {
    const cases: [string, string, string][] = [
      ['momentum', '"0.9"', '[0, 1)'], ['momentum', 'null', '[0, 1)'], ['momentum', '[0.9]', '[0, 1)'], ['momentum', '[[0.9]]', '[0, 1)'],
      ['momentum', 'true', '[0, 1)'], ['momentum', '{}', '[0, 1)'], ['momentum', '1', '[0, 1)'], ['momentum', '-0.1', '[0, 1)'],
      ['momentum', '1e999', '[0, 1)'], ['momentum', '-1e999', '[0, 1)'], ['momentum', '1e308', '[0, 1)'],
      ['epsilon', '"1e-3"', '(0, 1]'], ['epsilon', 'null', '(0, 1]'], ['epsilon', '0', '(0, 1]'], ['epsilon', '-0', '(0, 1]'], ['epsilon', '-1e-3', '(0, 1]'],
      ['epsilon', '1e999', '(0, 1]'], ['epsilon', '2', '(0, 1]'], ['epsilon', '1e-50', '(0, 1]'], ['epsilon', '[0.001]', '(0, 1]'],
    ];
    for (const [key, v, range] of cases) {
      const r = refusalOfText(layerText('BatchNormalization', `"${key}": ${v}`, [4]));
      assert.equal(r.at, v, `${key} ${v}`);
      assert.equal(r.layer, 'l');
      assert.match(r.message, new RegExp(`^BatchNormalization "l" has an invalid ${key} .*: expected a number in ${range.replace(/[[\]()]/g, '\\$&')}$`), `${key} ${v}`);
    }
    // The values Keras writes are read as written (float32 written as float64 shortened), -0 as 0.
    const bn = layerOf('BatchNormalization', { momentum: 0.8999999761581421, epsilon: 1.0000000474974513e-3 }, [4]);
    assert.deepEqual([bn.momentum, bn.epsilon], [0.9, 0.001]);
    assert.deepEqual((({ momentum, epsilon }) => [momentum, epsilon])(layerOf('BatchNormalization', { momentum: 0, epsilon: 1 }, [4])), [0, 1]);
  });

  it('Keras 1 keys: a problem is at the key the file wrote (output_dim, subsample, border_mode, p), not at the whole config', () => {
    assert.deepEqual(refusal('Dense', { output_dim: 0 }, [4]), { message: 'Dense layer "l" has no valid "output_dim"', at: '0' });
    assert.deepEqual(refusal('Dense', { output_dim: '8' }, [4]), { message: 'Dense layer "l" has no valid "output_dim"', at: '"8"' });
    assert.deepEqual(refusal('Convolution2D', { filters: 2, kernel_size: 3, subsample: [0, 1] }, [5, 5, 1]).message, 'Conv2D layer "l" has invalid "subsample"');
    assert.match(refusal('Convolution2D', { filters: 2, kernel_size: 3, subsample: [0, 1] }, [5, 5, 1]).at, /^\[\s*0,\s*1\s*\]$/);
    assert.deepEqual(refusal('Convolution2D', { filters: 2, kernel_size: 3, border_mode: 'full' }, [5, 5, 1]), { message: 'border_mode "full" of "l" is not supported (same or valid)', at: '"full"' });
    assert.deepEqual(refusal('Dropout', { p: 1.5 }, [4]), { message: 'Dropout "l" needs a p in [0, 1)', at: '1.5' });
    // Keras 1 pooling wrote border_mode too: read, not silently valid.
    assert.equal(layerOf('MaxPooling2D', { border_mode: 'same' }, [5, 5, 1]).padding, 'same');
    assert.deepEqual(refusal('MaxPooling2D', { border_mode: 'full' }, [5, 5, 1]), { message: 'border_mode "full" of "l" is not supported (same or valid)', at: '"full"' });
    // The Keras 2 key still wins when both are written, and its problem is at it.
    assert.deepEqual(refusal('Dense', { units: -1, output_dim: 3 }, [4]), { message: 'Dense layer "l" has no valid "units"', at: '-1' });
    // A hover's place is the key read, too.
    const { text, result } = oneLayer('Dense', { output_dim: 3 }, [4]);
    const s = result.config!.model.layers[0].spans!.units;
    assert.equal(text.slice(s.start.offset, s.end.offset), '3');
  });

  it('Keras 1 layers: init, bias, nb_filter, nb_row/nb_col are read (init and bias were ignored); dim_ordering "th" and BatchNormalization mode 1/2 refused', () => {
    const d = layerOf('Dense', { output_dim: 3, init: 'he_normal', bias: false }, [4]);
    assert.deepEqual([d.units, (d.init as { name: string }).name, d.useBias], [3, 'he_normal', false]);
    const conv = layerOf('Convolution2D', { nb_filter: 4, nb_row: 3, nb_col: 2, init: 'lecun_uniform', border_mode: 'same', subsample: [1, 1], dim_ordering: 'tf', bias: true }, [6, 6, 1]);
    assert.deepEqual([conv.filters, conv.kernel, conv.padding, (conv.init as { name: string }).name, conv.useBias], [4, [3, 2], 'same', 'lecun_uniform', true]);
    assert.deepEqual(refusal('Dense', { output_dim: 3, init: 'uniform' }, [4]), { message: 'unsupported initializer uniform in layer "l"', at: '"uniform"' });
    assert.deepEqual(refusal('Dense', { output_dim: 3, bias: 'no' }, [4]), { message: 'Dense "l" has an invalid bias "no": expected true or false', at: '"no"' });
    assert.deepEqual(refusal('Dense', { units: 3, use_bias: 0 }, [4]), { message: 'Dense "l" has an invalid use_bias 0: expected true or false', at: '0' });
    assert.deepEqual(refusal('Convolution2D', { nb_filter: 0, nb_row: 3, nb_col: 3 }, [6, 6, 1]), { message: 'Conv2D layer "l" has no valid "nb_filter"', at: '0' });
    assert.deepEqual(refusal('Convolution2D', { nb_filter: 2, nb_row: 3, nb_col: 1.5 }, [6, 6, 1]), { message: 'Conv2D layer "l" has no valid "nb_col"', at: '1.5' });
    assert.deepEqual(refusal('Convolution2D', { nb_filter: 2, nb_row: null, nb_col: 3 }, [6, 6, 1]), { message: 'Conv2D layer "l" has no valid "nb_row"', at: 'null' });
    for (const cls of ['Convolution2D', 'MaxPooling2D', 'AveragePooling2D']) {
      assert.deepEqual(refusal(cls, { nb_filter: 2, nb_row: 3, nb_col: 3, dim_ordering: 'th' }, [6, 6, 1]), { message: '"l" uses dim_ordering "th": only channels last ("tf") is supported', at: '"th"' }, cls);
    }
    assert.deepEqual(refusal('BatchNormalization', { mode: 2 }, [4]), { message: 'BatchNormalization "l" with Keras 1 mode 2 is not supported (only mode 0, Keras 2\'s)', at: '2' });
    assert.equal(layerOf('BatchNormalization', { mode: 0 }, [4]).type, 'batchnorm');
    assert.deepEqual(layerOf('PReLU', { init: 'one' }, [4]).activation, { name: 'prelu', alpha: 1 });
    assert.deepEqual(refusal('PReLU', { init: 'normal' }, [4]), { message: 'unsupported initializer normal in layer "l"', at: '"normal"' });
  });

  it('an initializer parameter that is no number is refused at it (a RandomNormal stddev "0.1" was read as 0.05)', () => {
    const r = refusal('Dense', { units: 2, kernel_initializer: { class_name: 'RandomNormal', config: { mean: 0, stddev: '0.1', seed: null } } }, [4]);
    assert.deepEqual(r, { message: 'initializer RandomNormal of layer "l" has an invalid stddev "0.1": expected a number', at: '"0.1"' });
    assert.equal((layerOf('Dense', { units: 2, kernel_initializer: { class_name: 'RandomNormal', config: { mean: 0, stddev: 0.1, seed: null } } }, [4]).init as { stddev: number }).stddev, 0.1);
    // A VarianceScaling mode or distribution it does not know was fan_in / truncated_normal.
    const vs = (config: Record<string, unknown>) => ({ class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_in', distribution: 'uniform', seed: null, ...config } });
    assert.deepEqual(refusal('Dense', { units: 2, kernel_initializer: vs({ mode: 'fan_sum' }) }, [4]), { message: 'initializer VarianceScaling of layer "l" has an unknown mode "fan_sum": expected fan_in, fan_out, fan_avg', at: '"fan_sum"' });
    assert.deepEqual(refusal('Dense', { units: 2, kernel_initializer: vs({ distribution: null }) }, [4]), { message: 'initializer VarianceScaling of layer "l" has an unknown distribution null: expected normal, truncated_normal, untruncated_normal, uniform', at: 'null' });
    assert.equal((layerOf('Dense', { units: 2, kernel_initializer: vs({ mode: 'fan_out', distribution: 'untruncated_normal' }) }, [4]).init as { mode: string }).mode, 'fan_out');
  });
});
