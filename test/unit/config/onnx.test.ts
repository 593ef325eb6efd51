/**
 * ONNX import: the real public files of the corpus (layer lists and parameter counts from its MANIFEST, which
 * python3-onnx computed), the torch-exported fixtures of scripts/fixtures/make-onnx-fixtures.py (every pattern
 * of the issue; the core's forward pass with the model's weights equals torch's output on a stored batch),
 * the negatives (refused with the node's name and op), and `model.onnx:` in a config.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { loadConfigFile, parseConfigText } from '../../../src/config';
import { importOnnx, onnxWeights, readOnnx } from '../../../src/config/onnx';
import { ONNX_PROTO } from '../../../src/config/onnx/protoText';
import { Reporter } from '../../../src/config/read';
import { inferShapes } from '../../../src/config/shapes';
import { Network } from '../../../src/core/network';
import { formatProblem, type NetworkConfig } from '../../../src/model';
import { recordReads } from '../../../src/io/userFile';

const FIX = path.join(__dirname, '../../fixtures/onnx');
const CORPUS = path.join(FIX, 'corpus');
const GEN = path.join(FIX, 'generated');
const SRC = path.join(__dirname, '../../../src/config/onnx');

function read(file: string): { layers: string[]; params: number; input?: number[]; problems: string[]; warnings: string[] } {
  const rep = new Reporter();
  const d = readOnnx(fs.readFileSync(file), file, rep);
  const shapes = d.input ? inferShapes(d.input, d.layers).shapes : [];
  return {
    layers: d.layers.map(l => ('activation' in l && !(l.type === 'activation') ? `${l.type}:${l.activation.name}` : l.type === 'activation' ? `activation:${l.activation.name}` : l.type)),
    params: shapes.reduce((a, s) => a + s.params, 0), input: d.input,
    problems: rep.problems.filter(p => p.severity === 'error').map(p => p.message), warnings: rep.problems.filter(p => p.severity === 'warning').map(p => p.message),
  };
}

describe('ONNX import', function () {
  this.timeout(60000);

  it('onnxProto.ts equals onnx.proto', () => {
    const text = fs.readFileSync(path.join(SRC, 'onnx.proto'), 'utf8');
    if (process.env.UPDATE_PROTOS) {
      const body = fs.readFileSync(path.join(SRC, 'protoText.ts'), 'utf8').split('export const ONNX_PROTO')[0];
      fs.writeFileSync(path.join(SRC, 'protoText.ts'), `${body}export const ONNX_PROTO = ${JSON.stringify(text)};\n`);
    }
    assert.equal(ONNX_PROTO, text, 'regenerate protoText.ts');
    assert.match(text, /SPDX-License-Identifier: Apache-2\.0/);
  });

  describe('the corpus (expected values from its MANIFEST)', () => {
    // MANIFEST: op sequence and "trainable params" per file.
    const cases: [string, number, number[], string[]][] = [
      ['01-mlp-mnist-256x2-pytorch-gemm.onnx', 269_322, [784], ['dense:relu', 'dense:relu', 'dense:linear']],
      ['03-cnn-mnist8-cntk-conv-add-reshape.onnx', 5_994, [28, 28, 1], ['conv2d:relu', 'maxpool2d', 'conv2d:relu', 'maxpool2d', 'flatten', 'dense:linear']],
      ['05-cnn-mnist-pytorch-conv-flatten-gemm.onnx', 3_047, [28, 28, 1], ['conv2d:relu', 'conv2d:relu', 'flatten', 'dense:relu', 'dense:linear']],
      ['07-mlp-sigmoid-keras2onnx.onnx', 21, [2], ['dense:sigmoid', 'dense:sigmoid']],
      ['09-gelu-erf-pytorch-activation-only.onnx', 0, [1, 4, 1], ['activation:gelu']],
    ];
    for (const [file, params, input, layers] of cases) {
      it(`${file}: ${layers.length} layers, ${params} parameters`, () => {
        const r = read(path.join(CORPUS, file));
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.layers, layers);
        assert.equal(r.params, params);
        assert.deepEqual(r.input, input);
      });
    }

    it('13 (LSTM) is refused naming the node, its op and what is supported; the CLI line has no line:col', () => {
      const file = path.join(CORPUS, '13-neg-lstm-pytorch.onnx');
      const r = loadConfigFile(file);
      assert.equal(r.config, undefined);
      const line = formatProblem('13.onnx', r.problems[0]);
      assert.match(line, /^13\.onnx: node \/lstm\/LSTM \(LSTM\): recurrent layers are not supported \(supported: Gemm, MatMul, Conv/);
      assert.match(line, /PRelu, Gelu, x\*Sigmoid\(x\), constant plumbing\)$/, 'the list of supported ops is not cut off');
    });

    it('a file given directly is a config: teacher data of the model\'s input shape, the layers, the file as its origin', () => {
      const r = loadConfigFile(path.join(CORPUS, '05-cnn-mnist-pytorch-conv-flatten-gemm.onnx'));
      assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
      assert.equal(r.config.data.source, 'teacher');
      assert.deepEqual(r.config.model.input, [28, 28, 1]);
      assert.match(r.config.model.onnx!, /05-cnn.*\.onnx$/);
    });
  });

  describe('exports of every pattern (torch 1.13 and hand-built fixtures)', () => {
    const cases: [string, string[]][] = [
      ['mlp-gemm', ['dense:linear', 'batchnorm', 'activation:relu', 'dense:tanh', 'dense:softmax']],
      ['cnn-bn-pool', ['conv2d:relu', 'batchnorm', 'maxpool2d', 'conv2d:elu', 'avgpool2d', 'flatten', 'dense:linear']],
      ['cnn-gap-dropout', ['conv2d:leaky_relu', 'conv2d:relu', 'global_avgpool2d', 'dense:linear']],
      ['activations', ['leaky_relu', 'elu', 'selu', 'tanh', 'softplus', 'softsign', 'hard_sigmoid', 'relu6', 'prelu', 'gelu', 'swish', 'sigmoid', 'softmax'].map(a => `dense:${a}`)],
      ['mlp-opset9-floatdata-unsorted', ['dense:sigmoid', 'dense:linear']],
      ['external-data', ['dense:relu', 'dense:linear']],
      ['nhwc-transpose-flatten', ['conv2d:relu', 'flatten', 'dense:linear']],
      ['conv-fullmap-fc', ['conv2d:relu', 'conv2d:relu', 'conv2d:linear', 'flatten', 'activation:softmax']],
      ['conv-add-bias', ['conv2d:tanh', 'maxpool2d', 'flatten', 'dense:linear']],
      ['matmul-left-rank1', ['dense:relu', 'dense:linear']],
      ['gelu-op20', ['dense:gelu', 'dense:linear']],
    ];
    for (const [name, layers] of cases) {
      it(`${name}: ${layers.join(' ')}; forward with its weights equals torch's output to 1e-4`, () => {
        const file = path.join(GEN, `${name}.onnx`);
        const r = read(file);
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.layers, layers);
        const diff = forwardDiff(file, name === 'activations');
        assert.ok(diff < 1e-4, `max |core - torch| = ${diff}`);
      });
    }

    it('the activation chain (ELU alpha, LeakyReLU slope, PReLU slopes per unit) keeps its parameters', () => {
      const r = importOnnx(fs.readFileSync(path.join(GEN, 'activations.onnx')), 'a.onnx');
      const acts = r.config!.model.layers.map(l => ('activation' in l ? l.activation : undefined));
      assert.deepEqual(acts[0], { name: 'leaky_relu', alpha: 0.1 });
      assert.deepEqual(acts[1], { name: 'elu', alpha: 0.5 });
      const { weights } = onnxWeights(fs.readFileSync(path.join(GEN, 'activations.onnx')), 'a.onnx');
      assert.equal(weights[8].alpha.length, 6);
      assert.ok(weights[8].alpha.every(v => v >= 0.1 && v <= 0.4), 'the slopes torch was given (uniform 0.1..0.4), not PReLU\'s default 0.25');
    });

    it('a missing external-data sidecar is a clean error naming the file', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-'));
      fs.copyFileSync(path.join(GEN, 'external-data.onnx'), path.join(dir, 'external-data.onnx'));
      const bytes = fs.readFileSync(path.join(dir, 'external-data.onnx'));
      const r = onnxWeights(bytes, path.join(dir, 'external-data.onnx'));
      assert.deepEqual(r.weights, []);
      assert.match(r.problems[0].message, /cannot read the external data file external-data\.onnx\.data: no such file beside the model/);
      fs.rmSync(dir, { recursive: true });
    });

    it('external data outside the model\'s folder is never read', () => {
      const bytes = rewrite(fs.readFileSync(path.join(GEN, 'external-data.onnx')), m => {
        for (const t of (m.graph as { initializer: { external_data: { key: string; value: string }[] }[] }).initializer) {
          for (const kv of t.external_data) if (kv.key === 'location') kv.value = '../../etc/passwd';
        }
      });
      assert.match(onnxWeights(bytes, path.join(GEN, 'x.onnx')).problems[0].message, /external data "\.\.\/\.\.\/etc\/passwd" is not a file beside the model/);
    });
  });

  describe('negatives', () => {
    const cases: [string, RegExp][] = [
      ['neg-dilation', /^node \/0\/Conv \(Conv\): dilated convolution \(dilations \[2, 2\]\) is not supported$/],
      ['neg-groups', /^node \/0\/Conv \(Conv\): grouped convolution \(group = 2\) is not supported$/],
      ['neg-resize', /^node \/1\/Resize \(Resize\): resizing \(upsampling\) is not supported \(supported: /],
      ['neg-residual', /^node \/Add \(Add\): tensor "input" feeds 2 nodes \(\/a\/Gemm \(Gemm\), \/Add \(Add\)\): branches such as residual connections are not supported/],
      ['neg-gru', /^node \/GRU \(GRU\): recurrent layers are not supported/],
      ['neg-if', /^node branch \(If\): control flow \(subgraphs\) is not supported/],
    ];
    for (const [name, re] of cases) {
      it(`${name} is refused: ${re.source.slice(1, 50)}...`, () => {
        const r = read(path.join(GEN, `${name}.onnx`));
        assert.equal(r.problems.length, 1, r.problems.join('\n'));
        assert.match(r.problems[0], re);
      });
    }

    it('bytes that are not ONNX (a YAML config, an empty file) say so', () => {
      for (const bytes of [Buffer.from('model:\n  layers: []\n'), Buffer.alloc(0)]) {
        const r = importOnnx(bytes, 'x.onnx');
        assert.equal(r.config, undefined);
        assert.match(r.problems[0].message, /not an ONNX model/);
      }
    });

    // Without a bias: a bias of the layer's old size is refused at its node already.
    it('a Gemm without bias whose weight has no output units (a [0, 784] matrix) is refused at its node', () => {
      const bytes = rewrite(fs.readFileSync(path.join(CORPUS, '01-mlp-mnist-256x2-pytorch-gemm.onnx')), m => {
        const g = m.graph as { node: { op_type: string; input: string[] }[]; initializer: { name: string; dims: number[]; raw_data?: Uint8Array; float_data?: number[] }[] };
        const gemm = g.node.find(n => n.op_type === 'Gemm')!;
        const w = g.initializer.find(t => t.name === gemm.input[1])!;
        w.dims = [0, w.dims[1]]; w.raw_data = new Uint8Array(0); w.float_data = [];
        gemm.input = gemm.input.slice(0, 2);
      });
      const r = importOnnx(bytes, 'x.onnx');
      assert.equal(r.config, undefined);
      assert.equal(r.problems.length, 1, r.problems.map(p => p.message).join('\n'));
      assert.match(r.problems[0].message, /^node \S+ \(Gemm\): weight B of shape \[0, 784\] \(transposed\) has no output units$/);
    });

    it('a MatMul whose weight has no output units (its bias Add taken out) is refused at its node', () => {
      const bytes = rewrite(fs.readFileSync(path.join(CORPUS, '07-mlp-sigmoid-keras2onnx.onnx')), m => {
        const g = m.graph as { node: { op_type: string; input: string[]; output: string[] }[]; output: { name: string }[]; initializer: { name: string; dims: number[]; raw_data?: Uint8Array; float_data?: number[] }[] };
        const mm = g.node.find(n => n.op_type === 'MatMul')!;
        const add = g.node.find(n => n.op_type === 'Add' && n.input.includes(mm.output[0]))!;
        g.node.splice(g.node.indexOf(add), 1);
        for (const n of g.node) n.input = n.input.map(i => i === add.output[0] ? mm.output[0] : i);
        for (const o of g.output) if (o.name === add.output[0]) o.name = mm.output[0];
        const w = g.initializer.find(t => mm.input.includes(t.name) && t.dims.length === 2)!;
        w.dims = [w.dims[0], 0]; w.raw_data = new Uint8Array(0); w.float_data = [];
      });
      const r = importOnnx(bytes, 'x.onnx');
      assert.equal(r.config, undefined);
      assert.equal(r.problems.length, 1, r.problems.map(p => p.message).join('\n'));
      assert.match(r.problems[0].message, /^node \S+ \(MatMul\): weight of shape \[\d+, 0\] has no output units$/);
    });

    it('a Conv without bias whose weight has no filters or an empty kernel is refused at its node', () => {
      for (const [zero, what] of [[0, 'no filters'], [2, 'an empty kernel']] as const) {
        let dims: number[] = [];
        const bytes = rewrite(fs.readFileSync(path.join(CORPUS, '05-cnn-mnist-pytorch-conv-flatten-gemm.onnx')), m => {
          const g = m.graph as { node: { op_type: string; input: string[] }[]; initializer: { name: string; dims: number[]; raw_data?: Uint8Array; float_data?: number[] }[] };
          const conv = g.node.find(n => n.op_type === 'Conv')!;
          const w = g.initializer.find(t => t.name === conv.input[1])!;
          w.dims = dims = w.dims.map((d, i) => i === zero ? 0 : d); w.raw_data = new Uint8Array(0); w.float_data = [];
          conv.input = conv.input.slice(0, 2);
        });
        const r = importOnnx(bytes, 'x.onnx');
        assert.equal(r.config, undefined, what);
        assert.equal(r.problems.length, 1, r.problems.map(p => p.message).join('\n'));
        assert.equal(r.problems[0].message.replace(/^node \S+ \(Conv\): /, ''), `weight of shape [${dims.join(', ')}] has ${what}`);
      }
    });

    it('a Conv whose padding is neither same nor valid names both sizes', () => {
      const bytes = rewrite(fs.readFileSync(path.join(CORPUS, '05-cnn-mnist-pytorch-conv-flatten-gemm.onnx')), m => {
        const conv = (m.graph as { node: { op_type: string; attribute: { name: string; ints: number[] }[] }[] }).node.find(n => n.op_type === 'Conv')!;
        conv.attribute.find(a => a.name === 'pads')!.ints = [3, 3, 3, 3];
      });
      const r = importOnnx(bytes, 'p.onnx');
      assert.match(r.problems[0].message, /^node .* \(Conv\): pads \[3, 3, 3, 3\] give a \d+x\d+ output from 28x28, neither same \(\d+x\d+\) nor valid/);
    });
  });

  describe('model.onnx in a config', () => {
    it('imports the layers; the config\'s own train settings stay', () => {
      const file = path.join(CORPUS, 'net.nn.yaml');
      const text = 'model:\n  onnx: 07-mlp-sigmoid-keras2onnx.onnx\ntrain:\n  lr: 0.05\n  steps: 10\n';
      const r = parseConfigText(text, file);
      assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
      assert.deepEqual(r.config.model.layers.map(l => l.type), ['dense', 'dense']);
      assert.equal(r.config.train.lr, 0.05);
      assert.equal(r.config.model.onnx, '07-mlp-sigmoid-keras2onnx.onnx');
    });

    it('problems of the ONNX file are shown at the onnx: value, naming the file and node', () => {
      const text = 'model:\n  onnx: 13-neg-lstm-pytorch.onnx\n';
      const r = parseConfigText(text, path.join(CORPUS, 'net.nn.yaml'));
      const e = r.problems.find(p => p.severity === 'error')!;
      assert.match(e.message, /^13-neg-lstm-pytorch\.onnx: node \/lstm\/LSTM \(LSTM\): recurrent/);
      assert.deepEqual([e.span!.start.line, e.span!.start.character], [1, 8]);
    });

    it('the model is imported once per (path, inode, size, mtime, ctime): a rewrite with the same size and mtime is read again', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-onnx-cache-'));
      try {
        const model = path.join(dir, 'm.onnx');
        const good = fs.readFileSync(path.join(CORPUS, '07-mlp-sigmoid-keras2onnx.onnx'));
        fs.writeFileSync(model, good);
        const when = new Date(2020, 0, 1);
        fs.utimesSync(model, when, when);
        const text = 'model:\n  onnx: m.onnx\n';
        const opened = () => {
          const rec = recordReads();
          let r;
          try { r = parseConfigText(text, path.join(dir, 'net.nn.yaml')); } finally { rec.stop(); }
          return { r, opens: rec.files.filter(f => f.realPath === fs.realpathSync(model)).length };
        };
        const first = opened();
        assert.deepEqual(first.r.config?.model.layers.map(l => l.type), ['dense', 'dense']);
        assert.equal(first.opens, 2, 'a miss: stat, then the read');
        // Unchanged: the cached import answers after the stat alone (what the editor gets on every keystroke).
        const hit = opened();
        assert.equal(hit.opens, 1, 'a hit: the stat only');
        assert.deepEqual(hit.r.config?.model.layers, first.r.config!.model.layers);
        // Attack review 15: garbage of the same size, its mtime set back, on the same inode: f7790c8's key
        // (path, size, mtime) kept the stale import. The ctime moved (waited for the file clock to tick, not timed).
        const before = fs.statSync(model).ctimeMs;
        fs.writeFileSync(model, Buffer.alloc(good.length, 0xff));
        fs.utimesSync(model, when, when);
        while (fs.statSync(model).ctimeMs === before) fs.utimesSync(model, when, when);
        const changed = opened();
        assert.equal(changed.opens, 2);
        assert.match(changed.r.problems.find(p => p.severity === 'error')!.message, /^m\.onnx: not an ONNX model/);
      } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    });

    it('a missing file, and both layers and onnx, are errors at their place', () => {
      const r = parseConfigText('model:\n  onnx: nope.onnx\n', path.join(CORPUS, 'net.nn.yaml'));
      assert.match(r.problems[0].message, /cannot read nope\.onnx: no such file/);
      const both = parseConfigText('model:\n  layers: [{type: dense, units: 1}]\n  onnx: x.onnx\n', path.join(CORPUS, 'net.nn.yaml'));
      assert.ok(both.problems.some(p => /model has both "layers" and "onnx"/.test(p.message)));
    });
  });
});

/** Re-encodes an ONNX file after changing its decoded message (for hostile variants of real files). */
export function rewrite(bytes: Uint8Array, change: (m: Record<string, unknown>) => void): Uint8Array {
  const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  const T = root.lookupType('onnx.ModelProto');
  const m = T.decode(bytes) as unknown as Record<string, unknown>;
  change(m);
  return T.encode(m as never).finish();
}

/** Max |core forward - torch output| with the model's own weights, NCHW inputs transposed to the core's NHWC. */
function forwardDiff(file: string, logSoftmax: boolean): number {
  const bytes = fs.readFileSync(file);
  const r = importOnnx(bytes, file);
  const config = r.config as NetworkConfig;
  const io = JSON.parse(fs.readFileSync(file.replace(/\.onnx$/, '.io.json'), 'utf8')) as { input: { shape: number[]; data: number[] }; output: { data: number[] } };
  const rows = io.input.shape[0];
  const net = new Network(config, { rows, kernels: 'js' }).commit();
  assert.deepEqual(net.loadWeights(onnxWeights(bytes, file).weights), []);
  let x = Float32Array.from(io.input.data);
  const s = io.input.shape;
  if (s.length === 4 && config.model.input.join() !== s.slice(1).join()) {
    const [N, C, H, W] = s, o = new Float32Array(x.length);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) o[((n * H + h) * W + w) * C + c] = x[((n * C + c) * H + h) * W + w];
    x = o;
  }
  net.input.v.set(x);
  net.forward(rows, 'eval');
  const out = net.layers[net.layers.length - 1].out.v, y = io.output.data;
  let max = 0;
  for (let i = 0; i < y.length; i++) max = Math.max(max, Math.abs((logSoftmax ? Math.log(out[i]) : out[i]) - y[i]));
  return max;
}
