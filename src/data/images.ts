/**
 * Image folders in torchvision's ImageFolder layout (`root/<class>/<image>.png`, classes in sorted order),
 * decoded here without native code and resized to the model's input [h, w, c] with bilinear interpolation,
 * pixel values scaled to [0, 1]. PNG is decoded with node's zlib (all color types, bit depths 1-16, no
 * interlacing); JPEG needs a decoder this build does not have and is refused by name.
 */
import * as zlib from 'node:zlib';

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
