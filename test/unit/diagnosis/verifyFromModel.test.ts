/**
 * `diagnose --verify` and the editor's Verify with `init: from-model`: the run with a suggestion keeps the model's
 * weights on the layers it leaves alone and starts the changed layer fresh, as compare's trials do. "The model's
 * weights" are the whole model's load, which test/unit/config/fromModel.test.ts checks against torch.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { loadModelWeights } from '../../../src/config/weights';
import { train } from '../../../src/core/train';
import { loadDataset } from '../../../src/data';
import { diagnose } from '../../../src/diagnosis/rules';
import { applySuggestion, suggestionWeights, verifySuggestion } from '../../../src/diagnosis/verify';
import type { Finding } from '../../../src/diagnosis/types';

const GEN = path.join(__dirname, '../../fixtures/onnx/generated');
const yaml = 'model:\n  onnx: mlp-gemm.onnx\n  init: from-model\ndata: {source: teacher, samples: 64, classes: 4}\ntrain: {steps: 6, batch: 8}\n';

describe('verify with init: from-model', function () {
  this.timeout(60000);
  const config = parseConfigText(yaml, path.join(GEN, 'x.nn.yaml')).config!;
  const weights = loadModelWeights(config, GEN)!;
  // dense_2 (index 3) tanh -> relu: only dense_2 is changed.
  const suggestion = { activation: 'relu', reason: 'test' };
  const finding: Finding = { kind: 'saturated', layer: 3, layerName: 'dense_2', severity: 'warning', message: '', evidence: {}, suggestions: [suggestion] } as unknown as Finding;

  it('the after-run starts from the model\'s weights on unchanged layers and fresh on the changed one', () => {
    const w = suggestionWeights(config, [3], suggestion, weights)!;
    assert.deepEqual(w[0], weights[0]);
    assert.deepEqual(w[1], weights[1]);
    assert.deepEqual(w[4], weights[4]);
    assert.equal(w[3], undefined);
    // An lr change touches no layer's weights.
    assert.deepEqual(suggestionWeights(config, [3], { lr: 0.01, reason: 'lr' }, weights), weights);
    // An activation layer's change re-initialises the weighted layer feeding it (dense_1), as compare does.
    const a = suggestionWeights(config, [2], { activation: 'tanh', reason: 't' }, weights)!;
    assert.equal(a[0], undefined);
    assert.deepEqual(a[4], weights[4]);
  });

  it('the editor\'s Verify (which reloads the changed config\'s weights) loads the same weights', () => {
    const changed = applySuggestion(config, [3], suggestion);
    const reloaded = loadModelWeights(changed, GEN)!;
    const expected = suggestionWeights(config, [3], suggestion, weights)!;
    for (const i of [0, 1, 3, 4]) assert.deepEqual(reloaded[i], expected[i], `layer ${i}`);
  });

  it('verifySuggestion trains the changed config from those weights, not from a fresh draw', () => {
    const data = loadDataset(config, GEN);
    const before = train(config, data, { initialWeights: weights });
    const v = verifySuggestion({ config, result: before, findings: diagnose(config, before) }, data, finding, suggestion, { train: { initialWeights: weights } });
    const changed = applySuggestion(config, [3], suggestion);
    const kept = train(changed, data, { initialWeights: suggestionWeights(config, [3], suggestion, weights) });
    const fresh = train(changed, data);
    assert.equal(v.after.trainLoss, Number(kept.final.trainLoss.toPrecision(5)));
    assert.notEqual(v.after.trainLoss, Number(fresh.final.trainLoss.toPrecision(5)));
  });
});
