/** The CLI on imported models: *.onnx and .keras given directly, the synthetic-data note, --batch / --probe-samples. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { applyOverrides, loadConfig } from '../../../src/cli/input';
import { memoryRefusal } from '../../../src/core/memory';
import { cliJson, runCli } from './helpers';

const FIX = path.join(__dirname, '../../fixtures');

describe('CLI on ONNX and Keras 3 files', function () {
  this.timeout(120_000);

  it('lint of an unsupported ONNX model: exit 2, one line naming the node and op, no line:col', async () => {
    const file = path.join(FIX, 'onnx/corpus/13-neg-lstm-pytorch.onnx');
    const r = await runCli(['lint', file]);
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: node /lstm/LSTM \\(LSTM\\): recurrent layers are not supported \\(supported: `));
    assert.equal(r.err.trim().split('\n').length, 1);
  });

  it('diagnose model.onnx trains the imported CNN and says its findings come from synthetic data (text and --json)', async () => {
    const file = path.join(FIX, 'onnx/corpus/05-cnn-mnist-pytorch-conv-flatten-gemm.onnx');
    const { code, report } = await cliJson('diagnose', file, ['--steps', '20']);
    assert.equal(code, 0);
    assert.equal(report.model.params, 3047);
    assert.match(report.dataNote ?? '', /synthetic data .* architecture and initialisation, not about what it learns/);
    const text = await runCli(['lint', path.join(FIX, 'keras-zip/keras3-mlp.keras')]);
    assert.match(text.out, /keras3-mlp\.keras: 6 layers, 1494154 params\nnote: This imported model trains on synthetic data/);
  });

  it('--batch and --probe-samples bring a model refused for memory under the limit (Keras corpus 06: 4.3 GB)', () => {
    const config = loadConfig(path.join(FIX, 'keras/06-tfkeras2-sequential-cnn-bn-no-inputlayer.json'), () => undefined);
    assert.match(memoryRefusal(config, 1024) ?? '', /estimated memory \d+ MB exceeds the limit of 1024 MB/);
    const small = applyOverrides(config, { batch: 4, probeSamples: 8 });
    assert.equal(small.train.batch, 4);
    assert.equal(small.probe.samples, 8);
    assert.equal(memoryRefusal(small, 1024), null);
  });

  it('--batch 0 is a usage error', async () => {
    const r = await runCli(['diagnose', path.join(FIX, 'onnx/corpus/07-mlp-sigmoid-keras2onnx.onnx'), '--batch', '0']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--batch must be an integer >= 1, got "0"/);
  });
});
