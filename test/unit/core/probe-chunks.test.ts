/**
 * A probe runs a first direct conv and its max pooling a few images at a time (network.ts IMAGES_PER_CHUNK), forward
 * and backward. The independent reference: the same rows through the whole-array calls (forward in 'eval' mode,
 * which differs from 'probe' only for batchnorm and dropout, and a backward with an afterLayer hook, both of which
 * run every layer whole). Every buffer and every probe statistic must be the same bit for bit.
 */
import assert from 'node:assert/strict';
import { Trainer } from '../../../src/core/train';
import { IMAGES_PER_CHUNK } from '../../../src/core/network';
import { mtModuleOrNull, wasmAvailable } from '../../../src/core/kernels';
import { makeConfig, randomData } from './helpers';

describe('probe: a first conv and its max pooling by chunks of images give the whole calls\' numbers', function () {
  // mocha's default 2 s: 0.65-0.8 s on a quiet machine, over 2 s (both cases) with the other helpers' runs going.
  this.timeout(60_000);
  // 22 probe rows, the whole validation split (no evaluation pass after the probe): more than a chunk, and the last
  // chunk shorter than the others.
  const config = makeConfig([16, 16, 1], [
    { type: 'conv2d', filters: 16, kernel: [3, 3], padding: 'same', activation: 'relu', init: 'he_normal' },
    { type: 'maxpool2d', size: [2, 2] },
    { type: 'conv2d', filters: 8, kernel: [3, 3], activation: 'tanh' },
    { type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' },
  ], { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.05, batch: 32, steps: 100 }, { probe: { every: 1000, samples: 22 } });

  for (const threads of [1, 2]) {
    it(`${threads} thread(s): buffers and statistics equal a probe run layer by layer`, function () {
      if (threads > 1 && (!wasmAvailable() || !mtModuleOrNull())) this.skip();
      assert.ok(22 > IMAGES_PER_CHUNK && 22 % IMAGES_PER_CHUNK !== 0);
      const t = new Trainer(config, randomData([16, 16, 1], 10, 88, 7, 10), { threads, probeEvery: 1000 });
      try {
        if (threads > 1 && t.threads === 1) this.skip();
        if (threads > 1) assert.ok(t.net.heap.kernels.helpers?.waitReady(), 'helper threads started');
        t.probe(); // the first probe chooses the histogram edges (and computes weight gradients: not chunked backward)
        t.trainSteps(3);
        const net = t.net, P = t.probeRows, [conv, pool] = net.layers;
        assert.equal(P, 22);
        const point = t.probe();
        assert.ok((net as unknown as { probeChunked: boolean }).probeChunked, 'the probe ran by chunks');
        // The probe's rows of each buffer (the buffers hold a training batch's 32), as bits.
        const bufs = () => ([[conv, conv.z!], [conv, conv.out], [conv, conv.dOut], [pool, pool.out], [pool, pool.dOut]] as const)
          .map(([l, b]) => Array.from(new Uint32Array(b.v.buffer, b.v.byteOffset, P * l.outSize)));
        const chunked = bufs();
        // Scribble over the conv's and pooling's buffers so that stale values cannot pass for recomputed ones.
        for (const b of [conv.z!, conv.out, conv.dOut, pool.out, pool.dOut]) b.v.fill(NaN);
        net.forward(P, 'eval');
        net.computeLoss(P, true);
        net.backward(P, false, () => {});
        assert.ok(!(net as unknown as { probeChunked: boolean }).probeChunked);
        const whole = bufs();
        whole.forEach((w, i) => assert.deepEqual(chunked[i], w, `buffer ${i}`));
        const probes = (t as unknown as { probes: { stats(rows: number, u: undefined): unknown }[] }).probes;
        assert.deepEqual(probes.map(p => p.stats(P, undefined)), point.layers);
      } finally { t.dispose(); }
    });
  }
});
