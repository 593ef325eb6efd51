/**
 * Keras 3 `.keras` archives (made by scripts/fixtures/make-onnx-fixtures.py with Python's zipfile around the
 * Keras 3 corpus file 11): imported like the Keras JSON inside, directly or as model.keras; damaged archives,
 * archives without config.json and a deflate bomb are refused in bounded time and memory.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfigFile, parseConfigText } from '../../../src/config';
import { kerasZipConfig, KerasZipError } from '../../../src/config/kerasZip';
import { inferShapes } from '../../../src/config/shapes';
import { Rng } from '../../../src/core/rng';
import { formatProblem } from '../../../src/model';

const KZ = path.join(__dirname, '../../fixtures/keras-zip');
const KERAS = path.join(__dirname, '../../fixtures/keras');

describe('Keras 3 .keras archives', () => {
  it('a .keras file given directly imports like its config.json (corpus 11: 6 layers, 1,494,154 parameters)', () => {
    const r = loadConfigFile(path.join(KZ, 'keras3-mlp.keras'));
    assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
    assert.deepEqual(r.config.model.layers.map(l => l.type), ['flatten', 'dense', 'dense', 'dense', 'dense', 'dense']);
    assert.equal(inferShapes(r.config.model.input, r.config.model.layers).shapes.reduce((a, s) => a + s.params, 0), 1_494_154);
    // The same as the JSON itself.
    const json = loadConfigFile(path.join(KERAS, '11-keras3-sequential-mlp-flatten.json')).config!;
    assert.deepEqual(r.config.model.layers.map(l => l.name), json.model.layers.map(l => l.name));
  });

  it('model.keras: x.keras in a config', () => {
    const r = parseConfigText('model:\n  keras: keras3-mlp.keras\n', path.join(KZ, 'net.nn.yaml'));
    assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
    assert.equal(r.config.model.layers.length, 6);
  });

  it('an archive without config.json, a non-zip, a truncated archive and a deflate bomb are refused', () => {
    const noConfig = loadConfigFile(path.join(KZ, 'stored-no-config.keras'));
    assert.equal(formatProblem('x.keras', noConfig.problems[0]), 'x.keras: the .keras archive has no config.json (it holds metadata.json): not a Keras 3 model');
    assert.throws(() => kerasZipConfig(Buffer.from('{"class_name": "Sequential"}')), /not a \.keras file: a Keras 3 model is a zip archive/);
    const good = fs.readFileSync(path.join(KZ, 'keras3-mlp.keras'));
    assert.throws(() => kerasZipConfig(good.subarray(0, good.length - 30)), KerasZipError);
    const heap0 = process.memoryUsage().heapUsed;
    assert.throws(() => kerasZipConfig(fs.readFileSync(path.join(KZ, 'bomb.keras'))), /config\.json inflates to 33554434 bytes \(at most 16777216\)/);
    // A header that lies about the size is stopped by the inflater's output cap.
    const bomb = Buffer.from(fs.readFileSync(path.join(KZ, 'bomb.keras')));
    for (let i = 0; i + 4 <= bomb.length; i++) if (bomb.readUInt32LE(i) === 0x02014b50) bomb.writeUInt32LE(100, i + 24);
    assert.throws(() => kerasZipConfig(bomb), /cannot be inflated/);
    assert.ok(process.memoryUsage().heapUsed - heap0 < 64 * 2 ** 20);
  });

  it('500 mutated archives each give a config or a KerasZipError, never another exception', () => {
    const good = fs.readFileSync(path.join(KZ, 'keras3-mlp.keras'));
    const rng = new Rng(7);
    for (let i = 0; i < 500; i++) {
      const b = Buffer.from(good);
      const kind = rng.int(3);
      const bytes = kind === 0 ? b.subarray(0, rng.int(b.length)) : b;
      if (kind === 1) for (let k = 0; k < 1 + rng.int(8); k++) b[rng.int(b.length)] = rng.int(256);
      if (kind === 2) b.writeUInt32LE(rng.int(2 ** 32), rng.int(b.length - 4));
      try { kerasZipConfig(bytes); } catch (e) { assert.ok(e instanceof KerasZipError, `input ${i}: ${(e as Error).stack}`); }
    }
  });
});
