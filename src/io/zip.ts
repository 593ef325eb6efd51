/**
 * A small bounded zip reader for the archives users hand over (Keras 3 `.keras`, NumPy `.npz`): the central
 * directory, stored or deflated entries, no zip64. Every offset is checked against the archive and an
 * entry's inflated size is capped, so a damaged archive or a deflate bomb is a ZipError, never a crash or
 * unbounded memory. The lowest layer: node built-ins only.
 */
import * as zlib from 'node:zlib';

export class ZipError extends Error {}

export interface ZipEntry { name: string; method: number; compressedSize: number; size: number; localOffset: number }

const MAX_ENTRIES = 10_000;

export function isZip(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04;
}

/** The entries of an archive's central directory. */
export function zipEntries(zip: Uint8Array, what = 'archive'): ZipEntry[] {
  const buf = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  const fail = (m: string): never => { throw new ZipError(m); };
  if (buf.length < 22 || !isZip(buf)) fail(`not a zip archive`);
  // End of central directory: the last 22 bytes, or earlier when the archive has a comment (at most 64 KB).
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) fail(`the ${what} is damaged (no zip directory at its end)`);
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12), cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) fail(`zip64 archives are not supported (the ${what} is over 4 GB or has over 65,535 entries)`);
  if (count > MAX_ENTRIES || cdOffset + cdSize > eocd) fail(`the ${what} is damaged (its directory lies outside the file)`);
  const out: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > eocd || buf.readUInt32LE(p) !== 0x02014b50) fail(`the ${what} is damaged (bad directory entry)`);
    const nlen = buf.readUInt16LE(p + 28), xlen = buf.readUInt16LE(p + 30), clen = buf.readUInt16LE(p + 32);
    out.push({
      name: buf.toString('utf8', p + 46, Math.min(p + 46 + nlen, eocd)), method: buf.readUInt16LE(p + 10),
      compressedSize: buf.readUInt32LE(p + 20), size: buf.readUInt32LE(p + 24), localOffset: buf.readUInt32LE(p + 42),
    });
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

/** The bytes of one entry, at most maxBytes once inflated. */
export function readZipEntry(zip: Uint8Array, e: ZipEntry, maxBytes: number, what = 'archive'): Buffer {
  const buf = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  const fail = (m: string): never => { throw new ZipError(m); };
  if (e.size > maxBytes) fail(`${e.name} inflates to ${e.size} bytes (at most ${maxBytes})`);
  const local = e.localOffset;
  if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) fail(`the ${what} is damaged (${e.name} has no local header)`);
  const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
  if (start + e.compressedSize > buf.length) fail(`the ${what} is truncated (${e.name} runs past its end)`);
  const data = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) return data;
  if (e.method !== 8) fail(`${e.name} is compressed with method ${e.method}: only stored and deflated entries are read`);
  try {
    return zlib.inflateRawSync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    return fail(`${e.name} in the ${what} cannot be inflated (${(err as Error).message.split('\n')[0]})`);
  }
}
