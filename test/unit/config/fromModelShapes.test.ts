/**
 * `init: from-model` compares the model's tensor DIMS with the layer's shape, not only their value count: a
 * [32, 16] kernel must not load into a layer that needs [16, 32], a conv kernel with swapped channels must not
 * load, and a trained bias must not be dropped by use_bias: false. Models: scripts/fixtures/make-shape-fixtures.py
 * (ONNX built with onnx.helper, weights by formula so the expected core layout is computed here), and TF.js
 * manifests written by the test. Each problem is checked at its place (line:col of init: / use_bias:), in the
 * parser (lint, the editor's Problems), in loadModelWeights (the run) and in the CLI.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { loadModelWeights } from '../../../src/config/weights';
import { InputError, type InputProblem, type NetworkConfig } from '../../../src/model';
import { runCli } from '../cli/helpers';

const SHAPES = path.join(__dirname, '../../fixtures/onnx/shapes');

/** A config with one dense layer "fc" (input 16, 32 units) from the model's weights; `extra` goes into the layer. */
const denseYaml = (weights: string, extra = '') =>
  `model:\n  weights: ${weights}\n  input: 16\n  layers:\n    - type: dense\n      name: fc\n      units: 32\n${extra}      init: from-model\n    - {type: dense, name: out, units: 2}\n`;
const convYaml = (weights: string, input: string, filters: number, kernel: string) =>
  `model:\n  weights: ${weights}\n  input: ${input}\n  layers:\n    - type: conv2d\n      name: conv\n      filters: ${filters}\n      kernel: ${kernel}\n      init: from-model\n    - {type: flatten}\n    - {type: dense, name: out, units: 2}\n`;

/** 0-based line and character of `needle`'s value in the text (the span the parser gives the value). */
function valueAt(text: string, key: string): { line: number; character: number } {
  const lines = text.split('\n');
  const line = lines.findIndex(l => l.trimStart().startsWith(`${key}:`));
  return { line, character: lines[line].indexOf(`${key}:`) + key.length + 2 };
}

function errorsOf(yaml: string, dir = SHAPES): { problems: InputProblem[]; config?: NetworkConfig } {
  const r = parseConfigText(yaml, path.join(dir, 'net.nn.yaml'));
  return { problems: r.problems.filter(p => p.severity === 'error'), config: r.config ?? r.partial };
}

/** The one error the parser (lint) gives, at `key`'s value, naming the layer; the run throws the same. */
function assertShapeError(yaml: string, key: string, layer: string, re: RegExp, dir = SHAPES): void {
  const { problems, config } = errorsOf(yaml, dir);
  assert.equal(problems.length, 1, problems.map(p => p.message).join('\n'));
  const [p] = problems;
  assert.match(p.message, re);
  assert.equal(p.layer, layer);
  assert.deepEqual({ line: p.span!.start.line, character: p.span!.start.character }, valueAt(yaml, key));
  assert.throws(() => loadModelWeights(config!, dir), (e: InputError) => e instanceof InputError && re.test(e.message)
    && e.problem.span!.start.line === p.span!.start.line && e.problem.layer === layer);
}

describe('init: from-model checks the model\'s tensor dims, not only their count', function () {
  this.timeout(30000);

  it('ONNX Gemm with transB = 1 ([out, in] in the file) loads into the layer as [in, out]', () => {
    const yaml = denseYaml('gemm-16to32-transb.onnx');
    const { problems, config } = errorsOf(yaml);
    assert.deepEqual(problems, []);
    const w = loadModelWeights(config!, SHAPES)!;
    // B[o][i] = o * 100 + i in the file; the core's kernel[i * 32 + o] is input i to unit o.
    const want = Float32Array.from({ length: 16 * 32 }, (_, k) => Math.floor(k % 32) * 100 + Math.floor(k / 32));
    assert.deepEqual(Array.from(w[0]!.kernel), Array.from(want));
    assert.deepEqual(Array.from(w[0]!.bias), Array.from({ length: 32 }, (_, j) => Math.fround(j / 10)));
  });

  it('a [32, 16] kernel (512 values, as many as the layer needs) does not load into a layer that needs [16, 32]', () => {
    assertShapeError(denseYaml('gemm-32to16.onnx'), 'init', 'fc',
      /^layer "fc": the model's kernel is \[32, 16\] \(Gemm B \[32, 16\]\) but this dense layer needs \[16, 32\] \[in, out\]: its shape differs from the model's$/);
  });

  it('transB is respected: B of dims [16, 32] with transB = 1 is a 32 -> 16 layer, refused for a 16 -> 32 one', () => {
    assertShapeError(denseYaml('gemm-32to16-transb.onnx'), 'init', 'fc',
      /the model's kernel is \[32, 16\] \(Gemm B \[16, 32\] with transB = 1\) but this dense layer needs \[16, 32\]/);
  });

  it('ONNX Conv: OIHW in the file, HWIO in the core; swapped channels or another kernel of the same count are refused', () => {
    const ok = errorsOf(convYaml('conv-4to8.onnx', '[6, 6, 4]', 8, '3'));
    assert.deepEqual(ok.problems, []);
    const w = loadModelWeights(ok.config!, SHAPES)!;
    // W[f][c][i][j] = f * 10000 + c * 1000 + i * 100 + j; HWIO index ((i * 3 + j) * 4 + c) * 8 + f.
    const want: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let c = 0; c < 4; c++) for (let f = 0; f < 8; f++) want.push(f * 10000 + c * 1000 + i * 100 + j);
    assert.deepEqual(Array.from(w[0]!.kernel), want);
    // 8 input channels to 4 filters: 288 values like the model's 4 -> 8, in the other order.
    assertShapeError(convYaml('conv-4to8.onnx', '[6, 6, 8]', 4, '3'), 'init', 'conv',
      /^layer "conv": the model's kernel is \[3, 3, 4, 8\] \(Conv W \[8, 4, 3, 3\] \(OIHW\)\) but this conv2d layer needs \[3, 3, 8, 4\] \[kh, kw, in, out\]/);
    assertShapeError(convYaml('conv-4to8.onnx', '[6, 10, 4]', 8, '[1, 9]'), 'init', 'conv', /kernel is \[3, 3, 4, 8\] .* needs \[1, 9, 4, 8\]/);
  });

  it('a trained bias is not dropped by use_bias: false: an error at use_bias', () => {
    assertShapeError(denseYaml('gemm-16to32-transb.onnx', '      use_bias: false\n'), 'use_bias', 'fc',
      /^layer "fc" has use_bias: false but the model has a bias for it \(Gemm C \[32\]\): it would be dropped .*remove use_bias: false$/);
  });

  it('a conv2d with use_bias: false is refused too when the model has its bias (Conv B [8])', () => {
    assertShapeError(convYaml('conv-4to8.onnx', '[6, 6, 4]', 8, '3').replace('      init: from-model\n', '      use_bias: false\n      init: from-model\n'),
      'use_bias', 'conv', /^layer "conv" has use_bias: false but the model has a bias for it/);
  });

  it('an unreadable model is read once while the config is re-parsed (cached by size and mtime), not on every keystroke', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-broken-'));
    try {
      const bytes = Buffer.alloc(300 * 1024);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 255;
      fs.writeFileSync(path.join(dir, 'broken.onnx'), bytes);
      let reads = 0;
      const readBytes = (p: string) => { reads++; return new Uint8Array(fs.readFileSync(p)); };
      for (let i = 0; i < 5; i++) {
        const r = parseConfigText(denseYaml('broken.onnx') + `# edit ${i}\n`, path.join(dir, 'net.nn.yaml'), { readBytes });
        assert.deepEqual(r.problems.filter(p => p.severity === 'error'), [], 'lint stays quiet: the run says why');
      }
      assert.equal(reads, 1);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  it('model.init: from-model (every layer) reports a shape at model.init, naming the layer', () => {
    const yaml = 'model:\n  weights: gemm-32to16.onnx\n  init: from-model\n  input: 16\n  layers:\n    - {type: dense, name: fc, units: 32}\n';
    const { problems } = errorsOf(yaml);
    assert.equal(problems.length, 1, problems.map(p => p.message).join('\n'));
    assert.equal(problems[0].layer, 'fc');
    assert.deepEqual(problems[0].span!.start, { ...problems[0].span!.start, line: 2, character: 8 });
    assert.match(problems[0].message, /needs \[16, 32\]/);
  });

  it('hostile ONNX: a 0-sized dim is a shape error; declared dims the data cannot hold and a 0-dim weight are refused when the run reads them, lint stays quiet', () => {
    assertShapeError(denseYaml('hostile-zero-dim.onnx'), 'init', 'fc', /the model's kernel is \[16, 0\] .* needs \[16, 32\]/);
    for (const [file, re] of [['hostile-huge-dims.onnx', /hostile-huge-dims\.onnx: initializer: tensor "B" has 1\.2\d*e\+24 elements/], ['hostile-scalar.onnx', /hostile-scalar\.onnx: node fc \(Gemm\): weight B has shape \[\]: expected a matrix/]] as const) {
      const yaml = denseYaml(file);
      const { problems, config } = errorsOf(yaml);
      assert.deepEqual(problems, [], file);
      assert.throws(() => loadModelWeights(config!, SHAPES), (e: InputError) => e instanceof InputError && re.test(e.message) && e.problem.span!.start.line === valueAt(yaml, 'weights').line, file);
    }
  });

  describe('TF.js weightsManifest (Keras layout: dense [in, out], conv HWIO)', () => {
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-shapes-')); });
    afterEach(() => fs.rmSync(dir, { recursive: true }));

    /** model.json with the given specs and a .bin of `floats` values (value k = k). */
    const write = (weights: unknown[], floats: number) => {
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', weightsManifest: [{ paths: ['w.bin'], weights }] }));
      const b = Buffer.alloc(4 * floats);
      for (let k = 0; k < floats; k++) b.writeFloatLE(k, 4 * k);
      fs.writeFileSync(path.join(dir, 'w.bin'), b);
    };
    const spec = (name: string, shape: unknown) => ({ name, shape, dtype: 'float32' });

    it('a kernel of the layer\'s [in, out] loads; [32, 16] for a [16, 32] layer is refused though the count matches', () => {
      write([spec('sequential/fc/kernel', [16, 32]), spec('sequential/fc/bias', [32])], 16 * 32 + 32);
      const ok = errorsOf(denseYaml('model.json'), dir);
      assert.deepEqual(ok.problems, []);
      const w = loadModelWeights(ok.config!, dir)!;
      assert.deepEqual(Array.from(w[0]!.kernel), Array.from({ length: 512 }, (_, k) => k));
      assert.deepEqual(Array.from(w[0]!.bias), Array.from({ length: 32 }, (_, k) => 512 + k));
      write([spec('sequential/fc/kernel', [32, 16]), spec('sequential/fc/bias', [32])], 16 * 32 + 32);
      assertShapeError(denseYaml('model.json'), 'init', 'fc',
        /^layer "fc": the model's kernel is \[32, 16\] \(weight "sequential\/fc\/kernel" \[32, 16\]\) but this dense layer needs \[16, 32\] \[in, out\]/, dir);
    });

    it('a TF.js bias with use_bias: false is an error at use_bias', () => {
      write([spec('fc/kernel', [16, 32]), spec('fc/bias', [32])], 16 * 32 + 32);
      assertShapeError(denseYaml('model.json', '      use_bias: false\n'), 'use_bias', 'fc', /use_bias: false but the model has a bias for it \(weight "fc\/bias" \[32\]\)/, dir);
    });

    it('hostile shapes: 0-dim, zero-sized and huge-but-holdable dims are shape errors; overflowing or non-integer dims are refused by the run, lint stays quiet', () => {
      write([spec('fc/kernel', [])], 1);
      assertShapeError(denseYaml('model.json'), 'init', 'fc', /the model's kernel is \[\] .* needs \[16, 32\]/, dir);
      write([spec('fc/kernel', [0, 32])], 0);
      assertShapeError(denseYaml('model.json'), 'init', 'fc', /the model's kernel is \[0, 32\] .* needs \[16, 32\]/, dir);
      // 1.6e9 values declared over 8 bytes: lint answers from the manifest alone; the run refuses before allocating.
      write([spec('fc/kernel', [40000, 40000])], 2);
      const yaml = denseYaml('model.json');
      const { problems, config } = errorsOf(yaml, dir);
      assert.match(problems.map(p => p.message).join('\n'), /the model's kernel is \[40000, 40000\]/);
      assert.throws(() => loadModelWeights(config!, dir), (e: InputError) => /the \.bin files hold 8 bytes, too few for weight "fc\/kernel" of shape \[40000, 40000\] \(1600000000 values from byte 0\)/.test(e.message));
      for (const [shape, re] of [[[2 ** 40, 2 ** 40], /declares shape \[1099511627776, 1099511627776\]: more values than a model can hold/], [[16, -32], /has shape \[16,-32\]: expected a list of at most 8 non-negative integers/],
        [['16', 32], /has shape \["16",32\]/], [[16.5, 32], /has shape \[16\.5,32\]/], ['16x32', /has shape "16x32"/]] as const) {
        write([spec('fc/kernel', shape)], 4);
        const r = errorsOf(yaml, dir);
        assert.deepEqual(r.problems, [], JSON.stringify(shape));
        assert.throws(() => loadModelWeights(r.config!, dir), (e: InputError) => e instanceof InputError && re.test(e.message) && e.problem.span!.start.line === valueAt(yaml, 'weights').line, re.source);
      }
    });
  });

  it('CLI: lint and diagnose print the problem as file:line:col and exit 2', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-shapes-cli-'));
    const file = path.join(dir, 'net.nn.yaml');
    const yaml = denseYaml(JSON.stringify(path.join(SHAPES, 'gemm-32to16.onnx')));
    fs.writeFileSync(file, yaml);
    const at = valueAt(yaml, 'init');
    for (const cmd of ['lint', 'diagnose']) {
      const r = await runCli([cmd, file]);
      assert.equal(r.code, 2, cmd);
      assert.match(r.err, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${at.line + 1}:${at.character + 1}: layer "fc": the model's kernel is \\[32, 16\\] .* needs \\[16, 32\\]`, 'm'), `${cmd}: ${r.err}`);
    }
    fs.rmSync(dir, { recursive: true });
  });
});
