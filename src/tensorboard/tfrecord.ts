/**
 * TFRecord framing, the container of TensorBoard event files:
 *   uint64 length (LE) | uint32 masked_crc32c(length) | data[length] | uint32 masked_crc32c(data)
 * Reading is incremental and bounded in memory: a cursor remembers the offset after the last complete record,
 * so a file that another process is still appending to is read up to its last complete record and resumed
 * on the next call. Corrupt records are reported and skipped, never thrown.
 */
import * as fs from 'node:fs';
import { maskedCrc32c } from './crc32c';
import { openUserFile } from '../io/userFile';

export const HEADER_BYTES = 12;
export const FOOTER_BYTES = 4;
/** Read size; a record larger than this gets a buffer of its own size. */
const CHUNK_BYTES = 4 << 20;
/**
 * Larger records (valid length CRC) are skipped by seeking past them, never read: a header may declare any
 * length, and an event (histogram, text) is far smaller. Images or audio above this are not what we read.
 */
export const MAX_RECORD_BYTES = 16 << 20;

export type RecordIssueKind = 'bad-length-crc' | 'bad-data-crc' | 'truncated' | 'oversized';

/** A problem in one file at one byte offset; `skipped` is how many bytes were passed over. */
export interface RecordIssue { kind: RecordIssueKind; offset: number; skipped: number; message: string }

export interface ScanResult {
  /** Bytes of buf (from start) consumed: complete records, skipped corruption. */
  consumed: number;
  records: number;
  /** Still searching for a valid header after a bad length CRC when the data ended. */
  resyncing: boolean;
}

/** Frame one record around data. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + data.length + FOOTER_BYTES);
  out.writeUInt32LE(data.length >>> 0, 0);
  out.writeUInt32LE(Math.floor(data.length / 2 ** 32), 4);
  out.writeUInt32LE(maskedCrc32c(out, 0, 8), 8);
  out.set(data, HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(data), HEADER_BYTES + data.length);
  return out;
}

function headerValid(buf: Uint8Array, p: number, view: DataView): boolean {
  return maskedCrc32c(buf, p, p + 8) === view.getUint32(p + 8, true);
}

/**
 * The reading state of one event file. `read()` consumes whatever complete records the file holds now;
 * call it again after the file grew.
 */
export class RecordFileCursor {
  /** File offset of the next unread byte (a record boundary, or the resync search position). */
  offset = 0;
  records = 0;
  readonly issues: RecordIssue[] = [];
  /** Bytes after `offset` that do not yet form a complete record (a tail still being written, or cut off). */
  pendingBytes = 0;
  private resyncFrom: number | null = null;

  constructor(readonly path: string) {}

  /**
   * Reads new complete records, calling onRecord(data, fileOffset) for each one with a valid CRC.
   * `data` is a view into a reused buffer: decode it before returning. Returns the number of new records.
   */
  read(onRecord: (data: Uint8Array, offset: number) => void): number {
    let fd: number, size: number;
    // Regular files only (a FIFO named *.tfevents* would block); no size cap: reading is incremental.
    try { ({ fd, size } = openUserFile(this.path, { kind: 'tfevents', maxBytes: Number.MAX_SAFE_INTEGER })); } catch { return 0; }
    const before = this.records;
    try {
      if (size < this.offset) { // truncated or replaced: start over
        this.offset = 0; this.resyncFrom = null;
      }
      let want = CHUNK_BYTES;
      let buf = Buffer.allocUnsafe(Math.min(want, Math.max(size - this.offset, 0)));
      while (this.offset < size) {
        const n = Math.min(want, size - this.offset);
        if (buf.length < n) buf = Buffer.allocUnsafe(n);
        const got = readFully(fd, buf, n, this.offset);
        const r = this.scan(buf, got, onRecord);
        this.offset += r.consumed;
        if (r.skipBytes > 0) { // an oversized record: seek past it once it is all there
          if (this.offset + r.skipBytes > size) break;
          this.issues.push({ kind: 'oversized', offset: this.offset, skipped: r.skipBytes,
            message: `record at byte ${this.offset} declares ${r.skipBytes - HEADER_BYTES - FOOTER_BYTES} bytes, over the ${MAX_RECORD_BYTES >> 20} MB limit; skipped unread` });
          this.records++;
          this.offset += r.skipBytes;
          want = CHUNK_BYTES;
          continue;
        }
        if (r.needBytes > 0) { // one record does not fit the chunk
          if (this.offset + r.needBytes > size) break; // its tail is not written yet
          want = r.needBytes;
          continue;
        }
        want = CHUNK_BYTES;
        if (r.consumed === 0) break; // an incomplete header at the end
      }
      this.pendingBytes = size - this.offset;
    } finally {
      fs.closeSync(fd);
    }
    return this.records - before;
  }

  /**
   * What is wrong with the end of a file that will not grow any more (a finished or cut-off file): an
   * incomplete last record, or corruption with no valid record after it. null when the file ends cleanly.
   */
  tailIssue(): RecordIssue | null {
    if (this.resyncFrom !== null) {
      const skipped = this.offset + this.pendingBytes - this.resyncFrom;
      return { kind: 'bad-length-crc', offset: this.resyncFrom, skipped,
        message: `corrupt record length at byte ${this.resyncFrom} (length CRC mismatch); no valid record after it (${skipped} bytes skipped)` };
    }
    if (this.pendingBytes === 0) return null;
    return { kind: 'truncated', offset: this.offset, skipped: this.pendingBytes,
      message: `truncated record at byte ${this.offset}: the file ends ${this.pendingBytes} bytes into it` };
  }

  private scan(buf: Buffer, n: number, onRecord: (data: Uint8Array, offset: number) => void): { consumed: number; needBytes: number; skipBytes: number } {
    const view = new DataView(buf.buffer, buf.byteOffset, n);
    let p = 0;
    for (;;) {
      if (this.resyncFrom !== null) {
        let q = p;
        while (q + HEADER_BYTES <= n && !headerValid(buf, q, view)) q++;
        if (q + HEADER_BYTES > n) return { consumed: Math.max(p, n - HEADER_BYTES + 1), needBytes: 0, skipBytes: 0 };
        this.issues.push({ kind: 'bad-length-crc', offset: this.resyncFrom, skipped: this.offset + q - this.resyncFrom,
          message: `corrupt record length at byte ${this.resyncFrom} (length CRC mismatch); skipped ${this.offset + q - this.resyncFrom} bytes to the next valid record` });
        this.records++;
        this.resyncFrom = null;
        p = q;
      }
      if (n - p < HEADER_BYTES) return { consumed: p, needBytes: 0, skipBytes: 0 };
      if (!headerValid(buf, p, view)) { this.resyncFrom = this.offset + p; p++; continue; }
      const len = view.getUint32(p, true) + view.getUint32(p + 4, true) * 2 ** 32;
      const total = HEADER_BYTES + len + FOOTER_BYTES;
      if (len > MAX_RECORD_BYTES) return { consumed: p, needBytes: 0, skipBytes: total };
      if (n - p < total) return { consumed: p, needBytes: p === 0 ? total : 0, skipBytes: 0 };
      const dataStart = p + HEADER_BYTES;
      this.records++;
      if (maskedCrc32c(buf, dataStart, dataStart + len) !== view.getUint32(dataStart + len, true)) {
        this.issues.push({ kind: 'bad-data-crc', offset: this.offset + p, skipped: total,
          message: `corrupt record at byte ${this.offset + p} (data CRC mismatch); skipped` });
      } else {
        onRecord(buf.subarray(dataStart, dataStart + len), this.offset + p);
      }
      p += total;
    }
  }
}

function readFully(fd: number, buf: Buffer, n: number, position: number): number {
  let got = 0;
  while (got < n) {
    const r = fs.readSync(fd, buf, got, n - got, position + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}
