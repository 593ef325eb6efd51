/**
 * Each bundled example shows what its header says, end to end (parse, data, training core, rules): the
 * phenomenon examples produce their finding, the healthy ones train well and stay quiet. Runs are short.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { inferShapes, loadConfigFile } from '../../../src/config';
import { loadDataset } from '../../../src/data';
import { train } from '../../../src/core/train';
import { diagnose } from '../../../src/diagnosis/rules';
import type { Finding } from '../../../src/diagnosis/types';

const EXAMPLES = path.join(__dirname, '../../../examples');

function run(name: string): { findings: Finding[]; accuracy: number | undefined; layers: string[] } {
  const file = path.join(EXAMPLES, name);
  const r = loadConfigFile(file);
  assert.deepEqual(r.problems, []);
  const config = r.config!;
  const result = train(config, loadDataset(config, EXAMPLES));
  assert.equal(result.stopped, 'completed');
  const last = result.timeline[result.timeline.length - 1] as { valAccuracy?: number };
  return { findings: diagnose(config, result), accuracy: last.valAccuracy, layers: config.model.layers.map(l => l.name) };
}
const serious = (f: Finding[]) => f.filter(x => x.severity !== 'info').map(x => `${x.severity} ${x.kind} ${x.layerName}`);

describe('bundled examples show their phenomenon', function () {
  this.timeout(120_000);

  it('deep-sigmoid-spiral: the gradient vanishes toward the first layer', () => {
    const { findings } = run('deep-sigmoid-spiral.nn.yaml');
    const v = findings.find(f => f.kind === 'vanishing-gradient');
    assert.ok(v && v.severity !== 'info' && v.layerName === 'dense_1', serious(findings).join('; '));
    assert.ok(findings.some(f => f.kind === 'activation-choice'));
  });

  it('deep-relu-lecun: Var(w)=1/n in 24 relu layers, vanishing gradient and the init named', () => {
    const { findings } = run('deep-relu-lecun.nn.yaml');
    assert.ok(findings.some(f => f.kind === 'vanishing-gradient' && f.severity !== 'info'), serious(findings).join('; '));
    assert.ok(findings.some(f => f.kind === 'init-mismatch' && f.severity === 'warning'));
  });

  it('dying-relu-high-lr: hidden relu units die during training', () => {
    const { findings } = run('dying-relu-high-lr.nn.yaml');
    const dead = findings.filter(f => f.kind === 'dead-units' && f.severity !== 'info');
    assert.ok(dead.length >= 1, serious(findings).join('; '));
  });

  for (const [name, minAccuracy] of [['healthy-relu-he.nn.yaml', 0.95], ['selu-lecun.nn.yaml', 0.95], ['tanh-glorot.nn.yaml', 0.9], ['csv-pump-failure.nn.yaml', 0.8]] as const) {
    it(`${name}: trains well and has no warning or error`, () => {
      const { findings, accuracy } = run(name);
      assert.deepEqual(serious(findings), []);
      assert.ok((accuracy ?? 0) >= minAccuracy, `accuracy ${accuracy}`);
    });
  }

  it('conv-shapes: the conv net learns the three shapes well above chance', () => {
    const { findings, accuracy } = run('conv-shapes.nn.yaml');
    assert.ok((accuracy ?? 0) > 0.45, `accuracy ${accuracy}`);
    assert.deepEqual(serious(findings).filter(s => s.startsWith('error')), []);
  });

  it('keras-import: the imported sigmoid MLP is flagged for sigmoid hidden layers', () => {
    const { findings, layers } = run('keras-import.nn.yaml');
    assert.deepEqual(layers, ['dense', 'dense_1', 'dense_2', 'dense_3', 'dense_4']);
    assert.ok(findings.some(f => f.kind === 'activation-choice' && f.severity === 'warning'));
  });

  it('onnx-mnist-cnn: the torch-exported CNN imports with its 3,047 parameters and trains end to end', () => {
    const { layers } = run('onnx-mnist-cnn.nn.yaml');
    assert.deepEqual(layers, ['conv2d_1', 'conv2d_2', 'flatten_1', 'dense_1', 'dense_2']);
    const config = loadConfigFile(path.join(EXAMPLES, 'onnx-mnist-cnn.nn.yaml')).config!;
    assert.deepEqual(config.model.input, [28, 28, 1]);
    assert.equal(inferShapes(config.model.input, config.model.layers).shapes.reduce((a, s) => a + s.params, 0), 3047);
  });
});
