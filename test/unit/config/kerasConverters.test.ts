/**
 * The Keras importer's layer table (CONVERTERS, ALIASES in src/config/keras.ts) against what a user reads: the
 * unsupported-layer message names the supported classes, so each class it names must convert, and the list
 * must be the table's. The expected layers are Keras' own defaults, written out here by hand.
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

  it('the message lists exactly the table\'s classes, in its order, and no alias', () => {
    assert.deepEqual(listedClasses(), Object.keys(CONVERTERS));
    for (const alias of Object.keys(ALIASES)) assert.ok(!listedClasses().includes(alias), alias);
  });

  it('each alias converts as the class it names', () => {
    assert.deepEqual(ALIASES, ALIAS_OF);
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
