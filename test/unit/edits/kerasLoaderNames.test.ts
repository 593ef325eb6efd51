/**
 * A quick fix on a Keras / TF.js model JSON may only write names the file's own loader knows: our importer reading
 * the edited file proves nothing about Keras or TF.js loading it. TF.js files are checked with tfjs-layers itself
 * (tf.models.modelFromJSON, the loader of a model.json's modelTopology) as the oracle; Keras files, with no Python
 * Keras here, against the form Keras 2.0 serializes he_normal & co. as (VarianceScaling; initializers.py of 2.0).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseConfigText } from '../../../src/config';
import { applyEdits, suggestionEdits } from '../../../src/edits/suggestionEdits';

type Change = Parameters<typeof suggestionEdits>[4];
const FIX = path.join(__dirname, '../../fixtures/keras');
const fixture = (f: string) => fs.readFileSync(path.join(FIX, f), 'utf8');

function fix(text: string, layers: number[], change: Change) {
  const { config, problems } = parseConfigText(text, 'model.json');
  assert.ok(config, JSON.stringify(problems.filter(p => p.severity === 'error')));
  return suggestionEdits(text, 'model.json', config, layers, change);
}
function fixed(text: string, layers: number[], change: Change): string {
  const r = fix(text, layers, change);
  assert.ok('edits' in r, 'error' in r ? r.error : '');
  return applyEdits(text, r.edits);
}
const denseIndices = (text: string) => parseConfigText(text, 'model.json').config!.model.layers.flatMap((l, i) => (l.type === 'dense' ? [i] : []));

/** tfjs-layers' own initializers for the names, serialized as tfjs-layers writes them. */
const TFJS_INIT: Record<string, () => { getClassName(): string; getConfig(): unknown }> = {
  he_normal: () => tfl.initializers.heNormal({}), lecun_normal: () => tfl.initializers.leCunNormal({}), he_uniform: () => tfl.initializers.heUniform({}),
};

describe('quick fixes write names the file\'s loader knows', () => {
  describe('TF.js model.json, loaded by tfjs-layers', () => {
    // 13 and 14 (written by the Keras 3 converter) do not load in tfjs-layers 4.22 even unedited (batch_shape).
    for (const f of ['15-tfjs-keras2-sequential-mlp-tanh.json', '16-tfjs-noformat-sequential-mlp.json', '17-tfjs-layersjs-sequential-list-mlp.json']) {
      // (glorot_uniform: these files have it already, left as it is.)
      for (const init of ['he_normal', 'lecun_normal', 'he_uniform']) {
        it(`${f}: ${init} + elu on its hidden Dense layers loads, with tfjs-layers' own ${init} and elu`, async () => {
          const text = fixture(f);
          const targets = denseIndices(text).slice(0, -1);
          assert.ok(targets.length >= 1);
          const out = JSON.parse(fixed(text, targets, { activation: 'elu', init }));
          const model = await tfl.models.modelFromJSON(out.modelTopology);
          const dense = model.layers.filter(l => l.getClassName() === 'Dense') as unknown as { kernelInitializer: ReturnType<typeof TFJS_INIT.he_normal>; activation: { getClassName(): string } }[];
          const want = TFJS_INIT[init]();
          for (const d of dense.slice(0, targets.length)) {
            assert.equal(d.kernelInitializer.getClassName(), want.getClassName());
            // Unseeded both: the file's seed is null, tfjs-layers' own initializer leaves it undefined.
            const { seed, ...got } = d.kernelInitializer.getConfig() as { seed?: number | null };
            const { seed: _s, ...expected } = want.getConfig() as { seed?: number };
            assert.deepEqual(got, expected);
            assert.equal(seed ?? null, null);
            assert.equal(d.activation.getClassName(), 'elu');
          }
          model.dispose();
        });
      }
    }
    it('leaky_relu as an activation: refused with what to do, and tfjs-layers indeed rejects it', async () => {
      const text = fixture('15-tfjs-keras2-sequential-mlp-tanh.json');
      const r = fix(text, [0], { activation: 'leaky_relu' });
      assert.ok('error' in r);
      assert.match(r.error, /TF\.js has no "leaky_relu" activation.*add a LeakyReLU layer right after layer/);
      const j = JSON.parse(text);
      j.modelTopology.model_config.config.layers.find((l: { class_name: string }) => l.class_name === 'Dense').config.activation = 'leaky_relu';
      await assert.rejects(tfl.models.modelFromJSON(j.modelTopology), /leakyRelu|leaky_relu/i);
    });
  });

  describe('Keras 2 files (keras_version 2.x)', () => {
    const vs = (scale: number, mode: string, distribution: string) => ({ class_name: 'VarianceScaling', config: { scale, mode, distribution, seed: null } });
    for (const [f, version] of [['02-keras2-sequential-mlp-creditcard.json', '2.0.5'], ['03-keras2-sequential-mlp-leakyrelu.json', '2.0.8'], ['08-keras2-sequential-mlp-leading-dropout.json', '2.3.1'], ['07-tfkeras2-sequential-mlp-inputlayer.json', '2.12.0']]) {
      it(`${f} (${version}): he_normal / lecun_normal / he_uniform / glorot_uniform as the VarianceScaling every Keras 2 reads, "normal" = truncated`, () => {
        const text = fixture(f);
        const [d] = denseIndices(text);
        const inits = [['he_normal', vs(2, 'fan_in', 'normal')], ['lecun_normal', vs(1, 'fan_in', 'normal')], ['he_uniform', vs(2, 'fan_in', 'uniform')], ['glorot_uniform', vs(1, 'fan_avg', 'uniform')]] as const;
        const had = parseConfigText(text, 'model.json').config!.model.layers[d];
        for (const [init, want] of inits.filter(([n]) => !('init' in had && had.init.name === n))) {
          const out = fixed(text, [d], { init });
          const now = parseConfigText(out, 'model.json').config!.model.layers[d];
          const at = now.spans!.init;
          assert.deepEqual(JSON.parse(out.slice(at.start.offset, at.end.offset)), want);
          assert.doesNotMatch(out, /"(HeNormal|LecunNormal|LeCunNormal)"/);
          assert.equal('init' in now ? now.init.name : undefined, init);
        }
      });
    }
    it('leaky_relu as an activation string: refused, "add a LeakyReLU layer"', () => {
      const text = fixture('03-keras2-sequential-mlp-leakyrelu.json');
      const r = fix(text, [0], { activation: 'leaky_relu' });
      assert.ok('error' in r);
      assert.match(r.error, /^Keras 2\.0\.8 has no "leaky_relu" activation, so model\.json would no longer load there\. Instead, add a LeakyReLU layer right after layer dense_1/);
    });
  });

  describe('Keras 3 files (module / registered_name, no keras_version)', () => {
    it('he_normal is the Keras 3 class HeNormal, written as Keras 3 writes it', () => {
      const text = fixture('11-keras3-sequential-mlp-flatten.json');
      const [d] = denseIndices(text);
      const out = JSON.parse(fixed(text, [d], { init: 'lecun_normal', activation: 'elu' }));
      const dense = out.config.layers.filter((l: { class_name: string }) => l.class_name === 'Dense')[0].config;
      assert.deepEqual(dense.kernel_initializer, { module: 'keras.initializers', class_name: 'LecunNormal', config: { seed: null }, registered_name: null });
      assert.equal(dense.activation, 'elu');
    });
    it('leaky_relu: Keras 3 knows the name, but its slope is 0.2 (keras/src/activations: negative_slope=0.2), not our 0.01: refused', () => {
      const text = fixture('11-keras3-sequential-mlp-flatten.json');
      const [d] = denseIndices(text);
      const r = fix(text, [d], { activation: 'leaky_relu', init: 'he_normal' });
      assert.ok('error' in r, 'an edit to "leaky_relu" would train with slope 0.2 in Keras 3 (and in our importer)');
      assert.match(r.error, /negative slope of 0\.2, not the suggested 0\.01.*LeakyReLU layer with "negative_slope": 0\.01/);
    });
  });

  it('Keras 1 (init is a name): lecun_normal did not exist before Keras 2.0.6, refused', () => {
    const text = JSON.stringify({ class_name: 'Sequential', keras_version: '1.2.2', config: [
      { class_name: 'Dense', config: { name: 'd1', output_dim: 8, init: 'glorot_uniform', activation: 'sigmoid', batch_input_shape: [null, 2], bias: true } },
      { class_name: 'Dense', config: { name: 'd2', output_dim: 3, init: 'glorot_uniform', activation: 'softmax', bias: true } }] });
    const r = fix(text, [0], { init: 'lecun_normal' });
    assert.ok('error' in r);
    assert.match(r.error, /Keras 1 has no "lecun_normal" initializer/);
    assert.equal(JSON.parse(fixed(text, [0], { init: 'he_normal' })).config[0].config.init, 'he_normal');
  });
});
