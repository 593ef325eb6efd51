/**
 * Image folders in torchvision's ImageFolder layout (`root/<class>/<image>.png`, classes in sorted order),
 * decoded here without native code and resized to the model's input [h, w, c] with bilinear interpolation,
 * pixel values scaled to [0, 1]. PNG is decoded with node's zlib (all color types, bit depths 1-16, no
 * interlacing); JPEG (baseline and progressive, gray or YCbCr) with jpeg-js, pure JavaScript, after our own
 * look at the frame header so that a file claiming a huge size is refused before anything is allocated.
 */
import * as zlib from 'node:zlib';
import { decode as jpegJsDecode } from 'jpeg-js';

export class ImageError extends Error {}

export interface Image { width: number; height: number; channels: 1 | 3; pixels: Float32Array }

/** A decoded image is at most this many pixels (a 4096 x 4096 photo). */
export const MAX_PIXELS = 4096 * 4096;
const fail = (m: string): never => { throw new ImageError(m); };
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(b: Uint8Array): boolean { return b.length >= 8 && PNG_SIG.every((v, i) => b[i] === v); }
export function isJpeg(b: Uint8Array): boolean { return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff; }

/** A PNG as gray or RGB floats in [0, 1] (alpha dropped, palette expanded). */
export function decodePng(buf: Uint8Array, what = 'the image'): Image {
  if (!isPng(buf)) fail(`${what} is not a PNG file`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 8;
  let width = 0, height = 0, depth = 0, color = -1, interlace = 0;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  while (p + 8 <= buf.length) {
    const len = dv.getUint32(p, false);
    const type = String.fromCharCode(buf[p + 4], buf[p + 5], buf[p + 6], buf[p + 7]);
    const start = p + 8;
    if (start + len > buf.length) fail(`${what} is truncated (chunk ${type})`);
    const body = buf.subarray(start, start + len);
    if (type === 'IHDR') {
      if (len < 13) fail(`${what} has a damaged header`);
      width = dv.getUint32(start, false); height = dv.getUint32(start + 4, false);
      depth = buf[start + 8]; color = buf[start + 9]; interlace = buf[start + 12];
    } else if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    p = start + len + 4;
  }
  if (!width || !height) fail(`${what} has no image header`);
  if (width * height > MAX_PIXELS) fail(`${what} is ${width}x${height}: more than ${MAX_PIXELS} pixels`);
  if (interlace) fail(`${what} is an interlaced PNG: save it without interlacing`);
  const samples = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[color];
  if (!samples || ![1, 2, 4, 8, 16].includes(depth)) fail(`${what} has an unsupported PNG format (color type ${color}, bit depth ${depth})`);
  if (color === 3 && !palette) fail(`${what} is a palette PNG without a palette`);
  const bpp = Math.max(1, (samples * depth) >> 3);
  const stride = Math.ceil((width * samples * depth) / 8);
  let raw: Buffer;
  try { raw = zlib.inflateSync(Buffer.concat(idat), { maxOutputLength: (stride + 1) * height + 1 }); } catch (e) { return fail(`${what} has damaged image data (${(e as Error).message.split('\n')[0]})`); }
  if (raw.length < (stride + 1) * height) fail(`${what} has too little image data`);
  // Undo the per-row filters (PNG spec section 9).
  const cur = new Uint8Array(stride), prev = new Uint8Array(stride);
  const channels: 1 | 3 = color === 2 || color === 6 || color === 3 ? 3 : 1;
  const pixels = new Float32Array(width * height * channels);
  const max = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      let v = row[i];
      if (f === 1) v += a; else if (f === 2) v += b; else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) { const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c); v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      else if (f !== 0) fail(`${what} has an invalid row filter ${f}`);
      cur[i] = v & 255;
    }
    const sample = (x: number, s: number): number => {
      if (depth === 8) return cur[x * samples + s];
      if (depth === 16) return (cur[2 * (x * samples + s)] << 8) | cur[2 * (x * samples + s) + 1];
      const bit = (x * samples + s) * depth;
      return (cur[bit >> 3] >> (8 - depth - (bit & 7))) & max;
    };
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (color === 3) {
        const k = sample(x, 0) * 3;
        for (let ch = 0; ch < 3; ch++) pixels[o + ch] = (palette![k + ch] ?? 0) / 255;
      } else if (channels === 3) for (let ch = 0; ch < 3; ch++) pixels[o + ch] = sample(x, ch) / max;
      else pixels[o] = sample(x, 0) / max;
    }
    prev.set(cur);
  }
  return { width, height, channels, pixels };
}

/** What a JPEG's frame header (SOFn) says, read by walking the marker segments up to it, and its number of scans. */
interface JpegFrame { marker: number; precision: number; width: number; height: number; components: number; end: number; scans: number }

/** More scans than any encoder writes (libjpeg-turbo limits them too): jpeg-js walks every block of the frame on
 * each scan, so a small progressive file with thousands of ~25-byte scans would stall loading for minutes. */
const MAX_JPEG_SCANS = 100;

function jpegFrame(buf: Uint8Array, what: string): JpegFrame {
  let p = 2;
  while (p + 4 <= buf.length) {
    if (buf[p] !== 0xff) fail(`${what} is a damaged JPEG (no marker at byte ${p})`);
    const marker = buf[p + 1];
    if (marker === 0xff) { p++; continue; } // fill byte
    const len = (buf[p + 2] << 8) | buf[p + 3];
    if (len < 2 || p + 2 + len > buf.length) fail(`${what} is a truncated JPEG (its header ends early)`);
    // SOF0-15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (len < 8) fail(`${what} has a damaged JPEG frame header`);
      const end = p + 2 + len;
      // Every Start-Of-Scan after the frame header. jpeg-js does not always honour segment lengths (DRI, DQT, DHT,
      // SOS are read by their contents), so walking by lengths could skip scans it decodes; counting every FF DA
      // pair is an upper bound instead (entropy-coded data stuffs each 0xFF with a 0x00, so it never holds one).
      let scans = 0;
      for (let i = end; i + 1 < buf.length; i++) if (buf[i] === 0xff && buf[i + 1] === 0xda) scans++;
      return { marker, precision: buf[p + 4], height: (buf[p + 5] << 8) | buf[p + 6], width: (buf[p + 7] << 8) | buf[p + 8], components: buf[p + 9], end, scans };
    }
    if (marker === 0xda || marker === 0xd9) break; // scan or end before any frame header
    p += 2 + len;
  }
  return fail(`${what} is a truncated or damaged JPEG (no frame header)`);
}

/** Bytes jpeg-js may allocate for one image: its coefficient blocks (4 bytes a sample) and the output. */
const JPEG_MEMORY_MB = Math.ceil((MAX_PIXELS * 3 * 4 * 1.5 + MAX_PIXELS * 3) / 2 ** 20);

/** A JPEG (baseline or progressive; gray or color) as gray or RGB floats in [0, 1]. */
export function decodeJpeg(buf: Uint8Array, what = 'the image'): Image {
  if (!isJpeg(buf)) fail(`${what} is not a JPEG file`);
  const f = jpegFrame(buf, what);
  if (f.marker === 0xc3 || f.marker === 0xc7 || f.marker === 0xcb || f.marker === 0xcf) fail(`${what} is a lossless JPEG, which this decoder does not read: save it as a baseline or progressive JPEG or a PNG`);
  if (f.marker >= 0xc9) fail(`${what} uses arithmetic coding, which this decoder does not read: save it as a baseline or progressive JPEG or a PNG`);
  if (f.precision !== 8) fail(`${what} is a ${f.precision}-bit JPEG, which this decoder does not read: save it as an 8-bit JPEG or a PNG`);
  if (!f.width || !f.height) fail(`${what} has no image size in its JPEG header`);
  if (f.width * f.height > MAX_PIXELS) fail(`${what} is ${f.width}x${f.height}: more than ${MAX_PIXELS} pixels`);
  if (f.components !== 1 && f.components !== 3) fail(`${what} is a ${f.components === 4 ? 'CMYK' : `${f.components}-component`} JPEG: save it as gray or RGB`);
  if (f.scans > MAX_JPEG_SCANS) fail(`${what}: ${f.scans} scans (more than ${MAX_JPEG_SCANS}): re-save it as a baseline JPEG`);
  let out: { width: number; height: number; data: Uint8Array };
  try {
    out = jpegJsDecode(buf, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: JPEG_MEMORY_MB });
  } catch (e) {
    // A file cut short (a partial download) has no end-of-image marker after its frame (in the scans 0xFF is
    // always followed by 0 or a restart marker); say so rather than the decoder's words.
    let eoi = false;
    for (let i = f.end; i + 1 < buf.length && !eoi; i++) eoi = buf[i] === 0xff && buf[i + 1] === 0xd9;
    const why = String((e as Error)?.message ?? e).split('\n')[0];
    return fail(eoi ? `${what} is a damaged JPEG (${why})` : `${what} is a truncated JPEG (it ends before its end-of-image marker; the decoder says: ${why})`);
  }
  if (out.width !== f.width || out.height !== f.height) fail(`${what} is a damaged JPEG (decoded ${out.width}x${out.height}, the header says ${f.width}x${f.height})`);
  const n = f.width * f.height;
  const channels: 1 | 3 = f.components === 1 ? 1 : 3;
  const pixels = new Float32Array(n * channels);
  // jpeg-js writes RGB triples even for gray images (the gray value three times).
  if (channels === 1) for (let i = 0; i < n; i++) pixels[i] = out.data[3 * i] / 255;
  else for (let i = 0; i < 3 * n; i++) pixels[i] = out.data[i] / 255;
  return { width: f.width, height: f.height, channels, pixels };
}

/** A PNG or JPEG by its signature. */
export function decodeImage(buf: Uint8Array, what = 'the image'): Image {
  if (isPng(buf)) return decodePng(buf, what);
  if (isJpeg(buf)) return decodeJpeg(buf, what);
  return fail(`${what} is neither a PNG nor a JPEG image`);
}

/** Resized (bilinear, align corners off as in PIL/torchvision) to h x w with c channels (gray <-> RGB). */
export function resizeTo(img: Image, h: number, w: number, c: number, out: Float32Array, offset: number): void {
  const sy = img.height / h, sx = img.width / w, C = img.channels;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(img.height - 1, Math.max(0, (y + 0.5) * sy - 0.5)), y0 = Math.floor(fy), y1 = Math.min(img.height - 1, y0 + 1), ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(img.width - 1, Math.max(0, (x + 0.5) * sx - 0.5)), x0 = Math.floor(fx), x1 = Math.min(img.width - 1, x0 + 1), tx = fx - x0;
      const at = (yy: number, xx: number, ch: number) => img.pixels[(yy * img.width + xx) * C + ch];
      const v = (ch: number) => (at(y0, x0, ch) * (1 - tx) + at(y0, x1, ch) * tx) * (1 - ty) + (at(y1, x0, ch) * (1 - tx) + at(y1, x1, ch) * tx) * ty;
      const o = offset + (y * w + x) * c;
      if (c === C) for (let ch = 0; ch < c; ch++) out[o + ch] = v(ch);
      else if (c === 1) out[o] = 0.299 * v(0) + 0.587 * v(1) + 0.114 * v(2);
      else { const g = v(0); for (let ch = 0; ch < c; ch++) out[o + ch] = g; }
    }
  }
}
