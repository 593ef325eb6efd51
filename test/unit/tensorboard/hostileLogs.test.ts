/**
 * Hostile TensorBoard logs: a small file declaring 50k layers over 1000 steps, a record header declaring
 * 1 GiB, a FIFO named like an event file. Each is read within bounds and says what it left out.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LAYERS_TAG, MAX_LAYERS_PER_RUN, MAX_LAYER_POINTS, MAX_TAGS_PER_RUN } from '../../../src/tensorboard/run';
import { readLogdir } from '../../../src/tensorboard/logdir';
import { EventFileWriter } from '../../../src/tensorboard/writer';
import { frameRecord, RecordFileCursor } from '../../../src/tensorboard/tfrecord';
import { maskedCrc32c } from '../../../src/tensorboard/crc32c';
import { bufferIo } from '../../../src/cli/io';
import { main } from '../../../src/cli/main';

const tmpdir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'al-tb-hostile-'));

describe('tensorboard: hostile logs', function () {
  this.timeout(60000);

  it('50k declared layers x 1000 steps: at most MAX_LAYERS_PER_RUN layers, a bounded timeline, and a note', async () => {
    const dir = tmpdir();
    const w = new EventFileWriter(dir);
    w.text(LAYERS_TAG, JSON.stringify(Array.from({ length: 50_000 }, (_, i) => ({ name: `L${i}`, activation: 'relu' }))), 0);
    const histo = { min: 0, max: 2, num: 4, sum: 3, sum_squares: 5, bucket_limit: [0, 1, 2, Number.MAX_VALUE], bucket: [1, 1, 2, 0] };
    for (let s = 0; s < 1000; s++) { w.histogramProto('L0/activation', histo, s); w.scalar('loss', 1 / (s + 1), s); }
    w.close();
    assert.ok(fs.statSync(w.path).size < 2 << 20, 'a small file');
    const [run] = readLogdir(dir);
    assert.equal(run.layers.length, MAX_LAYERS_PER_RUN);
    assert.ok(run.timeline.length * run.layers.length <= MAX_LAYER_POINTS, `${run.timeline.length} steps x ${run.layers.length} layers`);
    assert.ok(run.timeline.length >= 16);
    assert.deepEqual(run.notes, [`the run has more than ${MAX_LAYERS_PER_RUN} layers: only the first ${MAX_LAYERS_PER_RUN} are read (at least ${MAX_TAGS_PER_RUN} more left out)`]);
    // The CLI says so, in the text output (stderr note) and in the JSON report.
    const io = bufferIo();
    await main(['diagnose-run', dir, '--json', '--fail-on', 'never'], io);
    assert.match(io.err(), /note: run "\.": the run has more than 1000 layers: only the first 1000 are read/);
    assert.deepEqual(JSON.parse(io.out()).source.notes, run.notes);
  });

  it('more tags than MAX_TAGS_PER_RUN: the rest are counted, not listed', () => {
    const dir = tmpdir();
    const w = new EventFileWriter(dir);
    for (let i = 0; i < MAX_TAGS_PER_RUN + 10; i++) w.scalar(`t${i}`, i, 0);
    w.close();
    const [run] = readLogdir(dir);
    assert.equal(run.tags.length, MAX_TAGS_PER_RUN);
    assert.deepEqual(run.notes, [`the run has more than ${MAX_TAGS_PER_RUN} tags: only the first ${MAX_TAGS_PER_RUN} are listed (10 more left out)`]);
  });

  it('a record header declaring 1 GiB is skipped by seeking past it, never read or allocated', function () {
    const dir = tmpdir();
    const f = path.join(dir, 'events.out.tfevents.1.x');
    const before = frameRecord(Buffer.from('first'));
    const header = Buffer.alloc(12);
    const len = 2 ** 30;
    header.writeUInt32LE(len, 0); header.writeUInt32LE(0, 4); header.writeUInt32LE(maskedCrc32c(header, 0, 8), 8);
    fs.writeFileSync(f, Buffer.concat([before, header]));
    // The declared body exists as a hole (a sparse file): no disk, but a reader that trusts the header reads 1 GiB.
    const fd = fs.openSync(f, 'r+');
    fs.ftruncateSync(fd, before.length + 12 + len + 4);
    fs.closeSync(fd);
    fs.appendFileSync(f, frameRecord(Buffer.from('after')));
    // Count the bytes the reader asks for (the module object, which the reader's import reads through).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fsModule = require('node:fs') as { readSync: typeof fs.readSync };
    const realRead = fsModule.readSync;
    let requested = 0;
    fsModule.readSync = ((fd: number, buf: NodeJS.ArrayBufferView, off: number, n: number, pos: number) => {
      requested += n; return realRead(fd, buf, off, n, pos);
    }) as typeof fs.readSync;
    const seen: string[] = [];
    const c = new RecordFileCursor(f);
    try { c.read(d => seen.push(Buffer.from(d).toString())); } finally { fsModule.readSync = realRead; }
    assert.deepEqual(seen, ['first', 'after']);
    assert.equal(c.issues.length, 1);
    assert.equal(c.issues[0].kind, 'oversized');
    assert.match(c.issues[0].message, /^record at byte 21 declares 1073741824 bytes, over the 16 MB limit; skipped unread$/);
    assert.ok(requested < 16 << 20, `read ${requested} bytes`);
    assert.equal(c.tailIssue(), null);
  });

  it('a FIFO named like an event file (and one given directly) does not block', function () {
    if (process.platform === 'win32') this.skip();
    const dir = tmpdir();
    const w = new EventFileWriter(dir);
    w.histogram('fc/activation', [0, 1, 2], 0);
    w.close();
    execFileSync('mkfifo', [path.join(dir, 'events.out.tfevents.9.fifo')]);
    const c = new RecordFileCursor(path.join(dir, 'events.out.tfevents.9.fifo'));
    assert.equal(c.read(() => undefined), 0);
    assert.deepEqual(readLogdir(dir).map(r => r.layers.map(l => l.name)), [['fc']]);
  });
});
