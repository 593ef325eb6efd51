/**
 * The real event files of test/fixtures/tfevents (copied from ../shared/corpus/tfevents) against the facts of
 * their MANIFEST.md: record counts, CRC results, tags and step counts, and the oracle numbers of first records.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { decodeEvent, TbHistogram } from '../../../src/tensorboard/events';
import { RecordFileCursor } from '../../../src/tensorboard/tfrecord';

const DIR = path.join(__dirname, '../../fixtures/tfevents');

interface FileFacts {
  records: number;
  histograms: Record<string, { steps: number; first: number; last: number }>;
  scalars: Record<string, { steps: number; first: number; value: number }>;
  truncated?: boolean;
}

const FACTS: Record<string, FileFacts> = {
  '01-pytorch-linear-weights.tfevents': { records: 11, histograms: { 'MyLinearLayer/Weights_Distribution': { steps: 10, first: 0, last: 9 } }, scalars: {} },
  '02-tensorboardx-numpy-vs-torch-normal.tfevents': { records: 11, histograms: { 'hist-numpy': { steps: 5, first: 0, last: 4 }, 'hist-torch': { steps: 5, first: 0, last: 4 } }, scalars: {} },
  '03-tensorboardx-mnist-cnn-params.tfevents': {
    records: 1042,
    histograms: Object.fromEntries(['conv1', 'conv2', 'fc1', 'fc2'].flatMap(l => ['weight', 'bias'].map(a => [`${l}/${a}`, { steps: 10, first: 931, last: 9373 }]))),
    scalars: { 'train/loss': { steps: 940, first: 1, value: 2.3421597480773926 }, 'test/loss': { steps: 10, first: 938, value: 0.2074684202671051 }, 'test/accuracy': { steps: 10, first: 938, value: 93.94000244140625 } },
  },
  '04-tf1-morvan-layers-outputs.tfevents': {
    records: 23,
    histograms: Object.fromEntries(['layer1/weights/layer1/weights', 'layer1/biases/layer1/biases', 'layer1/layer1/outputs', 'layer2/weights/layer2/weights', 'layer2/biases/layer2/biases', 'layer2/layer2/outputs'].map(t => [t, { steps: 20, first: 0, last: 950 }])),
    scalars: { 'loss/loss': { steps: 20, first: 0, value: 0.2607767879962921 } },
  },
  '05-tf1-golbin-layers-x-model.tfevents': {
    records: 103,
    histograms: Object.fromEntries(['layer1/X', 'layer1/Weights', 'layer2/Weights', 'output/Weights', 'output/Model'].map(t => [t, { steps: 100, first: 1, last: 100 }])),
    scalars: { 'optimizer/cost': { steps: 100, first: 1, value: 0.9162012934684753 } },
  },
  '06-keras-tf2-reuters-dense-train.tfevents': {
    records: 163,
    histograms: Object.fromEntries(['dense_3', 'dense_4', 'dense_5'].flatMap(l => ['kernel_0', 'bias_0'].map(a => [`${l}/${a}/histogram`, { steps: 20, first: 0, last: 19 }]))),
    scalars: { epoch_loss: { steps: 20, first: 0, value: 2.386592149734497 }, epoch_accuracy: { steps: 20, first: 0, value: 0.5369581580162048 } },
  },
  '07-keras-tf2-mnist-hist-and-weight-images.tfevents': {
    records: 103,
    histograms: Object.fromEntries(['dense_10', 'dense_11'].flatMap(l => ['kernel_0', 'bias_0'].map(a => [`${l}/${a}/histogram`, { steps: 10, first: 0, last: 9 }]))),
    scalars: { epoch_loss: { steps: 10, first: 0, value: 0.8623274564743042 }, epoch_accuracy: { steps: 10, first: 0, value: 0.7465624809265137 } },
  },
  '08-keras-tf1-creditcard-scalars-only.tfevents': { records: 13, histograms: {}, scalars: { loss: { steps: 5, first: 0, value: 0.0073153311386704445 }, acc: { steps: 5, first: 0, value: 0.9990168809890747 } } },
  '09-keras-tf2-recyclops-scalars-only.tfevents': { records: 43, histograms: {}, scalars: { epoch_loss: { steps: 20, first: 0, value: 0.9820440411567688 }, epoch_accuracy: { steps: 20, first: 0, value: 0.46562498807907104 } } },
  '10-tf1-truncated-graph-only.tfevents': { records: 2, histograms: {}, scalars: {}, truncated: true },
};

interface Read { cursor: RecordFileCursor; hist: Map<string, { steps: number[]; first: TbHistogram }>; scal: Map<string, { steps: number[]; first: number }>; other: Map<string, string> }

function readFile(name: string): Read {
  const cursor = new RecordFileCursor(path.join(DIR, name));
  const plugins = new Map<string, string>();
  const hist = new Map<string, { steps: number[]; first: TbHistogram }>();
  const scal = new Map<string, { steps: number[]; first: number }>();
  const other = new Map<string, string>();
  cursor.read(data => {
    const e = decodeEvent(data, plugins);
    for (const v of e.values) {
      if (v.kind === 'histogram') { const h = hist.get(v.tag) ?? hist.set(v.tag, { steps: [], first: v.hist }).get(v.tag)!; h.steps.push(e.step); }
      else if (v.kind === 'scalar') { const s = scal.get(v.tag) ?? scal.set(v.tag, { steps: [], first: v.value }).get(v.tag)!; s.steps.push(e.step); }
      else if (v.kind === 'other') other.set(v.tag, v.plugin);
    }
  });
  return { cursor, hist, scal, other };
}

describe('tensorboard corpus (MANIFEST.md facts)', () => {
  for (const [name, facts] of Object.entries(FACTS)) {
    it(`${name}: records, CRCs, tags and steps`, () => {
      const r = readFile(name);
      assert.equal(r.cursor.records, facts.records);
      assert.deepEqual(r.cursor.issues, [], 'every complete record has valid CRCs');
      if (facts.truncated) {
        const tail = r.cursor.tailIssue();
        assert.equal(tail?.kind, 'truncated');
        assert.equal(tail?.skipped, 12 + 53236, 'header plus the 53236 bytes that follow it');
      } else {
        assert.equal(r.cursor.tailIssue(), null);
      }
      assert.deepEqual([...r.hist.keys()].sort(), Object.keys(facts.histograms).sort());
      for (const [tag, f] of Object.entries(facts.histograms)) {
        const steps = r.hist.get(tag)!.steps;
        assert.equal(steps.length, f.steps, tag);
        assert.equal(steps[0], f.first, tag);
        assert.equal(steps[steps.length - 1], f.last, tag);
      }
      assert.deepEqual([...r.scal.keys()].sort(), Object.keys(facts.scalars).sort());
      for (const [tag, f] of Object.entries(facts.scalars)) {
        const s = r.scal.get(tag)!;
        assert.equal(s.steps.length, f.steps, tag);
        assert.equal(s.steps[0], f.first, tag);
        assert.equal(s.first, f.value, tag);
      }
    });
  }

  it('01 oracle: first PyTorch add_histogram record', () => {
    const h = readFile('01-pytorch-linear-weights.tfevents').hist.get('MyLinearLayer/Weights_Distribution')!.first;
    assert.equal(h.min, -0.4827924966812134);
    assert.equal(h.max, 0.43180420994758606);
    assert.equal(h.num, 100);
    assert.equal(h.sum, 0.9857620149850845);
    assert.equal(h.sumSquares, 4.498269244584625);
    assert.equal(h.counts.length, 568);
    // bucket_limit[1] = -0.47069243095356195 is the right edge of the first non-empty bucket (count 1).
    assert.equal(h.edges[2], -0.47069243095356195);
    assert.equal(h.counts[1], 1);
    assert.equal(h.counts.reduce((a, b) => a + b, 0), 100);
  });

  it('02 oracle: tensorboardX numpy histogram', () => {
    const h = readFile('02-tensorboardx-numpy-vs-torch-normal.tfevents').hist.get('hist-numpy')!.first;
    assert.equal(h.min, -3.245187752543251);
    assert.equal(h.sumSquares, 1024.421312761104);
    assert.equal(h.counts.length, 608);
    assert.equal(h.edges[2], -3.1665833053880363);
    assert.equal(h.counts[1], 2);
  });

  it('03 oracle: 1548 untrimmed buckets clipped to [min, max]', () => {
    const h = readFile('03-tensorboardx-mnist-cnn-params.tfevents').hist.get('conv1/weight')!.first;
    assert.equal(h.num, 250);
    assert.equal(h.sum, 7.937201576656662);
    assert.equal(h.sumSquares, 6.421959730834864);
    assert.equal(h.counts.length, 1548);
    assert.equal(h.edges[0], -0.26733526587486267, 'the -9e19 limits are clipped to min');
    assert.equal(h.edges[1548], 0.4885665774345398);
    assert.equal(h.counts.findIndex(c => c > 0), 496);
    assert.equal(h.edges[497], -0.2656936063469233);
  });

  it('04 oracle: TF1 relu outputs with the [0, 1e-12) zero bucket', () => {
    const h = readFile('04-tf1-morvan-layers-outputs.tfevents').hist.get('layer1/layer1/outputs')!.first;
    assert.equal(h.min, 0);
    assert.equal(h.max, 2.04160213470459);
    assert.equal(h.num, 3000);
    assert.equal(h.sum, 786.5598098002374);
    assert.equal(h.sumSquares, 606.8946792646133);
    assert.equal(h.counts.length, 80);
    assert.equal(h.edges[2], 1e-12);
    assert.equal(h.counts[1], 1149);
  });

  it('05 oracle: TF1 weights', () => {
    const h = readFile('05-tf1-golbin-layers-x-model.tfevents').hist.get('layer1/Weights')!.first;
    assert.equal(h.min, -0.7322866916656494);
    assert.equal(h.num, 20);
    assert.equal(h.sumSquares, 3.9456598846900572);
    assert.equal(h.counts.length, 31);
    assert.equal(h.edges[2], -0.6891407881591103);
  });

  it('06 oracle: TF2 [30,3] double histogram tensor', () => {
    const h = readFile('06-keras-tf2-reuters-dense-train.tfevents').hist.get('dense_3/kernel_0/histogram')!.first;
    assert.equal(h.counts.length, 30);
    assert.equal(h.edges[0], -0.04852086678147316);
    assert.equal(h.edges[1], -0.04528882888456186);
    assert.deepEqual([h.counts[0], h.counts[1], h.counts[2], h.counts[29]], [19, 85, 264, 17]);
    assert.equal(h.edges[30], 0.048440270125865936);
    assert.equal(h.num, 640000);
    assert.equal(h.exactMoments, false, 'TF2 tensors carry no sum: moments are estimated');
  });

  it('07 oracle: TF2 histograms interleaved with image summaries', () => {
    const r = readFile('07-keras-tf2-mnist-hist-and-weight-images.tfevents');
    const h = r.hist.get('dense_10/kernel_0/histogram')!.first;
    assert.equal(h.edges[0], -0.135480135679245);
    assert.deepEqual([h.counts[0], h.counts[1], h.counts[2], h.counts[29]], [1, 8, 30, 5]);
    assert.equal(h.num, 156800);
    assert.equal(r.other.get('dense_10/kernel_0/image'), 'images');
    assert.equal(r.other.get('keras'), 'graph_keras_model');
  });
});
