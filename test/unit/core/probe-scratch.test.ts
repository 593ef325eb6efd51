/**
 * The probe statistics kernel's scratch (kernels.ts SUMMARY_FLOATS): at the most bins it allows (MAX_SUMMARY_BINS),
 * probeLayer writes nothing past SUMMARY_FLOATS floats from `out` (Network.statsScratch is that long, and the next
 * buffer follows it), and its histograms, counted in eight lane histograms (four lanes, even and odd quads), are
 * the counts by hand.
 */
import assert from 'node:assert/strict';
import { loadKernels, MAX_SUMMARY_BINS, SUMMARY_FLOATS } from '../../../src/core/kernels';

describe('probeLayer scratch at MAX_SUMMARY_BINS stays inside SUMMARY_FLOATS', () => {
  it('activations and pre-activations with 64 bins: the floats after the scratch untouched, the counts by hand', function () {
    const k = loadKernels('wasm', 1 << 16);
    if (k.kind !== 'wasm') this.skip();
    const n = 4099, A = 1000, Z = 6000, G = 11000, KG = 16000, KW = 16100, OUT = 20000, bins = MAX_SUMMARY_BINS, lo = -4, inv = bins / 8;
    let seed = 5;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    // Runs of one value (a relu's zeros) over even and odd quads, and spread values over every bin.
    const z = new Float32Array(n).map((_, i) => (i % 37 < 13 ? 0.01 : (rnd() - 0.5) * 9));
    const a = z.map(v => Math.max(0, v));
    k.H.set(a, A); k.H.set(z, Z); k.H.set(z, G); k.H.fill(0.5, KG, KG + 10); k.H.fill(0.25, KW, KW + 10);
    const guard = OUT + SUMMARY_FLOATS, sentinel = 1234.5;
    k.H.fill(sentinel, guard, guard + 1024);
    k.probeLayer(A, Z, G, n, lo, inv, lo, inv, bins, 3, KG, 10, KW, 10, OUT);
    const after = Array.from(k.H.subarray(guard, guard + 1024));
    assert.deepEqual(after.filter(v => v !== sentinel).length, 0, 'nothing written past SUMMARY_FLOATS');
    const o = new Float64Array(k.H.buffer, k.H.byteOffset + OUT * 4, 6 + 2 * (4 + bins));
    const byHand = (v: Float32Array) => {
      const c = new Array<number>(bins).fill(0);
      for (const x of v) c[Math.min(bins - 1, Math.max(0, Math.floor((x - lo) * inv)))]++;
      return c;
    };
    assert.deepEqual(Array.from(o.subarray(10, 10 + bins)), byHand(a), 'activation histogram');
    assert.deepEqual(Array.from(o.subarray(14 + bins, 14 + 2 * bins)), byHand(z), 'pre-activation histogram');
  });
});
