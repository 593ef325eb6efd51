/**
 * Edge cases of a probe's chunked first conv and max pooling (network.ts IMAGES_PER_CHUNK), next to
 * probe-chunks.test.ts: other activations, strides, paddings and pool geometries (overlapping and gapped windows),
 * probe rows of one chunk plus one image, chunks big enough to go to the helper threads (a maxPool / maxPoolBack
 * split with a non-zero base, which the whole calls never pass), the step-0 probe's weight gradients, and the
 * layer stacks that must not be chunked. The reference is the same rows through the whole-array calls (forward in
 * 'eval' mode: no batchnorm or dropout in the chunked stacks; a backward with an afterLayer hook).
 */
import assert from 'node:assert/strict';
import { Trainer } from '../../../src/core/train';
import { IMAGES_PER_CHUNK } from '../../../src/core/network';
import { SPLIT_ELEMENTS } from '../../../src/core/parallel';
import { mtModuleOrNull, wasmAvailable } from '../../../src/core/kernels';
import type { Conv2D, Layer } from '../../../src/core/layers';
import { makeConfig, randomData } from './helpers';
import type { LayerInput } from './helpers';

const chunked = (t: Trainer) => (t.net as unknown as { probeChunked: boolean }).probeChunked;
const bits = (l: Layer, b: { v: Float32Array }, P: number) => Array.from(new Uint32Array(b.v.buffer, b.v.byteOffset, P * l.outSize));

/** Trainer over `input` images with `valRows` validation rows, all of them the probe batch. */
function trainer(input: number[], layers: LayerInput[], valRows: number, threads: number): Trainer {
  const config = makeConfig(input, [...layers, { type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' }],
    { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.05, batch: 32, steps: 100 }, { probe: { every: 1000, samples: valRows } });
  return new Trainer(config, randomData(input, 10, 4 * valRows, 5, 10), { threads, probeEvery: 1000 });
}

/** The probe's conv and pooling buffers and statistics equal the whole calls' bit for bit (after 2 steps). */
function sameAsWhole(t: Trainer): void {
  t.probe(); t.trainSteps(2);
  const net = t.net, P = t.probeRows, [conv, pool] = net.layers;
  const point = t.probe();
  assert.ok(chunked(t), 'the probe ran by chunks');
  const bufs = () => ([[conv, conv.z!], [conv, conv.out], [conv, conv.dOut], [pool, pool.out], [pool, pool.dOut]] as const).map(([l, b]) => bits(l, b, P));
  const got = bufs();
  for (const b of [conv.z!, conv.out, conv.dOut, pool.out, pool.dOut]) b.v.fill(NaN);
  net.forward(P, 'eval'); net.computeLoss(P, true); net.backward(P, false, () => {});
  bufs().forEach((w, i) => assert.deepEqual(got[i], w, `buffer ${i}`));
  const probes = (t as unknown as { probes: { stats(rows: number, u: undefined): unknown }[] }).probes;
  assert.deepEqual(probes.map(p => p.stats(P, undefined)), point.layers);
}

describe('probe chunks: edge cases give the whole calls\' numbers', function () {
  this.timeout(60_000); // helper threads start, and the machine may be busy
  const cases: { name: string; input: number[]; layers: LayerInput[]; rows: number }[] = [
    { name: 'sigmoid, valid conv with stride 2, overlapping 3x3 pool of stride 2 with same padding, 5 rows (one chunk + 1)', input: [17, 15, 1], rows: 5,
      layers: [{ type: 'conv2d', filters: 8, kernel: [3, 3], stride: [2, 2], activation: 'sigmoid' }, { type: 'maxpool2d', size: [3, 3], stride: [2, 2], padding: 'same' }] },
    { name: 'tanh, 5x5 same conv, 2x2 pool of stride 3 (inputs no window reads), 9 rows', input: [14, 14, 1], rows: 9,
      layers: [{ type: 'conv2d', filters: 12, kernel: [5, 5], padding: 'same', activation: 'tanh' }, { type: 'maxpool2d', size: [2, 2], stride: [3, 3] }] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = trainer(c.input, c.layers, c.rows, 1);
      try { assert.equal(t.probeRows, c.rows); assert.ok(c.rows > IMAGES_PER_CHUNK); sameAsWhole(t); } finally { t.dispose(); }
    });
  }

  it('2 threads, chunks big enough for the helpers: maxPool and maxPoolBack split a chunk that does not start at image 0', function () {
    if (!wasmAvailable() || !mtModuleOrNull()) this.skip();
    const layers: LayerInput[] = [{ type: 'conv2d', filters: 16, kernel: [3, 3], padding: 'same', activation: 'relu' }, { type: 'maxpool2d', size: [2, 2] },
      { type: 'conv2d', filters: 8, kernel: [3, 3], activation: 'relu' }];
    const t = trainer([32, 32, 1], layers, 10, 2);
    try {
      if (t.threads === 1) this.skip();
      assert.ok(t.net.heap.kernels.helpers?.waitReady(), 'helper threads started');
      // A chunk's conv output (what maxPool and maxPoolBack see) is at least the size that goes to the helpers.
      assert.ok(IMAGES_PER_CHUNK * t.net.layers[0].outSize >= SPLIT_ELEMENTS);
      sameAsWhole(t);
    } finally { t.dispose(); }
  });

  it('the step-0 probe: its weight gradients after a chunked forward are the whole forward\'s', () => {
    const t = trainer([16, 16, 1], [{ type: 'conv2d', filters: 8, kernel: [3, 3], padding: 'same', activation: 'relu' }, { type: 'maxpool2d', size: [2, 2] }], 11, 1);
    try {
      const point = t.probe();
      assert.ok(chunked(t), 'the step-0 probe ran its forward by chunks');
      const net = t.net, grads = () => net.params.map(p => Array.from(p.g.v));
      const got = grads(), norm = point.gradNorm;
      for (const p of net.params) p.g.v.fill(NaN);
      net.forward(t.probeRows, 'eval'); net.computeLoss(t.probeRows, true); net.backward(t.probeRows, true, () => {});
      assert.deepEqual(got, grads());
      assert.equal(norm, Math.sqrt(net.gradSumSquares()));
    } finally { t.dispose(); }
  });

  const notChunked: { name: string; layers: LayerInput[]; rows?: number }[] = [
    { name: 'average pooling', layers: [{ type: 'conv2d', filters: 8, kernel: [3, 3], activation: 'relu' }, { type: 'avgpool2d', size: [2, 2] }] },
    { name: 'a conv not followed by pooling', layers: [{ type: 'conv2d', filters: 8, kernel: [3, 3], activation: 'relu' }, { type: 'conv2d', filters: 4, kernel: [3, 3], activation: 'relu' }] },
    { name: 'batchnorm between the conv and the pooling', layers: [{ type: 'conv2d', filters: 8, kernel: [3, 3], activation: 'relu' }, { type: 'batchnorm' }, { type: 'maxpool2d', size: [2, 2] }] },
    { name: 'a linear conv', layers: [{ type: 'conv2d', filters: 8, kernel: [3, 3], activation: 'linear' }, { type: 'maxpool2d', size: [2, 2] }] },
    { name: 'one chunk of rows', rows: IMAGES_PER_CHUNK, layers: [{ type: 'conv2d', filters: 8, kernel: [3, 3], activation: 'relu' }, { type: 'maxpool2d', size: [2, 2] }] },
  ];
  for (const c of notChunked) {
    it(`not by chunks: ${c.name}`, () => {
      const t = trainer([12, 12, 1], c.layers, c.rows ?? 9, 1);
      try { t.probe(); assert.ok(!chunked(t)); assert.ok(Number.isFinite((t.net.layers[0] as Conv2D).dOut.v[0])); } finally { t.dispose(); }
    });
  }

  it('eval after a chunked probe runs whole (the flag is cleared), and a backward after it takes the whole path', () => {
    const t = trainer([16, 16, 1], [{ type: 'conv2d', filters: 8, kernel: [3, 3], padding: 'same', activation: 'relu' }, { type: 'maxpool2d', size: [2, 2] }], 9, 1);
    try {
      t.probe();
      assert.ok(chunked(t));
      t.evaluate();
      assert.ok(!chunked(t));
      t.trainSteps(1);
      assert.ok(!chunked(t));
    } finally { t.dispose(); }
  });
});
