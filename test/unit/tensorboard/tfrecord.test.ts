/** TFRecord edge cases on files the tests write: corrupt CRCs, a tail still being written, empty files. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32c, maskedCrc32c } from '../../../src/tensorboard/crc32c';
import { decodeEvent } from '../../../src/tensorboard/events';
import { frameRecord, RecordFileCursor } from '../../../src/tensorboard/tfrecord';
import { EventFileWriter } from '../../../src/tensorboard/writer';

function tmpdir(): string { return fs.mkdtempSync(path.join(os.tmpdir(), 'al-tfrecord-')); }

/** A file of `n` scalar events at steps 0..n-1 (after the file_version record); returns its path and record offsets. */
function scalarFile(n: number): { file: string; offsets: number[] } {
  const w = new EventFileWriter(tmpdir(), { fileName: 'events.out.tfevents.1.test' });
  for (let s = 0; s < n; s++) w.scalar('loss', 1 / (s + 1), s);
  w.close();
  const offsets: number[] = [];
  new RecordFileCursor(w.path).read((_d, off) => offsets.push(off));
  return { file: w.path, offsets };
}

function steps(file: string, cursor = new RecordFileCursor(file)): number[] {
  const out: number[] = [];
  const plugins = new Map<string, string>();
  cursor.read(d => { const e = decodeEvent(d, plugins); if (e.values.length) out.push(e.step); });
  return out;
}

describe('crc32c', () => {
  it('matches the standard check value and TFRecord masking', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
    // masked = rotr15(crc) + 0xa282ead8
    const c = 0xe3069283;
    assert.equal(maskedCrc32c(Buffer.from('123456789')), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });
});

describe('TFRecord reader', () => {
  it('reads an empty file as zero records and no issue', () => {
    const file = path.join(tmpdir(), 'events.out.tfevents.0.empty');
    fs.writeFileSync(file, '');
    const c = new RecordFileCursor(file);
    assert.equal(c.read(() => assert.fail('no record expected')), 0);
    assert.equal(c.tailIssue(), null);
  });

  it('reports a bad payload CRC and skips exactly that record', () => {
    const { file, offsets } = scalarFile(5);
    const bytes = fs.readFileSync(file);
    bytes[offsets[3] + 12 + 2] ^= 0xff; // inside the data of the record of step 2
    fs.writeFileSync(file, bytes);
    const c = new RecordFileCursor(file);
    assert.deepEqual(steps(file, c), [0, 1, 3, 4]);
    assert.equal(c.records, 6);
    assert.equal(c.issues.length, 1);
    assert.equal(c.issues[0].kind, 'bad-data-crc');
    assert.equal(c.issues[0].offset, offsets[3]);
  });

  it('reports a bad length CRC, resynchronizes on the next valid record', () => {
    const { file, offsets } = scalarFile(5);
    const bytes = fs.readFileSync(file);
    bytes[offsets[2] + 1] ^= 0x40; // the length of step 1's record: its length CRC no longer matches
    fs.writeFileSync(file, bytes);
    const c = new RecordFileCursor(file);
    assert.deepEqual(steps(file, c), [0, 2, 3, 4]);
    assert.equal(c.issues.length, 1);
    assert.equal(c.issues[0].kind, 'bad-length-crc');
    assert.equal(c.issues[0].offset, offsets[2]);
    assert.equal(c.issues[0].skipped, offsets[3] - offsets[2]);
    assert.equal(c.tailIssue(), null);
  });

  it('reads a truncated tail up to the last complete record, then resumes once the rest is appended', () => {
    const { file, offsets } = scalarFile(6); // offsets[k] is the record of step k-1
    const full = fs.readFileSync(file);
    const cut = offsets[4] + 9; // inside the header of step 3's record
    fs.writeFileSync(file, full.subarray(0, cut));
    const c = new RecordFileCursor(file);
    const seen: number[] = [];
    const plugins = new Map<string, string>();
    const onRecord = (d: Uint8Array) => { const e = decodeEvent(d, plugins); if (e.values.length) seen.push(e.step); };
    c.read(onRecord);
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(c.tailIssue()?.kind, 'truncated');
    // Cut again inside the data of the next record, then complete the file.
    fs.appendFileSync(file, full.subarray(cut, offsets[6] - 3));
    c.read(onRecord);
    assert.deepEqual(seen, [0, 1, 2, 3]);
    fs.appendFileSync(file, full.subarray(offsets[6] - 3));
    c.read(onRecord);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
    assert.equal(c.tailIssue(), null);
    assert.deepEqual(c.issues, []);
  });

  it('reads records larger than its read chunk', () => {
    const dir = tmpdir();
    const w = new EventFileWriter(dir, { fileName: 'events.out.tfevents.2.big' });
    const values = new Float64Array(3 * 300_000).map((_, i) => i % 3 === 2 ? 1 : i);
    w.tensor('big', 'histograms', values, [300_000, 3], 7); // 7.2 MB record
    w.scalar('after', 2, 8);
    w.close();
    assert.deepEqual(steps(w.path), [7, 8]);
  });

  it('frames records as TensorFlow does', () => {
    const rec = frameRecord(Buffer.from('abc'));
    assert.equal(rec.length, 12 + 3 + 4);
    assert.equal(rec.readUInt32LE(0), 3);
    assert.equal(rec.readUInt32LE(8), maskedCrc32c(rec, 0, 8));
    assert.equal(rec.readUInt32LE(15), maskedCrc32c(Buffer.from('abc')));
  });
});
