/**
 * `init: from-model`: training starts from the model's own weights. Oracles: torch's output on the stored
 * batch for ONNX (scripts/fixtures/make-onnx-fixtures.py), TensorFlow.js's predict() for a TF.js layers-model
 * saved with its .bin shard. The core's forward pass with the loaded weights must equal them to 1e-4.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseConfigText, toConfigYaml, importOnnx } from '../../../src/config';
import { loadModelWeights } from '../../../src/config/weights';
import { Trainer } from '../../../src/core/train';
import { InputError, type NetworkConfig } from '../../../src/model';
import { recordReads } from '../../../src/io/userFile';
import { forward, maxDiff } from './forwardOracle';

const GEN = path.join(__dirname, '../../fixtures/onnx/generated');

function nchwToNhwc(x: number[], [N, C, H, W]: number[]): Float32Array {
  const o = new Float32Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) o[((n * H + h) * W + w) * C + c] = x[((n * C + c) * H + h) * W + w];
  return o;
}

describe('init: from-model', function () {
  this.timeout(60000);

  it('model.onnx + init: from-model: the forward pass with the loaded weights equals torch (conv, batchnorm, pooling, flatten order)', () => {
    const cfgFile = path.join(GEN, 'from-model.nn.yaml');
    const r = parseConfigText('model:\n  onnx: cnn-bn-pool.onnx\n  init: from-model\n', cfgFile);
    assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
    assert.equal(r.config.model.fromModel, true);
    const weights = loadModelWeights(r.config, GEN)!;
    const io = JSON.parse(fs.readFileSync(path.join(GEN, 'cnn-bn-pool.io.json'), 'utf8'));
    const y = forward(r.config, weights, nchwToNhwc(io.input.data, io.input.shape), io.input.shape[0]);
    assert.ok(maxDiff(y, io.output.data) < 1e-4, `max diff ${maxDiff(y, io.output.data)}`);
  });

  it('a written-out config (Create Config from ONNX Model) with weights: and init: from-model matches its layers by name', () => {
    const imported = importOnnx(fs.readFileSync(path.join(GEN, 'mlp-gemm.onnx')), path.join(GEN, 'mlp-gemm.onnx')).config!;
    const yaml = toConfigYaml(imported, 'mlp-gemm.onnx').replace(/^model:\n/m, 'model:\n  weights: mlp-gemm.onnx\n  init: from-model\n');
    const r = parseConfigText(yaml, path.join(GEN, 'mlp.nn.yaml'));
    assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
    const weights = loadModelWeights(r.config, GEN)!;
    const io = JSON.parse(fs.readFileSync(path.join(GEN, 'mlp-gemm.io.json'), 'utf8'));
    const y = forward(r.config, weights, Float32Array.from(io.input.data), io.input.shape[0]);
    assert.ok(maxDiff(y, io.output.data) < 1e-4, `max diff ${maxDiff(y, io.output.data)}`);
  });

  it('training starts from the loaded weights: the first probe sees the model, not a fresh draw', () => {
    const r = parseConfigText('model:\n  onnx: mlp-gemm.onnx\n  init: from-model\ndata: {source: teacher, samples: 64, classes: 4}\ntrain: {steps: 1, batch: 8}\n', path.join(GEN, 'x.nn.yaml'));
    const config = r.config!;
    const weights = loadModelWeights(config, GEN)!;
    const data = { inputShape: [8], task: 'classification' as const, targetDim: 4, train: { x: new Float32Array(8 * 8), y: new Float32Array(8), n: 8 }, val: { x: new Float32Array(8 * 8), y: new Float32Array(8), n: 8 } };
    const t = new Trainer(config, data, { initialWeights: weights, kernels: 'js' });
    const kernel = t.net.layers[0].params.find(p => p.name === 'kernel')!.w.v;
    assert.deepEqual(Array.from(kernel), Array.from(weights[0]!.kernel));
    const drawn = new Trainer(config, data, { kernels: 'js' }).net.layers[0].params.find(p => p.name === 'kernel')!.w.v;
    assert.notDeepEqual(Array.from(drawn), Array.from(weights[0]!.kernel));
  });

  it('a layer the model has no weights for, and a layer whose shape changed, are clear errors', () => {
    const imported = importOnnx(fs.readFileSync(path.join(GEN, 'mlp-gemm.onnx')), 'mlp-gemm.onnx').config!;
    const yaml = toConfigYaml(imported, 'mlp-gemm.onnx').replace(/^model:\n/m, 'model:\n  weights: mlp-gemm.onnx\n  init: from-model\n');
    const renamed = parseConfigText(yaml.replace('name: dense_2', 'name: my_dense'), path.join(GEN, 'a.nn.yaml')).partial!;
    assert.throws(() => loadModelWeights(renamed, GEN), (e: InputError) => /mlp-gemm\.onnx has no weights for layer "my_dense" \(layers are matched by name; it has weights for "dense_1"/.test(e.message) && e.problem.span !== undefined);
    // A shape that differs is found as the config is linted, and again when the run loads the weights.
    const wider = parseConfigText(yaml.replace('units: 12', 'units: 13'), path.join(GEN, 'b.nn.yaml'));
    const shapeMsg = /layer "dense_2": the model's kernel is \[16, 12\] \(Gemm B \[12, 16\] with transB = 1\) but this dense layer needs \[16, 13\] \[in, out\]/;
    assert.deepEqual(wider.problems.filter(p => shapeMsg.test(p.message)).map(p => p.span!.start.line), [yaml.split('\n').indexOf('  init: from-model')]);
    assert.throws(() => loadModelWeights(wider.partial!, GEN), (e: InputError) => shapeMsg.test(e.message) && e.problem.span!.start.line === yaml.split('\n').indexOf('  init: from-model'));
  });

  // Per layer: the written-out mlp-gemm config with model.weights, dense_2 and batchnorm_1 from the model, dense_1
  // drawn by he_normal, dense_3 by the default glorot_uniform. The reference for "the model's weights" is the whole
  // model's load, which the first tests check against torch's forward pass.
  const perLayerYaml = () => {
    const imported = importOnnx(fs.readFileSync(path.join(GEN, 'mlp-gemm.onnx')), 'mlp-gemm.onnx').config!;
    return toConfigYaml(imported, 'mlp-gemm.onnx')
      .replace(/^model:\n/m, 'model:\n  weights: mlp-gemm.onnx\n')
      .replace('name: dense_1\n      units: 16', 'name: dense_1\n      units: 16\n      init: he_normal')
      .replace('name: dense_2\n', 'name: dense_2\n      init: from-model\n')
      .replace('name: batchnorm_1\n', 'name: batchnorm_1\n      init: from-model\n');
  };
  const lineOf = (text: string, needle: string, after = '') => text.split('\n').findIndex((l, i, all) => l.includes(needle) && all.slice(0, i).some(x => x.includes(after)));

  it('init: from-model on a layer (ONNX): that layer holds the model\'s weights, the others follow their own init', () => {
    const r = parseConfigText(perLayerYaml(), path.join(GEN, 'per-layer.nn.yaml'));
    assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
    assert.deepEqual(r.config.model.layers.map(l => !!l.fromModel), [false, true, false, true, false]);
    const whole = loadModelWeights({ ...r.config, model: { ...r.config.model, fromModel: true } }, GEN)!;
    const per = loadModelWeights(r.config, GEN)!;
    assert.equal(per[0], undefined);
    assert.equal(per[4], undefined);
    assert.deepEqual(per[1], whole[1]);
    assert.deepEqual(per[3], whole[3]);
    const data = { inputShape: [8], task: 'classification' as const, targetDim: 4, train: { x: new Float32Array(64), y: new Float32Array(8), n: 8 }, val: { x: new Float32Array(64), y: new Float32Array(8), n: 8 } };
    const net = new Trainer(r.config, data, { initialWeights: per, kernels: 'js' }).net;
    const drawn = new Trainer(r.config, data, { kernels: 'js' }).net;
    const param = (n: typeof net, layer: number, name: string) => Array.from(n.layers[layer].params.find(p => p.name === name)!.w.v);
    assert.deepEqual(param(net, 3, 'kernel'), Array.from(whole[3]!.kernel));
    assert.deepEqual(param(net, 1, 'moving_variance'), Array.from(whole[1]!.moving_variance));
    for (const i of [0, 4]) {
      assert.deepEqual(param(net, i, 'kernel'), param(drawn, i, 'kernel'), `layer ${i} keeps its seeded draw`);
      assert.notDeepEqual(param(net, i, 'kernel'), Array.from(whole[i]!.kernel), `layer ${i} is not the model's`);
    }
    // dense_1 follows he_normal: Var(w) = 2 / fan_in = 0.25 (128 weights: the sample variance within 40%).
    const k = param(net, 0, 'kernel');
    const mean = k.reduce((a, b) => a + b, 0) / k.length;
    const v = k.reduce((a, b) => a + (b - mean) ** 2, 0) / k.length;
    assert.ok(Math.abs(v - 0.25) < 0.1, `dense_1 variance ${v}`);
  });

  it('a layer\'s init: from-model that has no counterpart in the model, a different shape or no model file: errors at its init', () => {
    const yaml = perLayerYaml();
    const initLine = lineOf(yaml, 'init: from-model', 'name: dense_2');
    const renamed = yaml.replace('name: dense_2', 'name: my_dense');
    const a = parseConfigText(renamed, path.join(GEN, 'a.nn.yaml')).partial!;
    assert.throws(() => loadModelWeights(a, GEN), (e: InputError) => e instanceof InputError
      && /mlp-gemm\.onnx has no weights for layer "my_dense" \(layers are matched by name; it has weights for "dense_1", "batchnorm_1", "dense_2", "dense_3"\)/.test(e.message)
      && e.problem.span!.start.line === initLine && e.problem.span!.start.character === 12 && e.problem.layer === 'my_dense');
    const wider = parseConfigText(yaml.replace('units: 12', 'units: 13'), path.join(GEN, 'b.nn.yaml')).partial!;
    assert.throws(() => loadModelWeights(wider, GEN), (e: InputError) => /layer "dense_2": the model's kernel is \[16, 12\] .* but this dense layer needs \[16, 13\] \[in, out\]: its shape differs/.test(e.message) && e.problem.span!.start.line === initLine);
    const noFile = parseConfigText(yaml.replace('  weights: mlp-gemm.onnx\n', ''), path.join(GEN, 'c.nn.yaml'));
    const p = noFile.problems.filter(x => /has init: from-model but the config names no model file: add model\.weights/.test(x.message));
    assert.deepEqual(p.map(x => [x.layer, x.span!.start.line]), [['batchnorm_1', lineOf(yaml, 'init: from-model', 'name: batchnorm_1') - 1], ['dense_2', initLine - 1]]);
    const typo = parseConfigText(yaml.replace('name: dense_2\n      init: from-model', 'name: dense_2\n      init: from_model').replace('name: batchnorm_1\n      init: from-model', 'name: batchnorm_1\n      init: from_model'), path.join(GEN, 'd.nn.yaml'));
    const said = typo.problems.map(x => x.message);
    assert.ok(said.includes('unknown initializer "from_model" (did you mean "from-model"?)'), said.join('\n'));
    assert.ok(said.some(m => /^unknown init "from_model" \(did you mean "from-model"\?\)/.test(m)), said.join('\n'));
  });

  it('init: from-model without a model to read from is an error at the value', () => {
    const r = parseConfigText('model:\n  init: from-model\n  layers: [{type: dense, units: 1}]\n  input: 2\n', 'x.nn.yaml');
    const e = r.problems.find(p => /init: from-model needs the model the weights come from/.test(p.message));
    assert.ok(e, r.problems.map(p => p.message).join('\n'));
    assert.equal(e.span!.start.line, 1);
  });

  it('a TF.js layers-model with its .bin shard: the forward pass equals TensorFlow.js predict()', async () => {
    const model = tfl.sequential({ layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'relu', name: 'conv' }),
      tfl.layers.batchNormalization({ name: 'bn' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 4, activation: 'softmax', name: 'out' }),
    ] });
    // Non-default batchnorm statistics, so that ignoring them would show.
    const bn = model.getLayer('bn');
    bn.setWeights(bn.getWeights().map((w, i) => tf.add(w, tf.randomUniform(w.shape, 0.1, 0.5, 'float32', 10 + i))));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-'));
    await model.save(tf.io.withSaveHandler(async art => {
      const json = { format: 'layers-model', modelTopology: art.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: art.weightSpecs }] };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.from(art.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const r = parseConfigText('model:\n  keras: model.json\n  init: from-model\n', path.join(dir, 'net.nn.yaml'));
    assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
    const weights = loadModelWeights(r.config, dir)!;
    const x = tf.randomNormal([5, 6, 6, 2], 0, 1, 'float32', 3);
    const want = await (model.predict(x) as tf.Tensor).data();
    const got = forward(r.config, weights, await x.data() as Float32Array, 5);
    assert.ok(maxDiff(got, want) < 1e-4, `max diff ${maxDiff(got, want)}`);
    fs.rmSync(dir, { recursive: true });
  });

  it('TF.js weights split over two .bin shards (cut mid-float) load as one; shards outside the folder, short or float16 are refused', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 5, activation: 'tanh', name: 'h' }), tfl.layers.dense({ units: 2, name: 'o' })] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-'));
    let specs: unknown[] = []; let topology: unknown; let bytes = Buffer.alloc(0);
    await model.save(tf.io.withSaveHandler(async art => {
      specs = art.weightSpecs!; topology = art.modelTopology; bytes = Buffer.from(art.weightData as ArrayBuffer);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const write = (paths: string[], weights = specs) => fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [{ paths, weights }] }));
    fs.writeFileSync(path.join(dir, 'group1-shard1of2.bin'), bytes.subarray(0, 37));
    fs.writeFileSync(path.join(dir, 'group1-shard2of2.bin'), bytes.subarray(37));
    write(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    const cfg = parseConfigText('model:\n  keras: model.json\n  init: from-model\n', path.join(dir, 'net.nn.yaml')).config!;
    const w = loadModelWeights(cfg, dir)!;
    const names = cfg.model.layers.map(l => l.name);
    for (const layer of ['h', 'o']) {
      const [kernel, bias] = model.getLayer(layer).getWeights().map(t => Array.from(t.dataSync()));
      assert.deepEqual(Array.from(w[names.indexOf(layer)]!.kernel), kernel);
      assert.deepEqual(Array.from(w[names.indexOf(layer)]!.bias), bias);
    }
    const refused = (paths: string[], re: RegExp, weights = specs) => {
      write(paths, weights);
      assert.throws(() => loadModelWeights(cfg, dir), (e: InputError) => e instanceof InputError && re.test(e.message) && e.problem.span !== undefined, re.source);
    };
    fs.writeFileSync(path.join(path.dirname(dir), 'outside.bin'), bytes);
    refused(['../outside.bin'], /weight file "\.\.\/outside\.bin" is not a file beside the model/);
    refused(['group1-shard1of2.bin'], /the \.bin files hold 37 bytes, too few for weight/);
    refused(['nope.bin'], /cannot read nope\.bin: no such file/);
    // Attack review finding 2: a shard listed 60 times was read 60 times; a file larger than the weights read whole.
    refused(['group1-shard1of2.bin', 'group1-shard1of2.bin', 'group1-shard2of2.bin'], /weight file "group1-shard1of2\.bin" is listed twice in the weightsManifest/);
    fs.writeFileSync(path.join(dir, 'padded.bin'), Buffer.concat([bytes, Buffer.alloc(4)]));
    refused(['padded.bin'], new RegExp(`the \\.bin files hold more than the ${bytes.length} bytes the shapes of their weights need \\(${bytes.length + 4} bytes up to padded\\.bin\\)`));
    refused(['group1-shard1of2.bin', 'group1-shard2of2.bin'], /weight "[^"]+" is float16; only float32 weights are read/, (specs as { dtype: string }[]).map((x, i) => (i ? x : { ...x, dtype: 'float16' })));
    // Attack review 15: two names for one shard (a symbolic or a hard link) read it twice; refused by device and inode.
    fs.symlinkSync('group1-shard1of2.bin', path.join(dir, 'sym.bin'));
    fs.linkSync(path.join(dir, 'group1-shard1of2.bin'), path.join(dir, 'hard.bin'));
    refused(['group1-shard1of2.bin', 'sym.bin', 'group1-shard2of2.bin'], /weight files "group1-shard1of2\.bin" and "sym\.bin" are the same file \(a link\)/);
    refused(['hard.bin', 'group1-shard1of2.bin', 'group1-shard2of2.bin'], /weight files "hard\.bin" and "group1-shard1of2\.bin" are the same file \(a link\)/);
    // The weights the layers use are capped by the run's memory limit (here 32 floats, 128 bytes, over 100 bytes).
    write(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    assert.throws(() => loadModelWeights(cfg, dir, undefined, 100 / (1024 * 1024)), (e: InputError) => e instanceof InputError && /the weights of this config's layers take 1 MB, more than the memory limit/.test(e.message));
    assert.ok(loadModelWeights(cfg, dir, undefined, 128 / (1024 * 1024)));
    // A weight no layer uses is not read: a group of only such weights may name a shard that is not there, and
    // a 2^30-value weight in the used group's manifest is neither read nor counted (its shard holds its bytes: sparse).
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [
      { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'tail.bin'], weights: [...specs, { name: 'unused/kernel', shape: [2 ** 27], dtype: 'float32' }] },
      { paths: ['missing.bin'], weights: [{ name: 'elsewhere/kernel', shape: [2 ** 30], dtype: 'float32' }] }] }));
    fs.closeSync(fs.openSync(path.join(dir, 'tail.bin'), 'w'));
    fs.truncateSync(path.join(dir, 'tail.bin'), 4 * 2 ** 27);
    const reads = recordReads();
    const w2 = loadModelWeights(cfg, dir, undefined, 1)!;
    reads.stop();
    assert.deepEqual(Array.from(w2[names.indexOf('o')]!.bias), Array.from(model.getLayer('o').getWeights()[1].dataSync()));
    assert.ok(!reads.files.some(f => f.path === 'missing.bin'));
    fs.rmSync(path.join(path.dirname(dir), 'outside.bin'));
    fs.rmSync(dir, { recursive: true });
  });

  it('init: from-model on one layer of a TF.js model.json: that layer equals TensorFlow.js\'s weights, the other is drawn', async () => {
    const model = tfl.sequential({ layers: [
      tfl.layers.dense({ inputShape: [5], units: 7, activation: 'relu', name: 'hidden' }),
      tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
    ] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-'));
    await model.save(tf.io.withSaveHandler(async art => {
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: art.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: art.weightSpecs }] }));
      fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.from(art.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const yaml = 'seed: 5\nmodel:\n  weights: model.json\n  input: 5\n  layers:\n    - {type: dense, name: hidden, units: 7, activation: relu, init: from-model}\n    - {type: dense, name: out, units: 3, activation: softmax}\n';
    const r = parseConfigText(yaml, path.join(dir, 'net.nn.yaml'));
    assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
    const w = loadModelWeights(r.config, dir)!;
    // TF.js keeps a dense kernel as [in, out], the core's layout: compare value for value.
    const [kernel, bias] = model.getLayer('hidden').getWeights().map(t => Array.from(t.dataSync()));
    assert.deepEqual(Array.from(w[0]!.kernel), kernel);
    assert.deepEqual(Array.from(w[0]!.bias), bias);
    assert.equal(w[1], undefined);
    const data = { inputShape: [5], task: 'classification' as const, targetDim: 3, train: { x: new Float32Array(40), y: new Float32Array(8), n: 8 }, val: { x: new Float32Array(40), y: new Float32Array(8), n: 8 } };
    const net = new Trainer(r.config, data, { initialWeights: w, kernels: 'js' }).net;
    const drawn = new Trainer(r.config, data, { kernels: 'js' }).net;
    const k = (n: typeof net, i: number) => Array.from(n.layers[i].params.find(p => p.name === 'kernel')!.w.v);
    assert.deepEqual(k(net, 0), kernel);
    assert.deepEqual(k(net, 1), k(drawn, 1));
    assert.notDeepEqual(k(net, 1), Array.from(model.getLayer('out').getWeights()[0].dataSync()));
    fs.rmSync(dir, { recursive: true });
  });
});
