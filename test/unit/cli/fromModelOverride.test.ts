/** `model.init: from-model` overrides a layer's own drawn init: lint says so at that layer's `init:`. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importOnnx, toConfigYaml } from '../../../src/config';
import { runCli } from './helpers';

const GEN = path.join(__dirname, '../../fixtures/onnx/generated');

describe('lint: a layer init under model.init: from-model', () => {
  it('warns at the layer\'s init (file:line:col) that from-model overrides it', async () => {
    const imported = importOnnx(fs.readFileSync(path.join(GEN, 'mlp-gemm.onnx')), 'mlp-gemm.onnx').config!;
    const yaml = toConfigYaml(imported, 'mlp-gemm.onnx')
      .replace(/^model:\n/m, `model:\n  weights: ${JSON.stringify(path.join(GEN, 'mlp-gemm.onnx'))}\n  init: from-model\n`)
      .replace('name: dense_1\n      units: 16', 'name: dense_1\n      units: 16\n      init: he_normal');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-fm-'));
    const file = path.join(dir, 'c.nn.yaml');
    fs.writeFileSync(file, yaml);
    const lines = yaml.split('\n');
    const line = lines.findIndex(l => l.includes('init: he_normal')) + 1;
    const col = lines[line - 1].indexOf('he_normal') + 1;
    const r = await runCli(['lint', file]);
    assert.ok((r.out + r.err).includes(`${file}:${line}:${col}`), r.out + r.err);
    assert.match(r.out + r.err, /model\.init: from-model overrides layer "dense_1"'s init/);
    // Without model.init: from-model the layer's init is what it says: no warning.
    fs.writeFileSync(file, yaml.replace('  init: from-model\n', ''));
    assert.doesNotMatch((await runCli(['lint', file])).out, /overrides/);
    fs.rmSync(dir, { recursive: true });
  });
});
