/**
 * Suggestion edits of a Keras / TF.js model JSON (the model file itself, or the one a config imports with
 * `model.keras:`). Every edit is judged by importing the edited text again: the targets must now have the intended
 * activation / initializer and every other layer and field must import as before; else no edit, with the reason.
 * Cases from the review of helper 14 (/tmp/rev-edits14 c.ts d.ts e.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { applyEdits, kerasReimportProblem, suggestionEdits } from '../../../src/edits/suggestionEdits';
import type { LayerSpec, NetworkConfig } from '../../../src/model';

type Change = Parameters<typeof suggestionEdits>[4];
const FIX = path.join(__dirname, '../../fixtures/keras');
const fixture = (f: string) => fs.readFileSync(path.join(FIX, f), 'utf8');

function imported(text: string, file = 'model.json'): NetworkConfig {
  const { config, problems } = parseConfigText(text, file);
  assert.ok(config, JSON.stringify(problems.filter(p => p.severity === 'error')));
  return config;
}
function edit(text: string, layers: number[], change: Change, file = 'model.json') {
  return suggestionEdits(text, file, imported(text, file), layers, change);
}
/** A layer as the importer sees it, where it is written left out. */
function plain(l: LayerSpec): Record<string, unknown> {
  const { span: _s, spans: _ss, ...rest } = l as LayerSpec & { spans?: unknown };
  return JSON.parse(JSON.stringify(rest));
}
const nameOf = (v: unknown) => (v && typeof v === 'object' && 'name' in v ? (v as { name: string }).name : v);

/** Applies the fix and checks, independently of the fix's own net, that only the intended values changed. */
function appliedExactly(text: string, layers: number[], change: Change, file = 'model.json'): string {
  const r = edit(text, layers, change, file);
  assert.ok('edits' in r, 'error' in r ? r.error : '');
  const out = applyEdits(text, r.edits);
  const a = imported(text, file), b = imported(out, file);
  assert.equal(b.model.layers.length, a.model.layers.length);
  for (let i = 0; i < a.model.layers.length; i++) {
    const was = plain(a.model.layers[i]), now = plain(b.model.layers[i]);
    if (layers.includes(i)) {
      if (change.activation && 'activation' in was) { assert.equal(nameOf(now.activation), change.activation, `activation of layer ${i}`); was.activation = now.activation; }
      if (change.init && 'init' in was) { assert.equal(nameOf(now.init), change.init, `init of layer ${i}`); was.init = now.init; }
    }
    assert.deepEqual(now, was, `layer ${i} (${a.model.layers[i].name}) otherwise unchanged`);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(b.train)), JSON.parse(JSON.stringify(a.train)));
  assert.deepEqual(b.model.input, a.model.input);
  return out;
}
function refused(text: string, layers: number[], change: Change, reason: RegExp, file = 'model.json') {
  const r = edit(text, layers, change, file);
  assert.ok('error' in r, `expected no edit, got ${JSON.stringify('edits' in r ? r.edits : r)}`);
  assert.match(r.error, reason);
}

const seq = (layers: unknown[], version = '2.2.4') => JSON.stringify({ class_name: 'Sequential', keras_version: version, config: { name: 's', layers } }, null, 1);
const glorot = { class_name: 'GlorotUniform', config: {} };

describe('suggestion edits of a Keras model JSON', () => {
  describe('an activation layer (its class is its activation)', () => {
    it('LeakyReLU layers of a Keras 2 MLP: no edit, the reason names the class (review finding 1)', () => {
      refused(fixture('03-keras2-sequential-mlp-leakyrelu.json'), [1, 4, 7, 10], { activation: 'elu', init: 'he_normal' }, /^layer leaky_re_lu_1 is a LeakyReLU layer, which always applies its own function: there is no activation setting to change\. To use elu there, replace the layer in the file by \{"class_name": "Activation", "config": \{"name": "leaky_re_lu_1", "activation": "elu"\}\}\. Nothing was changed in the other 3 layers either/);
    });
    it('says "an ELU layer" (the article follows the class name)', () => {
      const text = seq([
        { class_name: 'Dense', config: { name: 'd1', units: 8, activation: 'linear', batch_input_shape: [null, 2], kernel_initializer: glorot } },
        { class_name: 'ELU', config: { name: 'e1', alpha: 1.0 } },
        { class_name: 'Dense', config: { name: 'd2', units: 3, activation: 'softmax', kernel_initializer: glorot } }]);
      refused(text, [1], { activation: 'relu' }, /^layer e1 is an ELU layer, which always applies its own function/);
    });
    it('a ReLU layer of a Keras 3 CNN and a LeakyReLU of a Keras 3 functional MLP: no edit', () => {
      refused(fixture('k3-sequential-cnn.json'), [0, 4], { activation: 'elu', init: 'he_normal' }, /re_lu is a ReLU layer/);
      refused(fixture('k3-functional-mlp.json'), [3], { activation: 'elu' }, /leaky_re_lu is a LeakyReLU layer/);
    });
    it('an Activation layer (config.activation) is edited, and imports with the new activation only', () => {
      const text = seq([
        { class_name: 'Dense', config: { name: 'd1', units: 8, activation: 'linear', batch_input_shape: [null, 2], kernel_initializer: glorot } },
        { class_name: 'Activation', config: { name: 'a1', activation: 'sigmoid' } },
        { class_name: 'Dense', config: { name: 'd2', units: 3, activation: 'softmax', kernel_initializer: glorot } }]);
      const out = appliedExactly(text, [1], { activation: 'tanh', init: 'he_normal' });
      assert.equal(JSON.parse(out).config.layers[1].config.activation, 'tanh');
    });
  });

  describe('a suggestion aimed (partly) at an activation layer', () => {
    const text = fixture('03-keras2-sequential-mlp-leakyrelu.json');
    it('an initializer for a LeakyReLU layer only: no edit, and says so instead of reporting success', () => {
      refused(text, [1], { init: 'he_normal' }, /^layer leaky_re_lu_1 has no weights, so there is no initializer to set: apply the initializer to the Dense or Conv2D layer before it$/);
      refused(text, [1, 4], { init: 'he_normal' }, /^layers leaky_re_lu_1, leaky_re_lu_2 have no weights/);
    });
    it('an initializer for Dense + LeakyReLU layers: set on the Dense layers, the LeakyReLU layers have none', () => {
      const out = appliedExactly(text, [0, 1, 3, 4], { init: 'he_normal' });
      assert.equal(JSON.parse(out).config[3].config.kernel_initializer.class_name, 'VarianceScaling');
    });
    it('an activation for Dense + LeakyReLU layers: refused as a whole, saying why the Dense layers stay too', () => {
      refused(text, [0, 1], { activation: 'elu', init: 'he_normal' }, /leaky_re_lu_1 .*Nothing was changed in the other layer either, since the network would not be the suggested one/);
    });
  });

  describe('an initializer the target already has (review: its seed was lost)', () => {
    const seeded = { class_name: 'VarianceScaling', config: { scale: 2.0, mode: 'fan_in', distribution: 'normal', seed: 42 } };
    const text = seq([
      { class_name: 'Dense', config: { name: 'd1', units: 8, activation: 'sigmoid', batch_input_shape: [null, 2], kernel_initializer: seeded } },
      { class_name: 'Dense', config: { name: 'd2', units: 3, activation: 'softmax', kernel_initializer: glorot } }]);
    it('is left exactly as written, seed and all, while the activation changes', () => {
      const out = appliedExactly(text, [0], { activation: 'elu', init: 'he_normal' });
      assert.deepEqual(JSON.parse(out).config.layers[0].config.kernel_initializer, seeded);
      assert.equal(out, text.replace('"activation": "sigmoid"', '"activation": "elu"'));
    });
    it('an initializer-only fix with nothing to change says so', () => {
      refused(text, [0], { init: 'he_normal' }, /^layer d1 already has the initializer he_normal: nothing to change$/);
    });
    it('a TF.js model.json whose Dense layers have GlorotUniform: glorot_uniform changes nothing', () => {
      refused(fixture('15-tfjs-keras2-sequential-mlp-tanh.json'), [0, 1], { init: 'glorot_uniform' }, /already have the initializer glorot_uniform/);
    });
  });

  it('the Dense layers of the LeakyReLU fixture: activation and initializer change, nothing else', () => {
    const out = appliedExactly(fixture('03-keras2-sequential-mlp-leakyrelu.json'), [0, 3], { activation: 'elu', init: 'he_normal' });
    const l = JSON.parse(out).config;
    assert.equal(l[0].config.activation, 'elu');
    // Keras 2.0.8 has no HeNormal class (he_normal is a function): the VarianceScaling it serializes he_normal as.
    assert.deepEqual(l[0].config.kernel_initializer, { class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_in', distribution: 'normal', seed: null } });
  });

  it('a Keras 3 Conv2D: the initializer object is replaced in place', () => {
    const out = appliedExactly(fixture('k3-sequential-cnn.json'), [0], { activation: 'elu', init: 'glorot_normal' });
    const conv = JSON.parse(out).config.layers[1].config;
    assert.equal(conv.activation, 'elu');
    assert.equal(conv.kernel_initializer.class_name, 'GlorotNormal');
  });

  it('a Dense with no kernel_initializer: the key is added inside its config, the rest of the layer stays (finding 2)', () => {
    const text = seq([
      { class_name: 'Dense', config: { name: 'd1', units: 8, activation: 'sigmoid', batch_input_shape: [null, 2], kernel_initializer: glorot } },
      { class_name: 'Dense', config: { name: 'd2', units: 3, activation: 'softmax', use_bias: true } }]);
    const out = appliedExactly(text, [1], { init: 'lecun_normal' });
    assert.deepEqual(JSON.parse(out).config.layers[1].config, { kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_in', distribution: 'normal', seed: null } }, name: 'd2', units: 3, activation: 'softmax', use_bias: true });
  });

  it('a Dense with no activation: "activation" is added inside its config, not next to class_name (finding 3)', () => {
    const text = seq([
      { class_name: 'Dense', config: { name: 'd1', units: 8, batch_input_shape: [null, 2], kernel_initializer: glorot } },
      { class_name: 'Dense', config: { name: 'd2', units: 3, activation: 'softmax', kernel_initializer: glorot } }]);
    const out = appliedExactly(text, [0], { activation: 'relu' });
    const d1 = JSON.parse(out).config.layers[0];
    assert.equal(d1.config.activation, 'relu');
    assert.deepEqual(Object.keys(d1), ['class_name', 'config']);
  });

  it('the output layer of a Keras 2 MLP: no edit, since its activation decides the inferred loss and data', () => {
    refused(fixture('02-keras2-sequential-mlp-creditcard.json'), [5], { activation: 'tanh' }, /would also change data\.classes, train\.loss as/);
  });

  describe('Keras 1 (`init` is a name)', () => {
    const k1 = (d1: Record<string, unknown>) => JSON.stringify({ class_name: 'Sequential', keras_version: '1.2.2', config: [
      { class_name: 'Dense', config: { name: 'd1', output_dim: 8, activation: 'sigmoid', batch_input_shape: [null, 2], bias: true, ...d1 } },
      { class_name: 'Dense', config: { name: 'd2', output_dim: 3, init: 'glorot_uniform', activation: 'softmax', bias: true } }] });
    it('an existing init is replaced by the name, not an object (finding 4)', () => {
      const out = appliedExactly(k1({ init: 'glorot_uniform' }), [0], { activation: 'relu', init: 'he_normal' });
      assert.equal(JSON.parse(out).config[0].config.init, 'he_normal');
    });
    it('a missing init is added as `init`, a name', () => {
      const out = appliedExactly(k1({}), [0], { init: 'he_normal' });
      const c = JSON.parse(out).config[0].config;
      assert.equal(c.init, 'he_normal');
      assert.equal(c.kernel_initializer, undefined);
    });
  });

  describe('the re-import net', () => {
    const base = fixture('03-keras2-sequential-mlp-leakyrelu.json');
    const swap = (from: string, to: string, nth = 0) => {
      let at = -1;
      for (let i = 0; i <= nth; i++) at = base.indexOf(from, at + 1);
      assert.ok(at >= 0);
      return base.slice(0, at) + to + base.slice(at + from.length);
    };
    it('accepts exactly the intended change', () => {
      assert.equal(kerasReimportProblem(base, swap('"activation": "linear"', '"activation": "elu"'), 'model.json', [0], { activation: 'elu' }), undefined);
    });
    it('refuses a file that no longer imports (a class renamed to an activation)', () => {
      assert.match(kerasReimportProblem(base, swap('"LeakyReLU"', '"elu"'), 'model.json', [1], { activation: 'elu' }) ?? '', /would not import \(unsupported layer elu/);
    });
    it('refuses an edit that does not reach the target', () => {
      assert.match(kerasReimportProblem(base, base, 'model.json', [0], { activation: 'elu' }) ?? '', /would not make the activation of layer dense_1 elu/);
    });
    it('refuses an edit that also changes another layer or field', () => {
      const both = swap('"activation": "linear"', '"activation": "elu"');
      const other = both.replace('"activation": "linear"', '"activation": "tanh"');
      assert.match(kerasReimportProblem(base, other, 'model.json', [0], { activation: 'elu' }) ?? '', /also change layer dense_2/);
      const units = both.replace('"units": 32', '"units": 31');
      assert.match(kerasReimportProblem(base, units, 'model.json', [0], { activation: 'elu' }) ?? '', /also change layer dense_1/);
      const rate = both.replace('"rate": 0.5', '"rate": 0.25');
      assert.match(kerasReimportProblem(base, rate, 'model.json', [0], { activation: 'elu' }) ?? '', /also change layer dropout_1/);
    });
    it('refuses an edit that renames a layer', () => {
      const renamed = swap('"activation": "linear"', '"activation": "elu"').replace('"dense_2"', '"dense_x"');
      assert.match(kerasReimportProblem(base, renamed, 'model.json', [0], { activation: 'elu' }) ?? '', /would change the layers/);
    });
  });
});

describe('a Keras model JSON that starts with a UTF-8 byte order mark (Windows editors write one)', () => {
  const plainText = fixture('03-keras2-sequential-mlp-leakyrelu.json');
  const bom = `\ufeff${plainText}`;
  it('imports as the same model, with every span one character later in the text', () => {
    const a = imported(plainText), b = imported(bom);
    assert.deepEqual(b.model.layers.map(plain), a.model.layers.map(plain));
    const ia = a.model.layers[0].spans!.init, ib = b.model.layers[0].spans!.init;
    assert.equal(ib.start.offset, ia.start.offset + 1);
    assert.equal(bom.slice(ib.start.offset, ib.end.offset), plainText.slice(ia.start.offset, ia.end.offset));
  });
  it('is imported through model.keras: as well', () => {
    const r = parseConfigText('model:\n  keras: m.json\n', '/w/a.nn.yaml', { readFile: () => bom });
    assert.ok(r.config, JSON.stringify(r.problems));
    assert.equal(r.config.model.layers.length, imported(plainText).model.layers.length);
  });
  it('a quick fix edits it at the right place and keeps the mark', () => {
    const out = appliedExactly(bom, [0], { activation: 'elu' });
    assert.ok(out.startsWith('\ufeff{'));
    assert.equal(JSON.parse(out.slice(1)).config[0].config.activation, 'elu');
    assert.equal(out.slice(1), applyEdits(plainText, (edit(plainText, [0], { activation: 'elu' }) as { edits: never[] }).edits));
  });
});
