/**
 * Keras 3 `.keras` files: a zip archive with `config.json` (the model's `to_json()`), `metadata.json` and the
 * weights. A small bounded zip reader (central directory, stored or deflated entries, no zip64): only
 * config.json is extracted, its inflated size capped, every offset checked against the archive.
 */
import * as zlib from 'node:zlib';

export class KerasZipError extends Error {}

/** config.json of a Keras 3 model is a few KB; far larger is not a model config. */
export const MAX_CONFIG_JSON_BYTES = 16 * 1024 * 1024;
const MAX_ENTRIES = 10_000;

export const isKerasZipName = (f: string) => /\.keras$/i.test(f);

/** The text of config.json inside a .keras archive; throws KerasZipError with a plain message. */
export function kerasZipConfig(zip: Uint8Array): string {
  const buf = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  const fail = (m: string): never => { throw new KerasZipError(m); };
  if (buf.length < 22 || buf.readUInt32LE(0) !== 0x04034b50) fail('not a .keras file: a Keras 3 model is a zip archive, and this is not one');
  // End of central directory: the last 22 bytes, or earlier when the archive has a comment (at most 64 KB).
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) fail('the .keras archive is damaged (no zip directory at its end)');
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12), cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) fail('zip64 .keras archives are not supported');
  if (count > MAX_ENTRIES || cdOffset + cdSize > eocd) fail('the .keras archive is damaged (its directory lies outside the file)');
  const names: string[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > eocd || buf.readUInt32LE(p) !== 0x02014b50) fail('the .keras archive is damaged (bad directory entry)');
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20), usize = buf.readUInt32LE(p + 24);
    const nlen = buf.readUInt16LE(p + 28), xlen = buf.readUInt16LE(p + 30), clen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, Math.min(p + 46 + nlen, eocd));
    names.push(name);
    p += 46 + nlen + xlen + clen;
    if (name !== 'config.json') continue;
    if (usize > MAX_CONFIG_JSON_BYTES) fail(`config.json inflates to ${usize} bytes (at most ${MAX_CONFIG_JSON_BYTES})`);
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) fail('the .keras archive is damaged (config.json has no local header)');
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + csize > buf.length) fail('the .keras archive is truncated (config.json runs past its end)');
    const data = buf.subarray(start, start + csize);
    if (method === 0) return data.toString('utf8');
    if (method !== 8) fail(`config.json is compressed with method ${method}: only stored and deflated entries are read`);
    try {
      return zlib.inflateRawSync(data, { maxOutputLength: MAX_CONFIG_JSON_BYTES }).toString('utf8');
    } catch (e) {
      return fail(`config.json in the .keras archive cannot be inflated (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return fail(`the .keras archive has no config.json (it holds ${names.slice(0, 5).join(', ') || 'nothing'}${names.length > 5 ? ', ...' : ''}): not a Keras 3 model`);
}
