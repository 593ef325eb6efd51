/**
 * Real-data sources: NumPy .npy/.npz, MNIST's IDX files and ImageFolder PNGs and JPEGs, checked against what
 * numpy and PIL (libjpeg-turbo for JPEG) wrote and decoded (scripts/fixtures/make-data-fixtures.py records it in expected.json), end to end through
 * parseConfigText + loadDataset, and refusing malformed files with a message at data.path / data.target.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfigText } from '../../../src/config';
import { loadDataset } from '../../../src/data';
import { parseIdx, parseNpy, parseNpz, ArrayFormatError } from '../../../src/data/arrays';
import { decodeJpeg, decodePng, ImageError, resizeTo } from '../../../src/data/images';
import { Rng } from '../../../src/core/rng';
import { InputError } from '../../../src/model';

const DIR = path.join(__dirname, '../../fixtures/data');
const exp = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8'));
const read = (f: string) => fs.readFileSync(path.join(DIR, f));

/**
 * A progressive gray JPEG of size x size that repeats one AC scan nScans times: each scan is a few 14-bit EOB runs
 * (~25 bytes) yet jpeg-js walks every block of the frame on it. A port of the reviewer's generator
 * (scripts/fixtures/jpeg-scan-bomb.py). All coefficients stay 0, so every pixel is the level shift, 128.
 * With dri, the scans after the first hide inside a DRI segment's declared length (jpeg-js ignores that length).
 */
function scanBomb(size: number, nScans: number, opts: { precision?: number; dri?: boolean } = {}): Buffer {
  const seg = (m: number, body: number[]) => [0xff, m, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
  const blocks = Math.ceil(size / 8) ** 2;
  let bits = '';
  for (let i = 0; i < Math.ceil(blocks / 32767); i++) bits += '0' + '1'.repeat(14); // EOB run of 2^14 + (2^14 - 1)
  bits += '1'.repeat((8 - bits.length % 8) % 8);
  const data: number[] = [];
  for (let i = 0; i < bits.length; i += 8) { const b = parseInt(bits.slice(i, i + 8), 2); data.push(b); if (b === 0xff) data.push(0); }
  const scan = [...seg(0xda, [1, 1, 0x00, 1, 63, 0]), ...data];
  const head = [0xff, 0xd8, ...seg(0xdb, [0, ...Array(64).fill(1)]),
    ...seg(0xc2, [opts.precision ?? 8, size >> 8, size & 255, size >> 8, size & 255, 1, 1, 0x11, 0]),
    ...seg(0xc4, [0x00, 1, ...Array(15).fill(0), 0x00]), ...seg(0xc4, [0x10, 1, ...Array(15).fill(0), 0xe0])];
  const rest: number[] = [];
  for (let i = 1; i < nScans; i++) rest.push(...scan);
  const dri = opts.dri ? [0xff, 0xdd, (rest.length + 4) >> 8, (rest.length + 4) & 255, 0, 0] : [];
  return Buffer.from([...head, ...scan, ...dri, ...rest, 0xff, 0xd9]);
}

function load(yaml: string) {
  const r = parseConfigText(yaml, path.join(DIR, 'net.nn.yaml'));
  assert.ok(r.config, r.problems.map(p => p.message).join('\n'));
  return { config: r.config, data: loadDataset(r.config, DIR) };
}

describe('data from files: npy, npz, IDX, ImageFolder', function () {
  this.timeout(60_000);
  it('.npy: float32 little-endian and float64 big-endian inputs, int64 labels, as numpy wrote them', () => {
    const x = parseNpy(read('x.npy'));
    assert.deepEqual(x.shape, [40, 4, 4, 1]);
    assert.deepEqual(Array.from(x.data.subarray(0, 5)), exp.npy.x_first.map(Math.fround));
    assert.ok(Math.abs(x.data.reduce((a, b) => a + b, 0) - exp.npy.x_sum) < 1e-3);
    const be = parseNpy(read('x-f8-be.npy'));
    assert.deepEqual(Array.from(be.data), Array.from(x.data));
    assert.deepEqual(Array.from(parseNpy(read('y.npy')).data), exp.npy.y);
    assert.deepEqual(Array.from(parseNpy(read('x-u8.npy')).data.subarray(0, 5)), exp.npy.u8_first);
  });

  it('.npy that cannot be data says why: strings, Fortran order, truncated, not npy', () => {
    assert.throws(() => parseNpy(read('strings.npy')), /holds '<U1': only numeric arrays/);
    assert.throws(() => parseNpy(read('x-fortran.npy')), /Fortran order: save it with np\.save\(path, np\.ascontiguousarray\(a\)\)/);
    assert.throws(() => parseNpy(read('x.npy').subarray(0, 500)), /bytes of data for shape \(40, 4, 4, 1\)/);
    assert.throws(() => parseNpy(Buffer.from('a,b\n1,2\n')), /not a NumPy \.npy file/);
  });

  it('a config with source npy trains on the arrays: samples, shape, 3 classes', () => {
    const { data } = load('data: {source: npy, path: x.npy, target: y.npy}\nmodel:\n  input: [4, 4, 1]\n  layers: [{type: flatten}, {type: dense, units: 3, activation: softmax}]\n');
    assert.equal(data.train.n + data.val.n, 40);
    assert.equal(data.task, 'classification');
    assert.equal(data.targetDim, 3);
  });

  it('.npz: np.savez (x_train/y_train, uint8 scaled to [0, 1]) and np.savez_compressed (x/y)', () => {
    const arrays = parseNpz(read('mnist-like.npz'));
    assert.deepEqual([...arrays.keys()].sort(), ['x_test', 'x_train', 'y_test', 'y_train']);
    const { data } = load('data: {source: npz, path: mnist-like.npz}\nmodel:\n  input: [4, 4, 1]\n  layers: [{type: flatten}, {type: dense, units: 3, activation: softmax}]\n');
    assert.equal(data.train.n + data.val.n, 40);
    const all = [...data.train.x, ...data.val.x];
    assert.ok(all.every(v => v >= 0 && v <= 1) && all.some(v => v > 0.5), 'bytes scaled by 1/255');
    const c = parseNpz(read('xy-compressed.npz'));
    assert.deepEqual(Array.from(c.get('x')!().data.subarray(0, 5)), exp.npy.x_first.map(Math.fround));
  });

  it('IDX (MNIST format), the labels gzipped, and samples: N takes the first N', () => {
    const img = parseIdx(read('images-idx3-ubyte'));
    assert.deepEqual(img.shape, [40, 4, 4]);
    assert.deepEqual(Array.from(img.data.subarray(0, 5)), exp.npy.u8_first);
    assert.deepEqual(Array.from(parseIdx(read('labels-idx1-ubyte.gz')).data), exp.npy.y);
    const { data } = load('data: {source: idx, path: images-idx3-ubyte, target: labels-idx1-ubyte.gz, samples: 30}\nmodel:\n  input: [4, 4, 1]\n  layers: [{type: flatten}, {type: dense, units: 3, activation: softmax}]\n');
    assert.equal(data.train.n + data.val.n, 30);
    assert.throws(() => parseIdx(read('x.npy')), /not an IDX file/);
  });

  it('PNG in every encoding PIL writes (gray, RGB, RGBA, palette, 16-bit) decodes to PIL\'s pixels', () => {
    for (const [name, rgb] of Object.entries(exp.images.rgb as Record<string, number[]>)) {
      const img = decodePng(read(path.join('images', name)), name);
      assert.equal(img.width * img.height, 36);
      for (let i = 0; i < 36; i++) {
        for (let c = 0; c < 3; c++) {
          const got = img.channels === 3 ? img.pixels[i * 3 + c] : img.pixels[i];
          assert.ok(Math.abs(got - rgb[i * 3 + c]) < 1 / 255 + 1e-6, `${name} pixel ${i} channel ${c}: ${got} vs ${rgb[i * 3 + c]}`);
        }
      }
    }
  });

  it('ImageFolder: class folders in sorted order; every sample is one of its class\'s images as PIL reads it', () => {
    const { data } = load('data: {source: images, path: images, validation: 0.2}\nmodel:\n  input: [6, 6, 3]\n  layers: [{type: flatten}, {type: dense, units: 2, activation: softmax}]\n');
    assert.equal(data.train.n + data.val.n, 10);
    assert.deepEqual(data.classNames, exp.images.classes);
    const byClass = (label: number) => Object.entries(exp.images.rgb as Record<string, number[]>).filter(([k]) => k.startsWith(`${exp.images.classes[label]}/`)).map(([, v]) => v);
    const seen = new Set<string>();
    for (const s of [data.train, data.val]) for (let i = 0; i < s.n; i++) {
      const x = s.x.subarray(i * 108, i * 108 + 108);
      const match = byClass(s.y[i]).findIndex(ref => ref.every((v, k) => Math.abs(v - x[k]) < 1 / 255 + 1e-6));
      assert.ok(match >= 0, `sample ${i} of class ${s.y[i]} matches none of its class's images`);
      seen.add(`${s.y[i]}:${match}`);
    }
    assert.equal(seen.size, 10, 'each image once');
  });

  // jpeg-js and libjpeg-turbo round their IDCTs differently: a few levels apart. For 4:2:0 chroma libjpeg-turbo
  // interpolates ("fancy upsampling") where jpeg-js repeats each chroma sample, so edges differ more there.
  const jpegTolerance = (name: string) => name.includes('420') ? { max: 12 / 255, mean: 3 / 255 } : { max: 3 / 255, mean: 1 / 255 };
  it('JPEG gray, RGB 4:4:4, RGB 4:2:0 and progressive decode to the pixels PIL (libjpeg-turbo) decodes', () => {
    for (const [name, e] of Object.entries(exp.jpeg.images as Record<string, { mode: string; size: number[]; rgb: number[] }>)) {
      const img = decodeJpeg(read(path.join('jpeg', name)), name);
      assert.deepEqual([img.width, img.height], e.size, name);
      assert.equal(img.channels, e.mode === 'L' ? 1 : 3, name);
      const tol = jpegTolerance(name);
      let sum = 0;
      for (let i = 0; i < img.width * img.height; i++) for (let c = 0; c < 3; c++) {
        const d = Math.abs((img.channels === 3 ? img.pixels[i * 3 + c] : img.pixels[i]) - e.rgb[i * 3 + c]);
        assert.ok(d <= tol.max + 1e-6, `${name} pixel ${i} channel ${c}: off by ${d * 255} levels`);
        sum += d;
      }
      assert.ok(sum / (img.width * img.height * 3) <= tol.mean, `${name}: mean difference ${sum / (img.width * img.height * 3) * 255} levels`);
    }
  });

  it('ImageFolder of JPEGs: every sample is one of its class\'s images as PIL decodes it', () => {
    const { data } = load('data: {source: images, path: jpeg, validation: 0.25}\nmodel:\n  input: [12, 16, 3]\n  layers: [{type: flatten}, {type: dense, units: 2, activation: softmax}]\n');
    assert.deepEqual(data.classNames, exp.jpeg.classes);
    assert.equal(data.train.n + data.val.n, 8);
    const per = 12 * 16 * 3;
    const seen = new Set<string>();
    for (const s of [data.train, data.val]) for (let i = 0; i < s.n; i++) {
      const x = s.x.subarray(i * per, (i + 1) * per);
      const refs = Object.entries(exp.jpeg.images as Record<string, { rgb: number[] }>).filter(([k]) => k.startsWith(`${exp.jpeg.classes[s.y[i]]}/`));
      const match = refs.find(([k, ref]) => ref.rgb.every((v, j) => Math.abs(v - x[j]) <= jpegTolerance(k).max + 1e-6));
      assert.ok(match, `sample ${i} of class ${s.y[i]} matches none of its class's JPEGs`);
      seen.add(match[0]);
    }
    assert.equal(seen.size, 8, 'each image once');
  });

  it('a truncated JPEG and one whose header claims 65535x65535 are refused by name at data.path, nothing allocated', () => {
    assert.throws(() => decodeJpeg(read('jpeg-bad/truncated.jpg'), 'truncated.jpg'), (e: Error) => e instanceof ImageError && /^truncated\.jpg is a truncated JPEG/.test(e.message));
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => decodeJpeg(read('jpeg-bad/bomb.jpg'), 'bomb.jpg'), (e: Error) => e instanceof ImageError && /^bomb\.jpg is 65535x65535: more than 16777216 pixels/.test(e.message));
    // 65535^2 RGB pixels would be 12 GB; the header check refuses before the decoder allocates its blocks.
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20);
    for (const bad of ['truncated.jpg', 'bomb.jpg']) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-jpeg-'));
      try {
        for (const cls of ['a', 'b']) { fs.mkdirSync(path.join(dir, cls)); fs.copyFileSync(path.join(DIR, 'jpeg/cat/1-RGB.jpg'), path.join(dir, cls, '0.jpg')); }
        fs.copyFileSync(path.join(DIR, 'jpeg-bad', bad), path.join(dir, 'b', '1.jpg'));
        const r = parseConfigText('data: {source: images, path: imgs}\nmodel:\n  input: [12, 16, 3]\n  layers: [{type: flatten}, {type: dense, units: 2, activation: softmax}]\n', path.join(path.dirname(dir), 'net.nn.yaml'));
        const cfg = { ...r.config!, data: { ...r.config!.data, path: path.basename(dir) } };
        assert.throws(() => loadDataset(cfg, path.dirname(dir)), (e: InputError) => e instanceof InputError && e.message.includes(path.join(path.basename(dir), 'b', '1.jpg')) && e.problem.span!.start.line === 0 && /truncated JPEG|65535x65535/.test(e.message));
      } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    }
  });

  it('a progressive JPEG with more than 100 scans is refused by name before decoding; 100 scans still decode', () => {
    // 4096x4096 with 2,000 scans (70 KB) took jpeg-js 39 s; the refusal comes from the header walk, whatever the size.
    for (const [size, n] of [[4096, 2000], [16, 101]]) {
      assert.throws(() => decodeJpeg(scanBomb(size, n), 'bomb.jpg'), (e: Error) => e instanceof ImageError && e.message === `bomb.jpg: ${n} scans (more than 100): re-save it as a baseline JPEG`);
    }
    // Scans hidden inside a DRI segment's declared length still count: jpeg-js reads DRI by its contents.
    assert.throws(() => decodeJpeg(scanBomb(16, 101, { dri: true }), 'dri.jpg'), (e: Error) => /^dri\.jpg: 101 scans \(more than 100\)/.test(e.message));
    const ok = decodeJpeg(scanBomb(16, 100), 'ok.jpg');
    assert.deepEqual([ok.width, ok.height, ok.channels], [16, 16, 1]);
    assert.ok(ok.pixels.every(v => v === Math.fround(128 / 255)));
  });

  it('a 12-bit JPEG is refused by name rather than decoded to wrong pixels', () => {
    assert.throws(() => decodeJpeg(scanBomb(16, 1, { precision: 12 }), 'deep.jpg'), (e: Error) => e instanceof ImageError && e.message === 'deep.jpg is a 12-bit JPEG, which this decoder does not read: save it as an 8-bit JPEG or a PNG');
    assert.equal(decodeJpeg(scanBomb(16, 1), 'flat.jpg').pixels[0], Math.fround(128 / 255));
  });

  it('resizing: bilinear down-sampling averages, gray <-> RGB conversion uses the luminance weights', () => {
    const img = { width: 2, height: 2, channels: 3 as const, pixels: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]) };
    const out = new Float32Array(1);
    resizeTo(img, 1, 1, 1, out, 0);
    // The 1x1 output samples the centre: the mean of the four pixels, then 0.299 R + 0.587 G + 0.114 B.
    assert.ok(Math.abs(out[0] - (0.299 * 2 + 0.587 * 2 + 0.114 * 2) / 4) < 1e-6, String(out[0]));
  });

  it('a missing file and wrong sample shapes are errors at data.path / model.input', () => {
    const r = parseConfigText('data: {source: npy, path: nope.npy, target: y.npy}\nmodel:\n  input: [16]\n  layers: [{type: dense, units: 3, activation: softmax}]\n', path.join(DIR, 'net.nn.yaml'));
    assert.throws(() => loadDataset(r.config!, DIR), (e: InputError) => /cannot read nope\.npy: no such file/.test(e.message) && e.problem.span!.start.line === 0);
    const wrong = parseConfigText('data: {source: npy, path: x.npy, target: y.npy}\nmodel:\n  input: [15]\n  layers: [{type: dense, units: 3, activation: softmax}]\n', path.join(DIR, 'net.nn.yaml'));
    assert.throws(() => loadDataset(wrong.config!, DIR), /samples of shape \[4, 4, 1\] but model\.input is \[15\]/);
    const noTarget = parseConfigText('data: {source: npy, path: x.npy}\nmodel:\n  input: [16]\n  layers: [{type: dense, units: 3}]\n', path.join(DIR, 'net.nn.yaml'));
    assert.ok(noTarget.problems.some(p => /needs "target": the file with the labels/.test(p.message)));
  });

  it('1,000 mutated npy/npz/IDX/PNG/JPEG buffers give an ArrayFormatError / ImageError or a value, never another exception', () => {
    const seeds = ['x.npy', 'x-f8-be.npy', 'mnist-like.npz', 'xy-compressed.npz', 'images-idx3-ubyte', 'labels-idx1-ubyte.gz', 'images/cat/1-RGB.png', 'images/dog/3-P.png', 'jpeg/cat/0-L.jpg', 'jpeg/dog/2-RGB-420.jpg', 'jpeg/cat/3-RGB-progressive.jpg'].map(f => [f, read(f)] as const);
    const rng = new Rng(11);
    for (let i = 0; i < 1000; i++) {
      const [name, good] = seeds[i % seeds.length];
      const b = Buffer.from(good);
      if (rng.next() < 0.4) for (let k = 0; k < 1 + rng.int(6); k++) b[rng.int(b.length)] = rng.int(256);
      const bytes = rng.next() < 0.4 ? b.subarray(0, rng.int(b.length)) : b;
      try {
        if (name.endsWith('.npy')) parseNpy(bytes);
        else if (name.endsWith('.npz')) for (const get of parseNpz(bytes).values()) get();
        else if (name.endsWith('.png')) decodePng(bytes);
        else if (name.endsWith('.jpg')) decodeJpeg(bytes);
        else parseIdx(bytes);
      } catch (e) {
        assert.ok(e instanceof ArrayFormatError || e instanceof ImageError, `input ${i} (${name}): ${(e as Error).stack}`);
      }
    }
  });
});
