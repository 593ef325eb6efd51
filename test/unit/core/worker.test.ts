/**
 * The worker protocol: the request runner in-process (message sequence, batching on the worker's clock, memory
 * refusal, bad data), and the real worker thread from dist/worker.js (npm run build) for cancel and real crashes.
 * No wall-clock assertion: cancel latency and the stats rate on a real machine are measured by bench/worker.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runRequest, STATS_INTERVAL_MS } from '../../../src/worker/trainWorker';
import { runCompare } from '../../../src/worker/compareWorker';
import { parseConfigText } from '../../../src/config';
import { disposeIdleWorker, prewarmWorker, startRun, type StatsMessage } from '../../../src/worker/client';
import { InputError, type NetworkConfig } from '../../../src/model';
import type { WorkerToHost, CompareWorkerToHost } from '../../../src/protocol';
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
  it('posts started, stats (carrying every probe and loss once) and done', () => {
    const msgs: WorkerToHost[] = [];
    const c = makeConfig([4], [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 2 }], { steps: 3000 });
    c.probe.every = 10;
    runRequest({ type: 'start', runId: 7, config: c, baseDir: '.', maxSteps: 20000, memoryLimitMB: 64 }, m => msgs.push(m), () => randomData([4], 2, 200, 1));
    assert.equal(msgs[0].type, 'started');
    const done = msgs[msgs.length - 1] as Extract<WorkerToHost, { type: 'done' }>;
    assert.equal(done.type, 'done'); assert.equal(done.runId, 7);
    const stats = msgs.filter((m): m is StatsMessage => m.type === 'stats');
    assert.ok(stats.length >= 1);
    assert.equal(stats.flatMap(s => s.probes).length, done.result.timeline.length);
    assert.equal(done.result.timeline.length, 3000 / 10 + 1, 'a probe every 10 steps and one at step 0');
    assert.deepEqual(stats.flatMap(s => s.lossCurve), done.result.lossCurve);
    assert.equal(done.result.lossCurve.length, 3000);
  });
  it('batches stats on its own clock: a message at most every STATS_INTERVAL_MS (20 a second), none lost', () => {
    // The worker's clock is replaced by one that advances 1 ms each time it is read, so the batching is exact
    // whatever the machine's load: the promise "at most 20 messages a second" is checked on the worker's own time.
    const real = performance.now;
    let clock = 0;
    const sentAt: number[] = [];
    const msgs: WorkerToHost[] = [];
    const c = makeConfig([4], [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }], { steps: 2000 });
    c.probe.every = 7;
    performance.now = () => ++clock;
    try {
      runRequest({ type: 'start', runId: 3, config: c, baseDir: '.', maxSteps: 20000, memoryLimitMB: 64 },
        m => { msgs.push(m); if (m.type === 'stats') sentAt.push(clock); }, () => randomData([4], 2, 200, 1));
    } finally { performance.now = real; }
    assert.equal(STATS_INTERVAL_MS, 50);
    const stats = msgs.filter((m): m is StatsMessage => m.type === 'stats');
    // The loop reads the clock once per step (2000 steps, plus the probes' reads): about 2000/50 messages.
    assert.ok(stats.length >= 2000 / STATS_INTERVAL_MS / 2, `${stats.length} stats messages over ${clock} ticks`);
    // At most one per interval, plus the first probe sent at once and the final flush.
    assert.ok(stats.length <= clock / STATS_INTERVAL_MS + 2, `${stats.length} stats messages over ${clock} ticks`);
    // Every gap between two messages is at least the interval, except before the final flush at the end of the run.
    const gaps = sentAt.slice(1, -1).map((t, i) => t - sentAt[i]);
    assert.deepEqual(gaps.filter(g => g < STATS_INTERVAL_MS), [], 'messages closer than the interval');
    const done = msgs[msgs.length - 1] as Extract<WorkerToHost, { type: 'done' }>;
    assert.equal(done.type, 'done');
    assert.equal(stats.flatMap(s => s.probes).length, done.result.timeline.length, 'every probe sent once');
    assert.deepEqual(stats.flatMap(s => s.probes.map(p => p.step)), done.result.timeline.map(p => p.step));
    assert.deepEqual(stats.flatMap(s => s.lossCurve), done.result.lossCurve);
    assert.equal(stats.at(-1)!.step, 2000);
  });
  it('posts the first probe at once, not after the first interval: the panel\'s first chart waits for no batch', () => {
    const real = performance.now;
    let clock = 0;
    const msgs: { m: WorkerToHost; at: number }[] = [];
    const c = makeConfig([4], [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }], { steps: 500 });
    c.probe.every = 10;
    performance.now = () => ++clock;
    try {
      runRequest({ type: 'start', runId: 4, config: c, baseDir: '.', maxSteps: 20000, memoryLimitMB: 64 }, m => msgs.push({ m, at: clock }), () => randomData([4], 2, 200, 1));
    } finally { performance.now = real; }
    const started = msgs.find(x => x.m.type === 'started')!;
    const first = msgs.find(x => x.m.type === 'stats')!;
    assert.deepEqual((first.m as StatsMessage).probes.map(p => p.step), [0], 'the first message carries the probe before the first update');
    assert.ok(first.at - started.at < STATS_INTERVAL_MS, `first stats ${first.at - started.at} ticks after started`);
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
  it('refuses a run whose wasm heap would pass 4 GB before loading data, also with a memory limit above that (Heap.commit\'s message)', () => {
    // 65536 x 65536 weights are 2^32 floats; the limit lets the estimate through (the torch engine could hold it).
    const c = makeConfig([2], [{ type: 'dense', units: 65536 }, { type: 'dense', units: 65536 }, { type: 'dense', units: 3 }], { batch: 1 });
    for (const threads of [1, 2]) {
      const msgs: WorkerToHost[] = [];
      runRequest({ type: 'start', runId: 2, config: c, baseDir: '.', maxSteps: 10, memoryLimitMB: 1e9, threads }, m => msgs.push(m), () => { throw new Error('must not load'); });
      assert.equal(msgs.length, 1);
      const e = msgs[0] as Extract<WorkerToHost, { type: 'error' }>;
      assert.equal(e.type, 'error');
      assert.match(e.message, /^the network's tensors take \d+ MB, over the 4096 MB the core engine can address/);
    }
  });
  it('the Compare worker refuses the same heap before loading data (a missing file would be the other error)', async () => {
    const c = makeConfig([2], [{ type: 'dense', units: 65536 }, { type: 'dense', units: 65536 }, { type: 'dense', units: 3 }], { batch: 1 });
    c.data = { source: 'npy', samples: 0, noise: 0, path: 'no-such-file.npy', validation: 0.25 };
    const msgs: CompareWorkerToHost[] = [];
    await runCompare({ config: c, baseDir: os.tmpdir(), layer: 0, memoryLimitMB: 1e9, candidates: ['relu'] } as Parameters<typeof runCompare>[0], m => msgs.push(m));
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].type, 'error');
    assert.match((msgs[0] as Extract<CompareWorkerToHost, { type: 'error' }>).message, /^the network's tensors take at least \d+ MB, over the 4096 MB/);
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

  function run(config: NetworkConfig, opts: { memoryLimitMB?: number; cancelAfterStats?: boolean; workerPath?: string; threads?: number } = {}) {
    const events: { kind: string; msg?: string; result?: RunResult; stats?: StatsMessage; threads?: number }[] = [];
    let handle!: ReturnType<typeof startRun>;
    let cancelledAtStep = -1;
    handle = startRun({ config, baseDir: process.cwd(), maxSteps: 100000, memoryLimitMB: opts.memoryLimitMB ?? 256, workerPath: opts.workerPath ?? WORKER,
      ...(opts.threads ? { threads: opts.threads } : {}) }, {
      started: m => events.push({ kind: 'started', threads: m.threads, msg: m.note }),
      stats: m => {
        events.push({ kind: 'stats', stats: m });
        if (opts.cancelAfterStats && cancelledAtStep < 0 && m.step > 0) { cancelledAtStep = m.step; handle.cancel(); }
      },
      done: r => events.push({ kind: 'done', result: r }),
      error: (msg, partial) => events.push({ kind: 'error', msg, result: partial }),
      cancelled: r => events.push({ kind: 'cancelled', result: r }),
    });
    return handle.done.then(() => ({ events, cancelledAtStep }));
  }

  /** A worker script that runs the real dist/worker.js and dies: after its second stats message, or as it loads. */
  function crashingWorker(crash: { midRun?: string; atLoad?: string }): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'al-crash-')), 'worker.js');
    fs.writeFileSync(file, `const { parentPort } = require('node:worker_threads');
let stats = 0;
const post = parentPort.postMessage.bind(parentPort);
parentPort.postMessage = m => { post(m); if (m.type === 'stats' && ++stats === 2) { ${crash.midRun ?? ''} } };
require(${JSON.stringify(WORKER)});
${crash.atLoad ?? ''}
`);
    return file;
  }

  it('trains a spiral from its config and reports done with the full timeline', async () => {
    const { events } = await run(spiralConfig(400));
    const last = events[events.length - 1];
    assert.equal(last.kind, 'done', last.msg);
    assert.equal(last.result!.steps, 400);
    assert.ok(last.result!.timeline.length >= 50);
  });
  it('cancel stops a long run early and keeps the partial result', async () => {
    const { events, cancelledAtStep } = await run(spiralConfig(1_000_000), { cancelAfterStats: true });
    const last = events[events.length - 1];
    assert.equal(last.kind, 'cancelled');
    assert.equal(last.result!.stopped, 'cancelled');
    assert.ok(cancelledAtStep > 0);
    assert.ok(last.result!.steps >= cancelledAtStep && last.result!.steps < 1_000_000, `stopped at step ${last.result!.steps}`);
    const streamed = events.filter(e => e.kind === 'stats').flatMap(e => e.stats!.probes.map(p => p.step));
    assert.deepEqual(last.result!.timeline.map(p => p.step).slice(0, streamed.length), streamed, 'the partial result keeps every probe streamed');
  });
  it('cancel stops a long 2-thread run (helper threads splitting its GEMMs) and keeps the partial result', async () => {
    // 2 * 32 * 256 * 256 flops in the first GEMM: over the rule (2^21), so the run uses the helper thread.
    const c = makeConfig([256], [{ type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 4, activation: 'softmax' }],
      { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.01, batch: 32, steps: 1_000_000 });
    c.data = { source: 'teacher', samples: 400, noise: 0, classes: 4, features: 256, validation: 0.25 };
    c.probe = { every: 50, samples: 64 };
    const { events, cancelledAtStep } = await run(c, { cancelAfterStats: true, threads: 2 });
    const started = events.find(e => e.kind === 'started');
    assert.ok(started, JSON.stringify(events.map(e => [e.kind, e.msg])));
    assert.equal(started!.threads, 2, started!.msg);
    const last = events[events.length - 1];
    assert.equal(last.kind, 'cancelled', last.msg);
    assert.equal(last.result!.stopped, 'cancelled');
    assert.ok(cancelledAtStep > 0 && last.result!.steps >= cancelledAtStep && last.result!.steps < 1_000_000, `stopped at step ${last.result!.steps}`);
  });
  it('streams the run as stats messages that add up to the result', async () => {
    const { events } = await run(spiralConfig(6000));
    const last = events[events.length - 1];
    assert.equal(last.kind, 'done', last.msg);
    const stats = events.filter(e => e.kind === 'stats').map(e => e.stats!);
    assert.ok(stats.length >= 1);
    assert.deepEqual(stats.flatMap(s => s.probes.map(p => p.step)), last.result!.timeline.map(p => p.step));
    assert.equal(stats.flatMap(s => s.lossCurve).length, 6000);
  });
  it('a worker that exits mid-run is an error that keeps the probes received so far', async () => {
    const { events } = await run(spiralConfig(1_000_000), { workerPath: crashingWorker({ midRun: 'process.exit(7);' }) });
    const last = events[events.length - 1];
    assert.equal(last.kind, 'error');
    assert.equal(last.msg, 'the training worker exited unexpectedly (code 7)');
    const streamed = events.filter(e => e.kind === 'stats').flatMap(e => e.stats!.probes);
    assert.ok(streamed.length > 0);
    assert.deepEqual(last.result!.timeline, streamed, 'the partial result is what arrived before the crash');
    assert.equal(last.result!.steps, events.filter(e => e.kind === 'stats').at(-1)!.stats!.step);
  });
  it('a worker that dies of an uncaught exception is an error naming it, not a hang', async () => {
    // Errors inside a run are caught and reported by the runner; an uncaught one (here: as the script loads) is
    // the worker thread's 'error' event.
    const { events } = await run(spiralConfig(1_000_000), { workerPath: crashingWorker({ atLoad: "throw new Error('simulated crash');" }) });
    assert.deepEqual(events.map(e => e.kind), ['error']);
    assert.equal(events[0].msg, 'the training worker crashed: simulated crash');
    assert.equal(events[0].result, undefined, 'nothing was measured');
  });
  it('a warm worker (started ahead, reused after a run) trains the same numbers as a fresh one', async () => {
    // Determinism across the editor's kept worker: the warm-up's tiny net and the previous run leave nothing behind.
    disposeIdleWorker();
    const fresh = (await run(spiralConfig(300))).events.at(-1)!;
    disposeIdleWorker();
    prewarmWorker(WORKER, 256);
    const warmed = (await run(spiralConfig(300))).events.at(-1)!;
    const reused = (await run(spiralConfig(300))).events.at(-1)!;
    for (const r of [fresh, warmed, reused]) assert.equal(r.kind, 'done', r.msg);
    const numbers = (r: RunResult) => ({ ...r, wallMs: 0 });
    assert.deepEqual(numbers(warmed.result!), numbers(fresh.result!));
    assert.deepEqual(numbers(reused.result!), numbers(fresh.result!));
    disposeIdleWorker();
  });
  it('the worker is kept between runs that end with its own answer, and never after it crashed', async () => {
    // A script that counts the runs its thread has seen, and exits on a config named "crash".
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'al-reuse-')), 'worker.js');
    fs.writeFileSync(file, `const { parentPort } = require('node:worker_threads');
let runs = 0;
parentPort.on('message', m => { if (m.type !== 'start') return; if (m.config.name === 'crash') process.exit(3);
  parentPort.postMessage({ type: 'error', runId: m.runId, message: 'run ' + (++runs) + ' of this thread' }); });`);
    const once = async (name?: string) => (await run({ ...spiralConfig(10), ...(name ? { name } : {}) }, { workerPath: file })).events.at(-1)!.msg;
    disposeIdleWorker();
    assert.equal(await once(), 'run 1 of this thread');
    assert.equal(await once(), 'run 2 of this thread', 'the second run reuses the thread');
    assert.equal(await once('crash'), 'the training worker exited unexpectedly (code 3)');
    assert.equal(await once(), 'run 1 of this thread', 'a crashed worker is not reused');
    disposeIdleWorker();
    assert.equal(await once(), 'run 1 of this thread', 'disposed: a new thread');
    disposeIdleWorker();
  });
  it('a refused run is an error naming the layer', async () => {
    const c = spiralConfig(10);
    c.model.layers[0] = { ...(c.model.layers[0] as Extract<typeof c.model.layers[0], { type: 'dense' }>), units: 200000 };
    const { events } = await run(c, { memoryLimitMB: 64 });
    assert.equal(events[events.length - 1].kind, 'error');
    assert.match(events[events.length - 1].msg!, /dense_0/);
  });
});

describe('workers: model weights named by a config stay inside the workspace folder', function () {
  this.timeout(120_000);
  // The weights file lies beside the workspace, not in it: like data.path, it must not be read (docs/security.md).
  let tmp: string; let config: NetworkConfig; let ws: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'al-weights-root-'));
    ws = path.join(tmp, 'ws');
    fs.mkdirSync(ws); fs.mkdirSync(path.join(tmp, 'outside'));
    fs.copyFileSync(path.resolve(__dirname, '../../workspace/mnist-cnn.onnx'), path.join(tmp, 'outside/mnist-cnn.onnx'));
    fs.copyFileSync(path.resolve(__dirname, '../../workspace/mnist-cnn.onnx'), path.join(ws, 'mnist-cnn.onnx'));
    const text = 'name: w\nseed: 1\nmodel:\n  onnx: mnist-cnn.onnx\n  weights: ../outside/mnist-cnn.onnx\n  init: from-model\ntrain: {steps: 2, batch: 4}\n';
    const parsed = parseConfigText(text, path.join(ws, 'net.nn.yaml'));
    assert.ok(parsed.config, JSON.stringify(parsed.problems));
    config = parsed.config!;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the training worker refuses ../outside weights with the workspace root, and reads them without one (the CLI)', () => {
    const run = (workspaceRoot?: string) => {
      const msgs: WorkerToHost[] = [];
      runRequest({ type: 'start', runId: 1, config, baseDir: ws, maxSteps: 2, memoryLimitMB: 512, ...(workspaceRoot ? { workspaceRoot } : {}) }, m => msgs.push(m), () => randomData([28, 28, 1], 10, 8, 1));
      return msgs;
    };
    const inside = run(ws).find(m => m.type === 'error') as Extract<WorkerToHost, { type: 'error' }> | undefined;
    assert.match(inside?.message ?? 'no error', /outside the workspace folder/);
    assert.equal(run().find(m => m.type === 'error'), undefined, 'without a workspace root the same file is read');
  });

  it('the compare worker refuses them too', async () => {
    const msgs: CompareWorkerToHost[] = [];
    await runCompare({ config, baseDir: ws, workspaceRoot: ws, layer: 0, memoryLimitMB: 512, candidates: ['relu'] } as Parameters<typeof runCompare>[0], m => msgs.push(m));
    const err = msgs.find(m => m.type === 'error') as Extract<CompareWorkerToHost, { type: 'error' }> | undefined;
    assert.match(err?.message ?? 'no error', /outside the workspace folder/);
  });
});
