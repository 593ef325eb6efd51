/**
 * A Keras / TF.js PReLU layer: its alpha_initializer becomes the alpha every channel starts at, and the trained
 * alphas in the model's weights are what `init: from-model` starts from, also in a Verify run (applySuggestion
 * turns the whole-model from-model into per-layer ones). Oracle: TensorFlow.js's predict() on the same model.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseConfigText } from '../../../src/config';
import { loadModelWeights } from '../../../src/config/weights';
import { applySuggestion } from '../../../src/diagnosis/verify';
import { forward, maxDiff } from './forwardOracle';

describe('Keras importer: PReLU alphas from the model', function () {
  this.timeout(60000);
  let dir: string;
  let model: tfl.Sequential;
  /** The trained alphas: negative and distinct per channel, so that 0 (the initializer) or a mean would show. */
  const ALPHAS = [0.3, -0.2, 0.7, 0.05];

  before(async () => {
    model = tfl.sequential({ layers: [
      tfl.layers.dense({ inputShape: [3], units: 4, name: 'h' }),
      tfl.layers.prelu({ name: 'p' }),
      tfl.layers.dense({ units: 2, name: 'o' }),
    ] });
    model.getLayer('p').setWeights([tf.tensor1d(ALPHAS)]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-prelu-'));
    await model.save(tf.io.withSaveHandler(async art => {
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: art.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: art.weightSpecs }] }));
      fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.from(art.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
  });
  after(() => fs.rmSync(dir, { recursive: true }));

  const fromModel = () => {
    const r = parseConfigText('seed: 1\nmodel:\n  keras: model.json\n  init: from-model\n', path.join(dir, 'net.nn.yaml'));
    assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
    return r.config;
  };

  it('init: from-model: the PReLU layer holds the trained alphas and the forward pass equals TensorFlow.js predict()', async () => {
    const config = fromModel();
    assert.deepEqual(config.model.layers.map(l => l.type), ['dense', 'activation', 'dense']);
    const w = loadModelWeights(config, dir)!;
    assert.deepEqual(Array.from(w[1]!.alpha), ALPHAS.map(Math.fround));
    const x = tf.randomNormal([6, 3], 0, 2, 'float32', 7);
    const want = await (model.predict(x) as tf.Tensor).data();
    const got = forward(config, w, await x.data() as Float32Array, 6);
    assert.ok(maxDiff(got, want) < 1e-5, `max diff ${maxDiff(got, want)}`);
  });

  it('a Verify run (applySuggestion on another layer) reloads the PReLU\'s trained alphas, not the initializer\'s 0', () => {
    const config = fromModel();
    // A suggestion on the output layer only: "h" and "p" keep the model's weights, "o" starts fresh.
    const after = applySuggestion(config, [2], { activation: 'tanh', reason: 'test' });
    assert.deepEqual(after.model.layers.map(l => !!l.fromModel), [true, true, false]);
    const w = loadModelWeights(after, dir)!;
    assert.deepEqual(Array.from(w[1]?.alpha ?? []), ALPHAS.map(Math.fround));
    assert.equal(w[2], undefined);
    // A suggestion on the PReLU itself starts it (and the dense feeding it) fresh.
    const changed = applySuggestion(config, [1], { activation: 'relu', reason: 'test' });
    assert.deepEqual(changed.model.layers.map(l => !!l.fromModel), [false, false, true]);
  });
});
