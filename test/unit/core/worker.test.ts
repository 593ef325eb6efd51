/**
 * The worker protocol: the request runner in-process (message sequence, batching, memory refusal, bad data),
 * and the real worker thread from dist/worker.js (npm run build) for cancel latency and crash handling.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runRequest, STATS_INTERVAL_MS } from '../../../src/worker/trainWorker';
import { startRun, type StatsMessage } from '../../../src/worker/client';
import { InputError, type NetworkConfig } from '../../../src/model';
import type { WorkerToHost } from '../../../src/protocol';
import type { RunResult } from '../../../src/core/types';
import { makeConfig, randomData } from './helpers';

const WORKER = path.resolve(__dirname, '../../../dist/worker.js');

function spiralConfig(steps: number): NetworkConfig {
  const c = makeConfig([2], [{ type: 'dense', units: 32, activation: 'relu', init: 'he_normal' }, { type: 'dense', units: 3, activation: 'softmax' }],
    { loss: 'cross_entropy', optimizer: 'adam', lr: 0.01, batch: 32, steps });
  c.data = { source: 'spiral', samples: 600, noise: 0.1, classes: 3, validation: 0.2 };
  c.probe = { every: Math.max(1, Math.floor(steps / 50)), samples: 120 };
  return c;
}

describe('worker request runner (in-process)', function () {
  this.timeout(60000);
  it('posts started, stats (batched, carrying every probe and loss) and done', () => {
    const msgs: WorkerToHost[] = [];
    const c = makeConfig([4], [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 2 }], { steps: 3000 });
    c.probe.every = 10;
    const t0 = performance.now();
    runRequest({ type: 'start', runId: 7, config: c, baseDir: '.', maxSteps: 20000, memoryLimitMB: 64 }, m => msgs.push(m), () => randomData([4], 2, 200, 1));
    const wall = performance.now() - t0;
    assert.equal(msgs[0].type, 'started');
    const done = msgs[msgs.length - 1] as Extract<WorkerToHost, { type: 'done' }>;
    assert.equal(done.type, 'done'); assert.equal(done.runId, 7);
    const stats = msgs.filter((m): m is StatsMessage => m.type === 'stats');
    assert.ok(stats.length <= Math.ceil(wall / STATS_INTERVAL_MS) + 1, `${stats.length} stats messages in ${wall.toFixed(0)} ms`);
    assert.equal(stats.flatMap(s => s.probes).length, done.result.timeline.length);
    assert.deepEqual(stats.flatMap(s => s.lossCurve), done.result.lossCurve);
  });
  it('refuses a run over the memory limit with the layer and batch, before loading data', () => {
    const msgs: WorkerToHost[] = [];
    const c = makeConfig([64, 64, 3], [{ type: 'conv2d', filters: 64, kernel: [3, 3], padding: 'same', activation: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 2 }], { batch: 256 });
    runRequest({ type: 'start', runId: 1, config: c, baseDir: '.', maxSteps: 10, memoryLimitMB: 100 }, m => msgs.push(m), () => { throw new Error('must not load'); });
    assert.equal(msgs.length, 1);
    const e = msgs[0] as Extract<WorkerToHost, { type: 'error' }>;
    assert.equal(e.type, 'error');
    assert.match(e.message, /conv2d_0.*256|256.*conv2d_0/);
  });
  it('bad data becomes an error message file:line:col, not a stack trace', () => {
    const msgs: WorkerToHost[] = [];
    const c = makeConfig([4], [{ type: 'dense', units: 2 }]);
    c.file = 'net.nn.yaml';
    const span = { start: { line: 3, character: 10, offset: 40 }, end: { line: 3, character: 15, offset: 45 } };
    runRequest({ type: 'start', runId: 1, config: c, baseDir: '.', maxSteps: 10, memoryLimitMB: 64 }, m => msgs.push(m),
      () => { throw new InputError({ severity: 'error', message: 'no such column "y"', span }); });
    assert.deepEqual(msgs, [{ type: 'error', runId: 1, message: 'net.nn.yaml:4:11: no such column "y"', partial: undefined }]);
  });
});

describe('worker thread (dist/worker.js)', function () {
  this.timeout(60000);
  before(function () { if (!fs.existsSync(WORKER)) throw new Error('dist/worker.js is missing: run `npm run build` first'); });

  function run(config: NetworkConfig, opts: { memoryLimitMB?: number; cancelAfterStats?: boolean } = {}) {
    const events: { kind: string; at: number; msg?: string; result?: RunResult; stats?: StatsMessage }[] = [];
    let handle!: ReturnType<typeof startRun>;
    let cancelAt = 0;
    handle = startRun({ config, baseDir: process.cwd(), maxSteps: 100000, memoryLimitMB: opts.memoryLimitMB ?? 256, workerPath: WORKER }, {
      stats: m => {
        events.push({ kind: 'stats', at: performance.now(), stats: m });
        if (opts.cancelAfterStats && !cancelAt && m.step > 0) { cancelAt = performance.now(); handle.cancel(); }
      },
      done: r => events.push({ kind: 'done', at: performance.now(), result: r }),
      error: (msg, partial) => events.push({ kind: 'error', at: performance.now(), msg, result: partial }),
      cancelled: r => events.push({ kind: 'cancelled', at: performance.now(), result: r }),
    });
    return handle.done.then(() => ({ events, cancelAt }));
  }

  it('trains a spiral from its config and reports done with the full timeline', async () => {
    const { events } = await run(spiralConfig(400));
    const last = events[events.length - 1];
    assert.equal(last.kind, 'done', last.msg);
    assert.equal(last.result!.steps, 400);
    assert.ok(last.result!.timeline.length >= 50);
  });
  it('cancel stops the run within 250 ms and keeps the partial result', async () => {
    const { events, cancelAt } = await run(spiralConfig(1_000_000), { cancelAfterStats: true });
    const last = events[events.length - 1];
    assert.equal(last.kind, 'cancelled');
    const latency = last.at - cancelAt;
    assert.ok(latency < 250, `cancelled after ${latency.toFixed(0)} ms`);
    assert.ok(last.result!.steps > 0 && last.result!.timeline.length > 0);
  });
  it('stats messages arrive at most 20 times a second', async () => {
    const t0 = performance.now();
    const { events } = await run(spiralConfig(6000));
    const wall = performance.now() - t0;
    const stats = events.filter(e => e.kind === 'stats');
    // Receipt times can bunch up on a busy host; the count over the run is what the worker controls.
    assert.ok(stats.length >= 2, `${stats.length} stats messages`);
    assert.ok(stats.length <= wall / STATS_INTERVAL_MS + 2, `${stats.length} stats messages in ${wall.toFixed(0)} ms`);
  });
  it('a refused run is an error naming the layer', async () => {
    const c = spiralConfig(10);
    c.model.layers[0] = { ...(c.model.layers[0] as Extract<typeof c.model.layers[0], { type: 'dense' }>), units: 200000 };
    const { events } = await run(c, { memoryLimitMB: 64 });
    assert.equal(events[events.length - 1].kind, 'error');
    assert.match(events[events.length - 1].msg!, /dense_0/);
  });
});
