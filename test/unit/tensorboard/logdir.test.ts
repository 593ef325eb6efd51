/** Log directories the tests write: several runs, unknown plugins, 10^5 steps, restarts, a live watch. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { tbRunView } from '../../../src/tensorboard/view';
import { LAYERS_TAG, type TbRun } from '../../../src/tensorboard/run';
import { LogdirReader, readLogdir, watchLogdir } from '../../../src/tensorboard/logdir';
import { EventFileWriter } from '../../../src/tensorboard/writer';

function tmpdir(): string { return fs.mkdtempSync(path.join(os.tmpdir(), 'al-logdir-')); }

/** Values of a relu layer at a step: z ~ N(-shift, 1), so about Phi(shift) of them are dead. */
function reluStep(w: EventFileWriter, layer: string, step: number, shift: number, gradScale: number): void {
  const z = new Float64Array(512).map((_, i) => Math.sqrt(2) * erfinv(2 * ((i + 0.5) / 512) - 1) - shift);
  w.histogram(`${layer}/preact`, z, step);
  w.histogram(`${layer}/activation`, z.map(x => (x > 0 ? x : 0)), step);
  w.histogram(`${layer}/grad_preact`, z.map(x => (x > 0 ? gradScale * Math.sin(x * 7) : 0)), step);
}

/** Inverse error function (Giles' approximation), enough for evenly spread test values. */
function erfinv(x: number): number {
  let w = -Math.log((1 - x) * (1 + x)), p: number;
  if (w < 5) { w -= 2.5; p = 2.81022636e-08; for (const c of [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * w; }
  else { w = Math.sqrt(w) - 3; p = -0.000200214257; for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * w; }
  return p * x;
}

describe('tensorboard log directories', () => {
  it('finds every run (directories with event files), sorted, each with its own layers', () => {
    const dir = tmpdir();
    for (const [run, layers] of [['b/seed2', ['fc1', 'fc2']], ['a', ['l1', 'l2', 'l3']]] as const) {
      const w = new EventFileWriter(path.join(dir, run));
      for (let s = 0; s < 3; s++) for (const l of layers) reluStep(w, l, s * 10, 0, 1);
      w.close();
    }
    const runs = readLogdir(dir);
    assert.deepEqual(runs.map(r => r.name), ['a', path.join('b', 'seed2')]);
    assert.deepEqual(runs[0].layers.map(l => l.name), ['l1', 'l2', 'l3']);
    assert.deepEqual(runs[1].timeline.map(p => p.step), [0, 10, 20]);
  });

  it('skips unknown plugins and images, lists them as unmapped tags', () => {
    const dir = tmpdir();
    const w = new EventFileWriter(dir);
    w.text(LAYERS_TAG, JSON.stringify([{ name: 'fc1', activation: 'relu' }, { name: 'out', activation: 'linear' }]), 0);
    w.tensor('mystery', 'some_future_plugin', new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3], 0);
    w.tensor('mystery', 'some_future_plugin', new Float64Array([1, 2, 3]), [1, 3], 1); // no metadata the 2nd time
    w.write({ step: 0, summary: { value: [{ tag: 'img', image: { height: 1, width: 1, encoded_image_string: Buffer.from([1]) } }] } });
    reluStep(w, 'fc1', 0, 0.5, 1);
    reluStep(w, 'out', 0, -3, 1);
    w.close();
    const [run] = readLogdir(dir);
    assert.deepEqual(run.layers.map(l => `${l.name}:${l.activation?.name}`), ['fc1:relu', 'out:linear']);
    const mystery = run.tags.find(t => t.tag === 'mystery')!;
    assert.equal(mystery.plugin, 'some_future_plugin');
    assert.equal(mystery.count, 2);
    assert.equal(mystery.quantity, undefined);
    assert.equal(run.tags.find(t => t.tag === 'img')?.plugin, 'images');
    // Phi(0.5) = 0.691 of fc1's values are <= 0: the relu's dead fraction estimate.
    assert.ok(Math.abs(run.timeline[0].layers[0].deadFraction! - 0.691) < 0.01);
  });

  it('a run with 10^5 steps: read completely, memory bounded to maxPoints steps', function () {
    this.timeout(60000);
    const dir = tmpdir();
    const w = new EventFileWriter(dir);
    w.text(LAYERS_TAG, JSON.stringify([{ name: 'fc1', activation: 'relu' }]), 0);
    // z = [-1, -0.5, 0.2, 1, 2] in three buckets (small records keep the file at ~10 MB).
    const histo = { min: -1, max: 2, num: 5, sum: 1.7, sum_squares: 6.29, bucket_limit: [-0.4, 0, 2], bucket: [2, 0, 3] };
    for (let s = 0; s < 100_000; s++) {
      w.histogramProto('fc1/preact', histo, s);
      if (s % 100 === 99) w.scalar('loss', 1 / (1 + s), s);
    }
    w.close();
    const reader = new LogdirReader(dir, { maxPoints: 500 });
    reader.poll();
    const [run] = reader.snapshot(true);
    assert.equal(run.files[0].records, 1 + 1 + 100_000 + 1000);
    assert.ok(run.timeline.length <= 500 && run.timeline.length >= 250, `${run.timeline.length} points`);
    assert.equal(run.timeline[0].step, 0);
    assert.equal(run.timeline[run.timeline.length - 1].step, 99_999);
    assert.equal(run.timeline[run.timeline.length - 1].trainLoss, Math.fround(1 / 100_000));
    assert.equal(run.timeline[0].layers[0].deadFraction, 0.4);
  });

  it('a restarted writer (SessionLog START) replaces the data at and after its step', () => {
    const dir = tmpdir();
    const w = new EventFileWriter(dir, { fileName: 'events.out.tfevents.1.a' });
    for (let s = 0; s < 50; s += 10) reluStep(w, 'fc1', s, 0, 1);
    w.close();
    const w2 = new EventFileWriter(dir, { fileName: 'events.out.tfevents.2.b' });
    w2.sessionStart(20);
    for (let s = 20; s < 40; s += 10) reluStep(w2, 'fc1', s, 0, 5);
    w2.close();
    const [run] = readLogdir(dir);
    assert.deepEqual(run.timeline.map(p => p.step), [0, 10, 20, 30]);
    assert.equal(run.restarts, 1);
    assert.ok(run.timeline[3].layers[0].gradRms > 2 * run.timeline[1].layers[0].gradRms, 'steps 20, 30 come from the restarted run');
  });

  it('watchLogdir updates live while another writer appends, and sees new runs', async function () {
    this.timeout(10000);
    const dir = tmpdir();
    const w = new EventFileWriter(path.join(dir, 'live'));
    reluStep(w, 'fc1', 0, 0, 1);
    w.flush();
    const updates: TbRun[][] = [];
    let notify: (() => void) | null = null;
    const handle = watchLogdir(dir, runs => { updates.push(runs); notify?.(); }, { intervalMs: 50 });
    const next = () => new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no update')), 3000);
      notify = () => { clearTimeout(t); notify = null; resolve(); };
    });
    try {
      await next();
      assert.deepEqual(updates[updates.length - 1][0].timeline.map(p => p.step), [0]);
      reluStep(w, 'fc1', 10, 0, 1);
      w.flush();
      await next();
      assert.deepEqual(updates[updates.length - 1][0].timeline.map(p => p.step), [0, 10]);
      const w2 = new EventFileWriter(path.join(dir, 'second'));
      reluStep(w2, 'x', 0, 0, 1);
      w2.close();
      await next();
      assert.deepEqual(updates[updates.length - 1].map(r => r.name), ['live', 'second']);
    } finally {
      handle.close();
    }
  });

  it('follows another process that appends records, cut in the middle of a record between writes', async function () {
    this.timeout(20000);
    const dir = tmpdir();
    // The child writes steps 0, 10, 20; each record is written in two halves 150 ms apart.
    const script = `
      const fs = require('fs');
      const { frameRecord } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/tensorboard/tfrecord.ts'))});
      const { encodeEvent } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/tensorboard/events.ts'))});
      const { histogramOf } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/tensorboard/writer.ts'))});
      const file = ${JSON.stringify(path.join(dir, 'events.out.tfevents.1.child'))};
      const sleep = ms => new Promise(r => setTimeout(r, ms));
      (async () => {
        fs.writeFileSync(file, frameRecord(encodeEvent({ wall_time: 1, file_version: 'brain.Event:2' })));
        for (const step of [0, 10, 20]) {
          const rec = frameRecord(encodeEvent({ wall_time: 1, step, summary: { value: [{ tag: 'fc1/grad_preact', histo: histogramOf([1, 2, 3]) }] } }));
          fs.appendFileSync(file, rec.subarray(0, 20));
          await sleep(150);
          fs.appendFileSync(file, rec.subarray(20));
          await sleep(150);
        }
      })();`;
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { stdio: 'inherit' });
    const seen: number[][] = [];
    let issues = 0;
    const handle = watchLogdir(dir, runs => {
      if (!runs.length) return;
      seen.push(runs[0].timeline.map(p => p.step));
      issues += runs[0].issues.length;
      const view = tbRunView(dir, runs[0], [], 'running');
      assert.equal(view.timeline.length, runs[0].timeline.length);
    }, { intervalMs: 40 });
    try {
      await new Promise<void>((resolve, reject) => {
        child.on('exit', code => (code === 0 ? resolve() : reject(new Error(`writer exited with ${code}`))));
      });
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && seen[seen.length - 1]?.length !== 3) await new Promise(r => setTimeout(r, 50));
    } finally {
      handle.close();
    }
    assert.deepEqual(seen[seen.length - 1], [0, 10, 20]);
    assert.ok(seen.some(s => s.length === 1) || seen.some(s => s.length === 2), 'updates came while the run was written');
    assert.equal(issues, 0, 'a half-written record is pending, not corrupt');
  });
});
