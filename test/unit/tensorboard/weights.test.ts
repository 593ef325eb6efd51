/**
 * Weight-only logs (issue 15): per-layer weight statistics from the corpus against its MANIFEST oracle and the
 * source scripts' architectures, the update-ratio lower bound against known displacements and the core's own
 * updateRatio, the weight findings on logs whose truth is known, activation inference, and "no layers".
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Trainer } from '../../../src/core/train';
import { Rng } from '../../../src/core/rng';
import { diagnoseTbRun } from '../../../src/tensorboard/diagnose';
import { diagnoseRun } from '../../../src/cli/diagnoseRun';
import { decodeEvent, encodeEvent, type TbHistogram } from '../../../src/tensorboard/events';
import { logWeights } from '../../../src/tensorboard/fromCore';
import { readLogdir } from '../../../src/tensorboard/logdir';
import type { TbRun } from '../../../src/tensorboard/run';
import { displacementLowerBound, weightMoments } from '../../../src/tensorboard/weights';
import { EventFileWriter, histogramOf, histogramTensorOf } from '../../../src/tensorboard/writer';
import { smooth } from '../../../webview/series';
import { tbRunView } from '../../../src/tensorboard/view';
import { watchForHost } from '../../../src/worker/tensorboardWorker';
import { makeConfig, randomData } from '../core/helpers';

const FIXTURES = path.join(__dirname, '../../fixtures/tfevents');
const corpus = (n: string) => readLogdir(path.join(FIXTURES, fs.readdirSync(FIXTURES).find(f => f.startsWith(n))!))[0];
const weightsOf = (run: TbRun, layer: string) => {
  const l = run.layers.find(x => x.name === layer)!;
  return run.timeline.map(p => ({ step: p.step, w: p.layers[l.index].weights })).filter(x => x.w);
};

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await diagnoseRun(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

/** A histogram as the reader sees it, through the writer's encoding and the decoder (old-style or TF2). */
function roundTrip(values: ArrayLike<number>, tf2 = false): TbHistogram {
  const value = tf2
    ? (() => { const { rows, k } = histogramTensorOf(values); return { tag: 'w', tensor: { dtype: 2, tensor_shape: { dim: [{ size: k }, { size: 3 }] }, double_val: Array.from(rows) }, metadata: { plugin_data: { plugin_name: 'histograms' } } }; })()
    : { tag: 'w', histo: histogramOf(values) };
  const e = decodeEvent(encodeEvent({ step: 0, summary: { value: [value] } }), new Map());
  const v = e.values[0];
  assert.equal(v.kind, 'histogram');
  return (v as { hist: TbHistogram }).hist;
}

const normal = (n: number, seed: number, std = 1) => { const r = new Rng(seed); return Float32Array.from({ length: n }, () => std * r.normal()); };
const l2 = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));

describe('tensorboard: weights from histograms', function () {
  this.timeout(60000);

  describe('corpus', () => {
    it('01 (MyLinearLayer/Weights_Distribution) maps without --tag: exact statistics from sum/sum_squares, no loss => no non-finite finding', () => {
      const run = corpus('01');
      assert.deepEqual(run.layers.map(l => l.name), ['MyLinearLayer']);
      const s = weightsOf(run, 'MyLinearLayer');
      assert.equal(s.length, 10);
      // MANIFEST oracle, step 0: num=100, sum=0.9857620149850845, sum_squares=4.498269244584625
      const w0 = s[0].w!;
      assert.equal(w0.count, 100);
      assert.ok(Math.abs(w0.mean - 0.9857620149850845 / 100) < 1e-12);
      assert.ok(Math.abs(w0.norm - Math.sqrt(4.498269244584625)) < 1e-12);
      assert.ok(Math.abs(w0.std - Math.sqrt(4.498269244584625 / 100 - (0.009857620149850845) ** 2)) < 1e-12);
      assert.equal(w0.exact, true);
      const findings = diagnoseTbRun(run);
      assert.ok(!findings.some(f => f.kind === 'non-finite'), JSON.stringify(findings.map(f => f.message)));
      // The script adds noise to the weights every step: they move by several % of their norm per step.
      const upd = findings.find(f => f.kind === 'update-ratio');
      assert.ok(upd && upd.severity === 'warning' && (upd.evidence.updateRatioLower as number) >= 0.01, JSON.stringify(findings));
      assert.equal(upd.evidence.tag, 'MyLinearLayer/Weights_Distribution');
    });

    it('03 (tensorboardX CNN, 10 logged steps over 9373): four layers, fan-ins of the source model, conv1 at 931 equals the oracle', () => {
      const run = corpus('03');
      assert.deepEqual(run.layers.map(l => l.name), ['conv1', 'conv2', 'fc1', 'fc2']);
      // main.py: Conv2d(1, 10, 5), Conv2d(10, 20, 5), Linear(320, 50), Linear(50, 10)
      assert.deepEqual(run.layers.map(l => l.weightCount! / l.biasCount!), [25, 250, 320, 50]);
      for (const l of run.layers) {
        const s = weightsOf(run, l.name);
        assert.deepEqual([s.length, s[0].step, s[s.length - 1].step], [10, 931, 9373]);
        assert.ok(s.slice(1).every(x => x.w!.interval! > 900 && x.w!.updateRatioLower! > 0));
      }
      const c1 = weightsOf(run, 'conv1')[0].w!;
      assert.ok(Math.abs(c1.norm - Math.sqrt(6.421959730834864)) < 1e-12 && Math.abs(c1.mean - 7.937201576656662 / 250) < 1e-12);
    });

    it('06 and 07 (Keras TF2, 20 and 10 epochs): bucket-only statistics with guaranteed norm bounds, steps counted as epochs', () => {
      for (const [n, layers, fanIn, steps] of [['06', ['dense_3', 'dense_4', 'dense_5'], [10000, 64, 64], 20], ['07', ['dense_10', 'dense_11'], [784, 200], 10]] as const) {
        const run = corpus(n);
        assert.deepEqual(run.layers.map(l => l.name), layers);
        assert.deepEqual(run.layers.map(l => l.weightCount! / l.biasCount!), fanIn);
        assert.equal(run.stepUnit, 'epoch');
        for (const l of run.layers) {
          const s = weightsOf(run, l.name);
          assert.equal(s.length, steps);
          for (const { w } of s) {
            assert.equal(w!.exact, false);
            assert.ok(w!.normBounds![0] <= w!.norm && w!.norm <= w!.normBounds![1]);
          }
        }
      }
      // MANIFEST oracle, 06 dense_3 step 0: 30 rows from -0.0485 to 0.0484, 640000 values; every value's square
      // lies between its bucket's smallest and largest square.
      const w = weightsOf(corpus('06'), 'dense_3')[0].w!;
      assert.equal(w.count, 640000);
      assert.ok(w.normBounds![1] <= Math.sqrt(640000) * 0.048440270125865936 + 1e-9);
      const text = [];
      for (const n of ['06', '07']) {
        const findings = diagnoseTbRun(corpus(n));
        // Healthy Keras runs: no unstable-update verdict on epoch logs, no init mismatch for glorot dense layers.
        assert.ok(!findings.some(f => f.severity !== 'info'), JSON.stringify(findings.map(f => f.message)));
        text.push(n);
      }
    });

    it('04 (TF1 layer outputs): relu inferred for layer1 with its evidence, exact dead fraction; the linear output is not called tanh', () => {
      const run = corpus('04');
      const [l1, l2] = run.layers;
      assert.equal(l1.activation?.name, 'relu');
      assert.equal(l1.activationSource, 'inferred');
      assert.match(l1.inferred!.evidence, /38\.3% exactly 0/);   // MANIFEST: 1149 of 3000 values in [0, 1e-12) at step 0
      assert.equal(run.timeline[0].layers[0].deadFraction, 1149 / 3000);
      assert.equal(l2.activation, undefined);
      // --activation overrides the inference
      const given = readLogdir(path.join(FIXTURES, '04-tf1-morvan-layers-outputs.tfevents'), { activations: { layer1: 'tanh' } })[0];
      assert.equal(given.layers[0].activation?.name, 'tanh');
      assert.equal(given.layers[0].activationSource, 'given');
    });

    it('02 is a clean "no layers" answer; 08-10 have no histograms and no findings', async () => {
      const r = await cli([path.join(FIXTURES, '02-tensorboardx-numpy-vs-torch-normal.tfevents')]);
      assert.equal(r.code, 2);
      assert.match(r.err, /:1:1: no layers: none of the 2 histogram tag\(s\) names a layer's weights, outputs or gradients \(hist-numpy, hist-torch\)/);
      assert.equal(r.out, '');
      for (const n of ['08', '09', '10']) {
        const f = fs.readdirSync(FIXTURES).find(x => x.startsWith(n))!;
        const x = await cli([path.join(FIXTURES, f)]);
        assert.equal(x.code, 2);
        assert.match(x.err, /no layers: the log holds no histograms/);
        assert.equal(x.out, '');
      }
    });

    it('every histogram file of the corpus gives per-layer weight statistics in the text report', async () => {
      for (const n of ['01', '03', '04', '05', '06', '07']) {
        const f = fs.readdirSync(FIXTURES).find(x => x.startsWith(n))!;
        const r = await cli([path.join(FIXTURES, f), '--fail-on', 'never']);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /weights \(from their histograms\)/, f);
        assert.doesNotMatch(r.out, /NaN/);
      }
    });
  });

  describe('the update-ratio lower bound', () => {
    it('a shift of every weight by c: the bound is the true displacement sqrt(n)*|c| (moments are exact)', () => {
      const a = normal(1000, 1, 0.1);
      const b = a.map(x => x + 0.003);
      const truth = l2(a.map((x, i) => b[i] - x));
      const d = displacementLowerBound(roundTrip(a), roundTrip(b))!;
      assert.ok(d.lower <= truth * (1 + 1e-9), `${d.lower} > ${truth}`);
      assert.ok(d.lower > 0.99 * truth, `${d.lower} vs ${truth}`);
    });

    it('never exceeds ||W_b - W_a|| (random updates, both encodings), and is 0 with "identical" for the same tensor', () => {
      const r = new Rng(7);
      for (let trial = 0; trial < 60; trial++) {
        const n = 50 + r.int(2000);
        const a = normal(n, trial, 0.05 + r.next());
        const scale = 10 ** (-5 + 5 * r.next());
        const b = a.map(x => x * (1 + scale * r.normal()) + scale * r.normal());
        const truth = l2(a.map((x, i) => b[i] - x));
        for (const tf2 of [false, true]) {
          const d = displacementLowerBound(roundTrip(a, tf2), roundTrip(b, tf2))!;
          assert.ok(d.lower <= truth * (1 + 1e-6) + 1e-12, `trial ${trial} tf2=${tf2}: ${d.lower} > ${truth}`);
        }
      }
      const a = normal(300, 3);
      const same = displacementLowerBound(roundTrip(a), roundTrip(Float32Array.from(a)))!;
      assert.deepEqual([same.lower, same.identical], [0, true]);
      assert.equal(displacementLowerBound(roundTrip(a), roundTrip(a.subarray(1))), null);   // not the same tensor
    });

    it('weight-only logs of a core run: the bound is <= the core\'s own updateRatio at every step, and within the documented looseness', () => {
      const config = makeConfig([6], [
        { type: 'dense', name: 'h1', units: 24, activation: 'relu', init: 'he_normal' },
        { type: 'dense', name: 'h2', units: 24, activation: 'tanh' },
        { type: 'dense', name: 'out', units: 2, activation: 'linear' },
      ], { optimizer: 'sgd', lr: 0.05, batch: 16, steps: 60 });
      config.probe = { every: 1, samples: 16 };
      const data = randomData([6], 2, 256, 5);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-wcore-'));
      const writer = new EventFileWriter(path.join(dir, 'run'));
      let trainer: Trainer | null = null;
      trainer = new Trainer(config, data, { kernels: 'js', onProbe: p => logWeights(writer, trainer!, p.step) });
      const result = trainer.run();
      writer.close();
      const [run] = readLogdir(dir);
      assert.deepEqual(run.layers.map(l => l.name), ['h1', 'h2', 'out']);
      const ratios: number[] = [];
      for (const [li, l] of run.layers.entries()) {
        for (const p of run.timeline.slice(1)) {
          const core = result.timeline.find(q => q.step === p.step)!.layers[li].updateRatio!;
          const w = p.layers[l.index].weights!;
          assert.equal(w.interval, 1);
          // The core divides by the norm after the step, the bound by the larger norm: allow float32 rounding.
          assert.ok(w.updateRatioLower! <= core * (1 + 1e-3) + 1e-9, `${l.name} step ${p.step}: bound ${w.updateRatioLower} > core ${core}`);
          if (w.updateRatioLower! > 0) ratios.push(core / w.updateRatioLower!);
        }
      }
      ratios.sort((x, y) => x - y);
      const median = ratios[Math.floor(ratios.length / 2)];
      assert.ok(median >= 1 && median <= 20, `median core/bound ${median}`);   // docs: 3.3-17 at k = 1
    });
  });

  describe('findings with known truth', () => {
    /** Logs of a dense 32 -> 16 layer pair whose weights follow `update(step, w)`. */
    function synthetic(steps: number, weights: (step: number, layer: number) => Float32Array, opts: { biases?: number[] } = {}): TbRun {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-wsyn-'));
      const w = new EventFileWriter(path.join(dir, 'run'));
      for (let step = 0; step < steps; step++) {
        for (const layer of [0, 1]) {
          w.histogram(`fc${layer + 1}/weight`, weights(step, layer), step);
          if (opts.biases) w.histogram(`fc${layer + 1}/bias`, new Float32Array(opts.biases[layer]), step);
        }
      }
      w.close();
      return readLogdir(dir)[0];
    }

    it('a layer that never changes is frozen (info while the other learns; warning when nothing changes)', () => {
      const base = [normal(512, 1, 0.1), normal(256, 2, 0.1)];
      const run = synthetic(8, (step, layer) => (layer === 0 ? base[0] : base[1].map(x => x * (1 + 0.002 * step))));
      const f = diagnoseTbRun(run);
      const frozen = f.filter(x => x.kind === 'frozen-weights');
      assert.deepEqual(frozen.map(x => [x.layerName, x.severity]), [['fc1', 'info']]);
      const still = diagnoseTbRun(synthetic(8, (_s, layer) => base[layer]));
      assert.deepEqual(still.filter(x => x.kind === 'frozen-weights').map(x => x.severity), ['warning', 'warning']);
    });

    it('weights that stop changing half way (dead units) are reported with the step they stopped at', () => {
      const base = normal(512, 4, 0.1);
      const run = synthetic(10, (step) => base.map(x => x * (1 + 0.01 * Math.min(step, 3))));
      const f = diagnoseTbRun(run).filter(x => x.kind === 'frozen-weights');
      assert.equal(f.length, 2);
      assert.equal(f[0].step, 3);
      assert.match(f[0].message, /stopped changing at step 3/);
    });

    it('weights that change only at float32 rounding (one ulp of one weight per step) "did not measurably change": not learning', () => {
      const base = [normal(512, 12, 0.1), normal(256, 13, 0.1)];
      const run = synthetic(12, (step, layer) => { const w = Float32Array.from(base[layer]); w[step % w.length] = Math.fround(w[step % w.length] * (1 + 2 ** -22)); return w; });
      const f = diagnoseTbRun(run).filter(x => x.kind === 'update-ratio');
      assert.equal(f.length, 2);
      assert.match(f[0].message, /did not measurably change over 11 logged intervals/);
    });

    it('weights scaled by 1.02 every step: unstable update ratio (>= 2% per step) and unbounded norm growth', () => {
      const base = [normal(512, 5, 0.1), normal(256, 6, 0.1)];
      const run = synthetic(80, (step, layer) => base[layer].map(x => x * 1.02 ** step));
      const f = diagnoseTbRun(run);
      const upd = f.filter(x => x.kind === 'update-ratio');
      assert.deepEqual(upd.map(x => x.severity), ['warning', 'warning']);
      // ||W_t+1 - W_t|| / ||W_t+1|| = 0.02 / 1.02 exactly for a pure scaling: the bound is tight here.
      assert.ok(Math.abs((upd[0].evidence.updateRatioLower as number) - 0.02 / 1.02) < 1e-4, String(upd[0].evidence.updateRatioLower));
      assert.equal(f.filter(x => x.kind === 'weight-growth').length, 2);
    });

    it('init scale: std 5x He for a relu layer (fan-in from the biases) is a warning; He itself is quiet', () => {
      const fanIn = 64;
      const mk = (std: number) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-winit-'));
        const w = new EventFileWriter(path.join(dir, 'run'));
        for (let step = 0; step < 3; step++) {
          w.histogram('fc1/weight', normal(fanIn * 32, 9, std).map(x => x * (1 + 1e-3 * step)), step);
          w.histogram('fc1/bias', new Float32Array(32), step);
          const act = normal(400, step).map(x => Math.max(0, x));
          w.histogram('fc1/activation', act, step);
        }
        w.close();
        return readLogdir(dir)[0];
      };
      const he = Math.sqrt(2 / fanIn);
      const big = diagnoseTbRun(mk(5 * he)).filter(f => f.kind === 'init-mismatch');
      assert.equal(big.length, 1);
      assert.equal(big[0].severity, 'warning');
      assert.equal(big[0].evidence.fanIn, fanIn);
      assert.match(big[0].message, /relu \(inferred\)/);
      assert.ok(Math.abs((big[0].evidence.factor as number) - 5) < 0.3);
      assert.deepEqual(diagnoseTbRun(mk(he)).filter(f => f.kind === 'init-mismatch'), []);
    });

    it('activation inference: sigmoid-like and tanh-like hidden outputs; a contradicting later histogram drops it', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-winf-'));
      const w = new EventFileWriter(path.join(dir, 'run'));
      for (let step = 0; step < 3; step++) {
        const z = normal(500, step, 2);
        w.histogram('s/activation', z.map(x => 1 / (1 + Math.exp(-x))), step);
        w.histogram('t/activation', z.map(Math.tanh), step);
        w.histogram('r/activation', step < 2 ? z.map(x => Math.max(0, x)) : z, step);   // step 2: negative values
        w.histogram('out/activation', z, step);
      }
      w.close();
      const [run] = readLogdir(dir);
      const act = Object.fromEntries(run.layers.map(l => [l.name, l.activation?.name ?? null]));
      assert.deepEqual(act, { s: 'sigmoid', t: 'tanh', r: null, out: null });
      assert.ok(run.timeline.every(p => p.layers[2].deadFraction === null));
      assert.ok(run.timeline.every(p => p.layers[1].saturatedFraction !== null));
    });
  });

  it('diagnose-run --html never replaces an input and fails on a bad path before reading the logs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-whtml-'));
    const log = path.join(dir, 'events.out.tfevents.1');
    fs.copyFileSync(path.join(FIXTURES, '01-pytorch-linear-weights.tfevents'), log);
    const before = fs.readFileSync(log);
    const onInput = await cli([log, '--html', log]);
    assert.equal(onInput.code, 2);
    assert.match(onInput.err, /cannot write --html/);
    assert.ok(fs.readFileSync(log).equals(before), 'the event file is untouched');
    const missingDir = await cli([log, '--html', path.join(dir, 'no', 'such', 'r.html')]);
    assert.equal(missingDir.code, 2);
    assert.equal(missingDir.err.trim().split('\n').length, 1, missingDir.err);
    assert.ok(!/\n\s+at /.test(missingDir.err), 'no stack trace');
  });

  it('diagnose-run --html writes the report with the weights table; --model gives the fan-in of a conv layer', async () => {
    const html = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'al-whtml-')), 'r.html');
    const r = await cli([path.join(FIXTURES, '03-tensorboardx-mnist-cnn-params.tfevents'), '--html', html]);
    assert.equal(r.code, 0, r.err);
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /<table class="health" id="weights">/);
    assert.match(page, /<th scope="row">fc1<\/th><td class="num">16000<\/td>/);
    const bad = await cli([path.join(FIXTURES, '03-tensorboardx-mnist-cnn-params.tfevents'), '--model', '/no/such/model.nn.yaml']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^\/no\/such\/model\.nn\.yaml:1:1: /);
  });

  it('the bundled example logs (examples/tensorboard): dead units in dying-relu, weight statistics and no finding in weights-only', async () => {
    const r = await cli([path.join(__dirname, '../../../examples/tensorboard'), '--json']);
    assert.equal(r.code, 1, r.err);
    const rep = JSON.parse(r.out);
    const [dying, weights] = rep.runs;
    assert.deepEqual([dying.source.run, weights.source.run], ['dying-relu', 'weights-only']);
    assert.ok(dying.findings.some((f: { kind: string; severity: string }) => f.kind === 'dead-units' && f.severity === 'error'));
    assert.deepEqual(weights.findings, []);
    assert.equal(weights.training.stepUnit, 'epoch');
    assert.ok(weights.timeline.at(-1).layers.every((l: { weights?: unknown }) => l.weights));
  });

  it('the editor\'s view of a log: never "training", says what is missing, offers the activation of logged outputs', async () => {
    const v01 = tbRunView('logs', corpus('01'), diagnoseTbRun(corpus('01')));
    assert.equal(v01.status, 'done');
    assert.ok(v01.missing!.some(m => /no activation or pre-activation histograms/.test(m)));
    assert.ok(v01.missing!.some(m => /no gradient histograms/.test(m)));
    assert.ok(v01.missing!.some(m => /no loss scalar/.test(m)));
    assert.equal(v01.layers[0].params, 100);
    const v04 = tbRunView('logs', corpus('04'), diagnoseTbRun(corpus('04')));
    assert.deepEqual(v04.needsActivation, ['layer1', 'layer2']);
    assert.ok(v04.missing!.some(m => /activation unknown for layer2/.test(m)));
    assert.equal(v04.layers[0].activationSource, 'inferred');
    // The worker the editor uses posts 'done' views, with the panel's activation choice applied.
    const views = await new Promise<import('../../../src/protocol').RunView[]>((resolve, reject) => {
      const w = watchForHost({ dir: path.join(FIXTURES, '04-tf1-morvan-layers-outputs.tfevents'), label: '04', activations: { layer2: 'linear' } },
        m => { w.close(); if (m.type === 'update') resolve(m.views); else reject(new Error(m.message)); });
    });
    assert.equal(views[0].status, 'done');
    assert.equal(views[0].layers[1].activation, 'linear');
    assert.ok(!views[0].missing!.some(m => /activation unknown/.test(m)));
  });

  it('the smoothed loss follows a logged curve (04: 20 points falling by two decades)', () => {
    const run = corpus('04');
    const raw = run.lossCurve;
    assert.equal(raw.length, 20);
    const sm = smooth(raw);
    // Each smoothed value lies within the range of the raw values up to that point and within 2x of the raw one.
    for (let i = 0; i < raw.length; i++) {
      assert.ok(sm[i][1] <= 2 * raw[i][1] && sm[i][1] >= raw[i][1] / 2, `step ${raw[i][0]}: smoothed ${sm[i][1]} vs ${raw[i][1]}`);
    }
  });

  it('weightMoments: norm bounds of a bucket-only histogram contain the true norm', () => {
    const a = normal(5000, 11, 0.3);
    const m = weightMoments(roundTrip(a, true));
    assert.ok(m.normBounds[0] <= l2(a) * (1 + 1e-6) && l2(a) <= m.normBounds[1] * (1 + 1e-6), `${m.normBounds} vs ${l2(a)}`);
  });
});
