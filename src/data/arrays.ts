/**
 * Arrays users already have: NumPy `.npy` / `.npz` (what `np.save`, `np.savez` and Keras' datasets write) and
 * the IDX files MNIST ships as (optionally gzipped). Formats parsed here, no Python: the .npy header dict
 * (descr, fortran_order, shape), IDX's big-endian magic and dims. Sizes are checked against the bytes before
 * anything is allocated; problems are ArrayFormatError with a plain message.
 */
import * as zlib from 'node:zlib';
import { isZip, readZipEntry, zipEntries, ZipError } from '../io/zip';

export class ArrayFormatError extends Error {}

export interface NdArray { shape: number[]; data: Float32Array; integer: boolean; dtype: string }

/** Arrays are read whole: at most this many bytes inflated (MNIST's training images are 47 MB). */
export const MAX_ARRAY_BYTES = 512 * 1024 * 1024;

const fail = (m: string): never => { throw new ArrayFormatError(m); };
const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

function convert(bytes: Uint8Array, kind: string, size: number, little: boolean, count: number, what: string): Float32Array {
  if (bytes.length < count * size) fail(`${what} has ${bytes.length} bytes of data for ${count} values of ${size} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, count * size);
  const out = new Float32Array(count);
  const key = `${kind}${size}`;
  for (let i = 0; i < count; i++) {
    const o = i * size;
    switch (key) {
      case 'f4': out[i] = dv.getFloat32(o, little); break;
      case 'f8': out[i] = dv.getFloat64(o, little); break;
      case 'f2': { const h = dv.getUint16(o, little); const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, f = h & 1023; out[i] = e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * 2 ** (e - 15); break; }
      case 'u1': case 'b1': out[i] = dv.getUint8(o); break;
      case 'i1': out[i] = dv.getInt8(o); break;
      case 'u2': out[i] = dv.getUint16(o, little); break;
      case 'i2': out[i] = dv.getInt16(o, little); break;
      case 'u4': out[i] = dv.getUint32(o, little); break;
      case 'i4': out[i] = dv.getInt32(o, little); break;
      case 'u8': out[i] = Number(dv.getBigUint64(o, little)); break;
      case 'i8': out[i] = Number(dv.getBigInt64(o, little)); break;
      default: fail(`${what} has dtype ${kind}${size}, which is not a number type`);
    }
  }
  return out;
}

/** A NumPy .npy file (format versions 1-3). */
export function parseNpy(buf: Uint8Array, what = 'the .npy file'): NdArray {
  if (buf.length < 10 || buf[0] !== 0x93 || String.fromCharCode(...buf.subarray(1, 6)) !== 'NUMPY') fail(`${what} is not a NumPy .npy file (np.save writes one)`);
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : major === 2 || major === 3 ? (buf.length >= 12 ? dv.getUint32(8, true) : -1) : -1;
  const hstart = major === 1 ? 10 : 12;
  if (hlen < 0 || hlen > 1 << 20 || hstart + hlen > buf.length) fail(`${what} has a damaged header (format version ${major})`);
  const header = Buffer.from(buf.buffer, buf.byteOffset + hstart, hlen).toString('latin1');
  const descr = /'descr'\s*:\s*'([<>|=]?)([fiub])(\d+)'/.exec(header);
  if (!descr) return fail(`${what} holds ${/'descr'\s*:\s*([^,]+)/.exec(header)?.[1]?.trim() ?? 'an unknown dtype'}: only numeric arrays (float, int, uint, bool) can be data`);
  if (/'fortran_order'\s*:\s*True/.test(header)) fail(`${what} is stored in Fortran order: save it with np.save(path, np.ascontiguousarray(a))`);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) return fail(`${what} has no shape in its header`);
  const shape = shapeText.split(',').map(s => s.trim()).filter(Boolean).map(Number);
  if (shape.length > 8 || shape.some(d => !Number.isSafeInteger(d) || d < 0)) fail(`${what} has an invalid shape (${shapeText})`);
  const [, order, kind, sizeText] = descr;
  const size = Number(sizeText);
  const count = prod(shape);
  const data = buf.subarray(hstart + hlen);
  if (data.length !== count * size) fail(`${what} has ${data.length} bytes of data for shape (${shape.join(', ')}) of ${kind}${size} (expected ${count * size})`);
  return { shape, data: convert(data, kind, size, order !== '>', count, what), integer: kind !== 'f', dtype: `${kind}${size}` };
}

/** The arrays of a NumPy .npz archive by name (without ".npy"). */
export function parseNpz(buf: Uint8Array, what = 'the .npz file'): Map<string, () => NdArray> {
  if (!isZip(buf)) fail(`${what} is not a NumPy .npz file (np.savez writes a zip archive)`);
  try {
    const out = new Map<string, () => NdArray>();
    for (const e of zipEntries(buf, what)) {
      if (!e.name.endsWith('.npy')) continue;
      out.set(e.name.slice(0, -4), () => {
        try { return parseNpy(readZipEntry(buf, e, MAX_ARRAY_BYTES, what), `${e.name} in ${what}`); } catch (err) {
          if (err instanceof ZipError) throw new ArrayFormatError(err.message);
          throw err;
        }
      });
    }
    return out;
  } catch (err) {
    if (err instanceof ZipError) throw new ArrayFormatError(err.message);
    throw err;
  }
}

/** An IDX file (MNIST's format), gzipped or not. */
export function parseIdx(input: Uint8Array, what = 'the IDX file'): NdArray {
  let buf = input;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try { buf = zlib.gunzipSync(buf, { maxOutputLength: MAX_ARRAY_BYTES }); } catch (e) { fail(`${what} cannot be unzipped (${(e as Error).message.split('\n')[0]})`); }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) fail(`${what} is not an IDX file (MNIST's train-images-idx3-ubyte format)`);
  const types: Record<number, [string, number]> = { 0x08: ['u', 1], 0x09: ['i', 1], 0x0b: ['i', 2], 0x0c: ['i', 4], 0x0d: ['f', 4], 0x0e: ['f', 8] };
  const type = types[buf[2]];
  if (!type) return fail(`${what} has the unknown IDX data type 0x${buf[2].toString(16)}`);
  const rank = buf[3];
  if (rank < 1 || rank > 8 || buf.length < 4 + 4 * rank) fail(`${what} has a damaged header (rank ${rank})`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const count = prod(shape);
  const [kind, size] = type;
  const data = buf.subarray(4 + 4 * rank);
  if (data.length !== count * size) fail(`${what} has ${data.length} bytes of data for shape [${shape.join(', ')}] (expected ${count * size})`);
  return { shape, data: convert(data, kind, size, false, count, what), integer: kind !== 'f', dtype: `${kind}${size}` };
}
