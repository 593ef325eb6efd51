/**
 * The per-layer statistics of a probe (SPEC §4), every expected value computed by hand: the helpers of
 * probes.ts on small arrays, and LayerProbe through the real Trainer probe on a network whose values are
 * known exactly (an activation layer first sees the input itself; a dense layer with `ones` weights and zero
 * bias passes its single input through). MSE is Keras': mean over rows and width, so dL/da = 2 (a - y) / (rows n).
 */
import assert from 'node:assert/strict';
import type { Dataset } from '../../../src/model';
import { chooseEdges, deadFraction, fractionWhere, histogram, meanStd } from '../../../src/core/probes';
import { Trainer } from '../../../src/core/train';
import { jsKernels, loadKernels } from '../../../src/core/kernels';
import { makeConfig, type LayerInput } from './helpers';
import { ACTIVATIONS } from '../../../src/core/activations';

const f32 = (v: number[]) => Float32Array.from(v);
const close = (got: number | null, want: number, what: string, tol = 1e-6) =>
  assert.ok(got !== null && Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
const closeAll = (got: number[], want: number[], what: string) => {
  assert.equal(got.length, want.length, `${what}: length`);
  got.forEach((g, i) => close(g, want[i], `${what}[${i}]`, 1e-9));
};

describe('probe helpers, hand-computed', () => {
  it('meanStd: population moments of the first n values, NaN and ±Infinity skipped', () => {
    const a = meanStd(f32([1, 2, 3, 4]), 4); // mean 2.5, variance (2.25 + .25 + .25 + 2.25) / 4 = 1.25
    close(a.mean, 2.5, 'mean'); close(a.std, Math.sqrt(1.25), 'std'); assert.equal(a.finite, 4);
    const b = meanStd(f32([1, NaN, 3, Infinity, -Infinity, 1000]), 5); // finite: 1 and 3; 1000 lies past n
    close(b.mean, 2, 'mean'); close(b.std, 1, 'std'); assert.equal(b.finite, 2);
    const c = meanStd(f32([-2, -4]), 2);
    close(c.mean, -3, 'negative mean'); close(c.std, 1, 'negative std');
    assert.deepEqual(meanStd(f32([NaN, Infinity]), 2), { mean: 0, std: 0, finite: 0 });
    assert.deepEqual(meanStd(f32([5]), 0), { mean: 0, std: 0, finite: 0 });
  });

  it('chooseEdges: [min, max] widened by 10% of the span, or ±1.2 max|x| when symmetric', () => {
    closeAll(chooseEdges(f32([3, 1, 2, 100]), 3, false, 2), [0.8, 2, 3.2], 'span 2, pad 0.2; 100 lies past n');
    closeAll(chooseEdges(f32([-1, 2, 0.5]), 3, true, 2), [-2.4, 0, 2.4], 'symmetric: r = 1.2 * 2');
    closeAll(chooseEdges(f32([-3, 1]), 2, true, 4), [-3.6, -1.8, 0, 1.8, 3.6], 'symmetric, larger |min|');
    // An exploding layer's first probe can hold Inf: the edges come from the finite values, never NaN.
    closeAll(chooseEdges(f32([Infinity, 3, NaN, 1, -Infinity, 2]), 6, false, 2), [0.8, 2, 3.2], 'span of the finite values 1..3');
    closeAll(chooseEdges(f32([-Infinity, -1, 2, Infinity]), 4, true, 2), [-2.4, 0, 2.4], 'symmetric over the finite values');
    closeAll(chooseEdges(f32([-5, -2]), 2, false, 3), [-5.3, -4.1, -2.9, -1.7], 'negative values, pad 0.3');
    // A constant layer: no span, so a pad of max(10% of |x|, 1).
    closeAll(chooseEdges(f32([5, 5]), 2, false, 2), [4, 5, 6], 'constant 5: pad 1');
    closeAll(chooseEdges(f32([20, 20]), 2, false, 2), [18, 20, 22], 'constant 20: pad 2');
    closeAll(chooseEdges(f32([-20, -20]), 2, false, 2), [-22, -20, -18], 'constant -20: pad 2');
    closeAll(chooseEdges(f32([0, 0]), 2, true, 2), [-1, 0, 1], 'symmetric all-zero: r = 1');
    // Nothing finite to range over: [-1, 1], then padded as any span.
    closeAll(chooseEdges(f32([NaN, NaN]), 2, false, 2), [-1.2, 0, 1.2], 'all NaN');
    closeAll(chooseEdges(f32([7]), 0, false, 2), [-1.2, 0, 1.2], 'no values');
    assert.equal(chooseEdges(f32([0, 1]), 2, false).length, 31, '30 bins by default');
  });

  it('histogram: counts per bin, values outside go to the end bins, NaN not counted', () => {
    const edges = [0, 1, 2, 3];
    // -5 and 0 and 0.5 -> bin 0; 1 -> bin 1; 2.999, 3 (the last edge) and 10 -> bin 2; NaN skipped; 1.5 lies past n.
    const h = histogram(f32([-5, 0, 0.5, 1, 2.999, 3, 10, NaN, 1.5]), 8, edges);
    assert.deepEqual(h.counts, [3, 1, 3]);
    assert.equal(h.edges, edges);
    assert.deepEqual(histogram(f32([-1.5, -0.5, 0.5]), 3, [-2, 0, 2]).counts, [2, 1], 'edges not starting at 0');
    assert.deepEqual(histogram(f32([]), 0, [0, 1, 2]).counts, [0, 0]);
  });

  it('deadFraction: a unit is dead when every row is dead (units on the last axis)', () => {
    const isDead = (z: number) => z <= 0;
    // 3 rows x 3 units: unit 0 dead in every row, unit 1 alive in row 0 only, unit 2 alive in row 2 only.
    const z = f32([0, 1, -1, -2, 0, 0, -3, -1, 4]);
    close(deadFraction(z, 9, 3, isDead), 1 / 3, 'one of three dead');
    close(deadFraction(z, 6, 3, isDead), 2 / 3, 'first two rows: units 0 and 2 dead');
    close(deadFraction(f32([1, 2, 0, 3]), 4, 2, isDead), 0, 'all alive');
    close(deadFraction(f32([-1, -2, 0, -3]), 4, 4, isDead), 1, 'one row, all dead');
  });

  it('fractionWhere: share of the first n values where the predicate holds', () => {
    close(fractionWhere(f32([1, 2, 3, 4]), 3, z => z > 1.5), 2 / 3, '2 of 3');
    close(fractionWhere(f32([5, 6]), 2, z => z > 5.5), 1 / 2, '1 of 2');
    assert.equal(fractionWhere(f32([1]), 0, () => true), 0);
  });
});

/** A trainer whose probe split is exactly (x, y): `rows` rows of width `w`. */
function trainerOn(input: number, list: LayerInput[], x: number[], y: number[], kernels: 'js' | 'wasm'): { t: Trainer; data: Dataset } {
  const rows = x.length / input;
  const c = makeConfig([input], list, { loss: 'mse' });
  c.probe.samples = rows;
  const split = { x: f32(x), y: f32(y), n: rows };
  const data: Dataset = { inputShape: [input], task: 'regression', targetDim: y.length / rows, train: split, val: split };
  return { t: new Trainer(c, data, { kernels }), data };
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]) => Math.sqrt(mean(v.map(x => (x - mean(v)) ** 2)));
const rms = (v: number[]) => Math.sqrt(mean(v.map(x => x * x)));

describe('LayerProbe statistics through the Trainer probe, hand-computed', () => {
  for (const kernels of ['js', 'wasm'] as const) {
    it(`${kernels}: relu layer on known pre-activations: moments, dead units, histograms, gradient RMS`, () => {
      // 2 rows x 4 units; unit 1 is dead (z <= 0 in both rows), the others are alive in some row.
      const z = [1, -1.8, 5, -1, 3, -0.2, -4.6, 2.2]; // chosen mid-bin in the histograms below
      const y = [0, 0, 1, 1, 1, 1, 0, 0];
      const { t } = trainerOn(4, [{ type: 'activation', activation: 'relu' }], z, y, kernels);
      const s = t.probe().layers[0];
      const a = z.map(v => Math.max(0, v)); // [1, 0, 5, 0, 3, 0, 0, 2.2]
      close(s.preactMean, mean(z), 'preactMean'); close(s.preactStd, std(z), 'preactStd');
      close(s.activationMean, mean(a), 'activationMean'); close(s.activationStd, std(a), 'activationStd');
      assert.equal(s.deadFraction, 1 / 4);
      assert.equal(s.saturatedFraction, null, 'relu has no saturation judgement');
      assert.equal(s.nonFinite, 0);
      // dL/dz = 2 (a - y) / 8 where z > 0, else 0: [.25, 0, 1, 0, .5, 0, 0, .55].
      close(s.gradRms, rms([0.25, 0, 1, 0, 0.5, 0, 0, 0.55]), 'gradRms');
      // Pre-activation edges: symmetric (not [-4.6, 5] padded), r = 1.2 * 5 = 6, bins of 0.4 from -6. Bin of x: floor((x + 6) / 0.4).
      const zh = s.preactHist!;
      close(zh.edges[0], -6, 'z lo'); close(zh.edges[30], 6, 'z hi'); close(zh.edges[1], -5.6, 'z edge 1');
      const zc = new Array(30).fill(0);
      for (const [bin, n] of [[17, 1], [10, 1], [27, 1], [12, 1], [22, 1], [14, 1], [3, 1], [20, 1]]) zc[bin] += n;
      assert.deepEqual(zh.counts, zc, 'z counts');
      // Activation edges: [0, 5] padded by 0.5: lo -0.5, width 0.2. Bin of a: floor((a + 0.5) / 0.2).
      const ah = s.activationHist!;
      close(ah.edges[0], -0.5, 'a lo'); close(ah.edges[30], 5.5, 'a hi');
      const ac = new Array(30).fill(0);
      ac[2] = 4; ac[7] = 1; ac[27] = 1; ac[17] = 1; ac[13] = 1; // 0 x4, 1, 5, 3, 2.2
      assert.deepEqual(ah.counts, ac, 'a counts');
    });

    it(`${kernels}: the histogram edges of the first probe are kept for later probes`, () => {
      const { t, data } = trainerOn(2, [{ type: 'activation', activation: 'relu' }], [1, -1, 2, -2], [0, 0, 0, 0], kernels);
      const first = t.probe().layers[0];
      data.val.x.set([10, -10, 20, -20]); // the probe split now ranges 10x wider
      const second = t.probe().layers[0];
      assert.deepEqual(second.preactHist!.edges, first.preactHist!.edges);
      assert.deepEqual(second.activationHist!.edges, first.activationHist!.edges);
      // Out-of-range values land in the end bins: z -10 and -20 in bin 0, 10 and 20 in bin 29.
      assert.equal(second.preactHist!.counts[0], 2); assert.equal(second.preactHist!.counts[29], 2);
      close(second.preactMean, 0, 'second probe moments are of the new values');
      close(second.preactStd, Math.sqrt(250), 'second preactStd');
    });

    it(`${kernels}: non-finite values are counted once per buffer; gradient RMS over the finite ones`, () => {
      // Dense with weight 1, bias 0, linear: a = z = x (one buffer, counted once). Row 0 is +Infinity.
      const { t } = trainerOn(1, [{ type: 'dense', units: 1, init: 'ones' }], [Infinity, 3], [0, 1], kernels);
      const d = t.probe().layers[0];
      assert.equal(d.nonFinite, 2, 'a (= z) at row 0, and its gradient');
      close(d.activationMean, 3, 'finite activations only');
      // dL/da at row 1 = 2 (3 - 1) / 2 = 2; RMS over both entries = sqrt(4 / 2).
      close(d.gradRms, Math.sqrt(2), 'gradRms');
      // An activation layer keeps z apart from a: a non-finite z is counted in z, a and the gradient.
      const { t: t2 } = trainerOn(2, [{ type: 'activation', activation: 'relu' }], [Infinity, 1], [0, 0], kernels);
      assert.equal(t2.probe().layers[0].nonFinite, 3);
    });

    it(`${kernels}: layers without an activation have no pre-activation statistics`, () => {
      const { t } = trainerOn(2, [{ type: 'dropout', rate: 0.5 }, { type: 'dense', units: 2, init: 'ones' }], [1, 2, 3, 4], [0, 0, 0, 0], kernels);
      const s = t.probe().layers[0];
      assert.equal(s.preactMean, null); assert.equal(s.preactHist, null); assert.equal(s.deadFraction, null);
      assert.equal(s.saturatedFraction, null);
      close(s.activationMean, 2.5, 'the probe turns dropout off');
    });
  }
});

describe('summarize: the wasm kernel gives the JS reference\'s numbers exactly', () => {
  it('sums, counts and histogram over runs of one bin (a relu\'s zeros), NaN, Inf and values past the edges', function () {
    const wasm = loadKernels('wasm', 1 << 16), js = jsKernels(new Float32Array((1 << 16) + 64));
    if (wasm.kind !== 'wasm') this.skip();
    const n = 10007, p = 20000, out = 40000;
    const v = new Float32Array(n);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < n; i++) v[i] = i % 97 < 40 ? 0 : (rnd() - 0.3) * 8;
    v[5] = NaN; v[77] = Infinity; v[78] = -Infinity; v[500] = 1e6; v[501] = -1e6;
    for (const k of [wasm, js]) k.H.set(v, p);
    // Lengths with every tail (n % 4) and thresholds past every value (a negative one counts every finite value).
    for (const [len, sat] of [[n, 3], [n - 1, 3], [n - 2, -1], [n - 3, Infinity], [3, 0.5]]) for (const bins of [30, 7, 0]) {
      const lo = -2, inv = bins / 6;
      const got = (k: typeof wasm) => { k.summarize(p, len, lo, inv, bins, sat, out); return Array.from(new Float64Array(k.H.buffer, k.H.byteOffset + out * 4, bins + 4)); };
      const w = got(wasm), j = got(js);
      assert.deepEqual(w, j, `${bins} bins, n ${len}`);
      // Independent: the counts by hand, the moments in float64 in plain order.
      const finite = Array.from(v.subarray(0, len)).filter(Number.isFinite);
      assert.equal(w[2], finite.length);
      assert.equal(w[3], finite.filter(x => Math.abs(x) > sat).length, `saturated over ${sat}`);
      const sum = finite.reduce((a, x) => a + x, 0), sq = finite.reduce((a, x) => a + x * x, 0);
      assert.ok(Math.abs(w[0] - sum) <= 1e-9 * sq && Math.abs(w[1] - sq) <= 1e-12 * sq, `moments ${w[0]} ${sum} ${w[1]} ${sq}`);
      if (bins) {
        const counts = new Array<number>(bins).fill(0);
        for (const x of finite) counts[Math.min(bins - 1, Math.max(0, Math.floor((x - lo) * inv)))]++;
        assert.deepEqual(w.slice(4), counts, `${bins} bins by hand, n ${len}`);
      }
    }
  });
});

describe('probeLayer: one call per layer gives exactly what summarize and sumSquares gave, each in its slot', () => {
  // Float offsets in a 64k-float memory: a, z, g (n values each), the kernel's gradient and weights, results.
  const A = 1000, Z = 4000, G = 7000, KG = 10000, KW = 12000, OUT = 20000, SEP = 30000;
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const fill = (k: ReturnType<typeof jsKernels>, at: number, v: Float32Array) => k.H.set(v, at);
  const view = (k: ReturnType<typeof jsKernels>, at: number, len: number) => Array.from(new Float64Array(k.H.buffer, k.H.byteOffset + at * 4, len));
  const n = 2051, kgN = 203, kwN = 203, bins = 30;
  const a = new Float32Array(n), z = new Float32Array(n), g = new Float32Array(n), kg = new Float32Array(kgN), kw = new Float32Array(kwN);
  for (let i = 0; i < n; i++) { z[i] = (rnd() - 0.45) * 6; a[i] = Math.tanh(z[i]); g[i] = (rnd() - 0.5) * 1e-3; }
  for (let i = 0; i < kgN; i++) { kg[i] = (rnd() - 0.5) * 0.1; kw[i] = (rnd() - 0.5) * 2; }
  z[17] = NaN; g[99] = Infinity; a[2000] = -Infinity; // each buffer's non-finite values stay its own
  a[5] = 3; // past the saturation threshold: only z's saturation count may use it
  const aLo = -1.2, aInv = bins / 2.4, zLo = -3.6, zInv = bins / 7.2, sat = 1.82;

  for (const kind of ['wasm', 'js'] as const) {
    it(`${kind}: slots 0-3 gradient, 4-5 kernel sums of squares, 6.. activations, then pre-activations`, function () {
      const k = kind === 'wasm' ? loadKernels('wasm', 1 << 16) : jsKernels(new Float32Array((1 << 16) + 64));
      if (k.kind !== kind) this.skip();
      for (const [at, v] of [[A, a], [Z, z], [G, g], [KG, kg], [KW, kw]] as const) fill(k, at, v);
      k.probeLayer(A, Z, G, n, aLo, aInv, zLo, zInv, bins, sat, KG, kgN, KW, kwN, OUT);
      const got = view(k, OUT, 6 + 2 * (4 + bins));
      // The same kernels called one statistic at a time, as the probe did before: the same bits.
      const one = (p: number, lo: number, inv: number, b: number, s: number) => { k.summarize(p, n, lo, inv, b, s, SEP); return view(k, SEP, 4 + b); };
      assert.deepEqual(got.slice(0, 4), one(G, 0, 0, 0, Infinity), 'gradient');
      assert.equal(got[4], k.sumSquares(KG, kgN), 'kernel gradient');
      assert.equal(got[5], k.sumSquares(KW, kwN), 'kernel weights');
      assert.deepEqual(got.slice(6, 10 + bins), one(A, aLo, aInv, bins, Infinity), 'activations');
      assert.deepEqual(got.slice(10 + bins), one(Z, zLo, zInv, bins, sat), 'pre-activations');
      // Independent of the kernels: float64 sums in plain order, counts by hand.
      const check = (at: number, v: Float32Array, lo: number, inv: number, s: number, what: string) => {
        const fin = Array.from(v).filter(Number.isFinite);
        const sum = fin.reduce((t, x) => t + x, 0), sq = fin.reduce((t, x) => t + x * x, 0);
        assert.ok(Math.abs(got[at] - sum) <= 1e-12 * sq + 1e-300 && Math.abs(got[at + 1] - sq) <= 1e-12 * sq, `${what} moments`);
        assert.equal(got[at + 2], fin.length, `${what} finite count`);
        assert.equal(got[at + 3], fin.filter(x => Math.abs(x) > s).length, `${what} over ${s}`);
        if (!inv) return;
        const counts = new Array<number>(bins).fill(0);
        for (const x of fin) counts[Math.min(bins - 1, Math.max(0, Math.floor((x - lo) * inv)))]++;
        assert.deepEqual(got.slice(at + 4, at + 4 + bins), counts, `${what} histogram`);
      };
      check(0, g, 0, 0, Infinity, 'gradient'); check(6, a, aLo, aInv, Infinity, 'activations'); check(10 + bins, z, zLo, zInv, sat, 'pre-activations');
      assert.equal(got[2], n - 1); assert.equal(got[8], n - 1); assert.equal(got[12 + bins], n - 1);
      const ss = (v: Float32Array) => Array.from(v).reduce((t, x) => t + x * x, 0);
      assert.ok(Math.abs(got[4] - ss(kg)) <= 1e-12 * ss(kg) && Math.abs(got[5] - ss(kw)) <= 1e-12 * ss(kw), 'sums of squares');
    });

    it(`${kind}: without pre-activations (z < 0) the other slots are the same; a count of 0 gives a sum of squares of 0`, function () {
      const k = kind === 'wasm' ? loadKernels('wasm', 1 << 16) : jsKernels(new Float32Array((1 << 16) + 64));
      if (k.kind !== kind) this.skip();
      for (const [at, v] of [[A, a], [Z, z], [G, g], [KG, kg], [KW, kw]] as const) fill(k, at, v);
      k.probeLayer(A, Z, G, 64, aLo, aInv, zLo, zInv, bins, sat, KG, kgN, KW, kwN, OUT);
      const withZ = view(k, OUT, 10 + bins);
      k.probeLayer(A, -1, G, 64, aLo, aInv, 0, 0, bins, Infinity, KG, kgN, KW, 0, OUT);
      const got = view(k, OUT, 10 + bins);
      assert.equal(got[2], 64, 'gradient over the first 64 values');
      assert.deepEqual([...got.slice(0, 5), ...got.slice(6)], [...withZ.slice(0, 5), ...withZ.slice(6)]);
      assert.ok(got[4] > 0); assert.equal(got[5], 0, 'kwN 0: no update to compare with, no sum');
      assert.equal(got.slice(10, 10 + bins).reduce((t, c) => t + c, 0), 64, 'activation counts');
    });
  }
});

describe('probeLayer on short and odd-length layers: wasm and JS agree, and both count by hand', () => {
  // The SIMD loop takes 4 values at a time: 0-9 and 13 values exercise an empty layer, tails of 1-3 and none.
  const specials = [NaN, Infinity, -Infinity, -0, 3.4e38, -3.4e38, 1e-40, 0.5, -2, 7];
  const A = 100, Z = 200, G = 300, KG = 400, KW = 500, OUT = 1000, bins = 8, lo = -4, inv = bins / 8, sat = 3;
  it('n = 0..9 and 13 with NaN, +-Inf, -0, +-3.4e38 and a denormal', function () {
    const w = loadKernels('wasm', 1 << 12), j = jsKernels(new Float32Array((1 << 12) + 64));
    if (w.kind !== 'wasm') this.skip();
    for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13]) {
      const pick = (o: number) => Float32Array.from({ length: n }, (_, i) => specials[(i * 7 + o) % specials.length]);
      const a = pick(1), z = pick(3), g = pick(5), kv = pick(2);
      const outs = [w, j].map(k => {
        for (const [at, v] of [[A, a], [Z, z], [G, g], [KG, kv], [KW, kv]] as const) k.H.set(v, at);
        k.probeLayer(A, Z, G, n, lo, inv, lo, inv, bins, sat, KG, n, KW, n, OUT);
        return Array.from(new Float64Array(k.H.buffer, k.H.byteOffset + OUT * 4, 6 + 2 * (4 + bins)));
      });
      const [wa, js] = outs;
      // Slots 4-5 (the kernel's sums of squares) are summed in another order by the JS twin.
      assert.deepEqual([...wa.slice(0, 4), ...wa.slice(6)], [...js.slice(0, 4), ...js.slice(6)], `n ${n}`);
      for (const at of [0, 6, 10 + bins]) {
        const v = at === 0 ? g : at === 6 ? a : z, fin = Array.from(v).filter(Number.isFinite);
        assert.equal(wa[at + 2], fin.length, `n ${n}: finite count at slot ${at}`);
        // Summed in another order (4 lanes): equal up to rounding, which 3.4e38 - 3.4e38 makes absolute.
        const sum = fin.reduce((t, x) => t + x, 0), mag = fin.reduce((t, x) => t + Math.abs(x), 0);
        assert.ok(Math.abs(wa[at] - sum) <= 1e-12 * mag, `n ${n}: sum at slot ${at}: ${wa[at]} against ${sum}`);
        if (at === 0) continue;
        const counts = new Array<number>(bins).fill(0);
        for (const x of fin) counts[Math.min(bins - 1, Math.max(0, Math.floor((x - lo) * inv)))]++;
        assert.deepEqual(wa.slice(at + 4, at + 4 + bins), counts, `n ${n}: histogram at slot ${at}`);
      }
      assert.equal(wa[13 + bins], Array.from(z).filter(x => Number.isFinite(x) && Math.abs(x) > sat).length, `n ${n}: saturated`);
    }
  });
});

describe('countCorrect kernel: the accuracy the probe reports', () => {
  for (const kind of ['wasm', 'js'] as const) {
    it(`${kind}: threshold 0.5 for one output, first argmax for several, NaN never wins`, function () {
      const k = kind === 'wasm' ? loadKernels('wasm', 1 << 12) : jsKernels(new Float32Array((1 << 12) + 64));
      if (k.kind !== kind) this.skip();
      // One output: 0.6/1 right, 0.4/0 right, 0.5/1 wrong (0.5 is class 0), 0.7/0 wrong, NaN/0 right (NaN > 0.5 is false).
      k.H.set([0.6, 0.4, 0.5, 0.7, NaN], 100); k.H.set([1, 0, 1, 0, 0], 200);
      assert.equal(k.countCorrect(100, 200, 5, 1), 3);
      assert.equal(k.countCorrect(100, 200, 2, 1), 2, 'only the first rows count');
      // Three outputs: right; wrong; tie 0.4/0.4 -> index 0 vs label 1, wrong; right; NaN first: nothing compares
      // greater than it, so the argmax stays 0 vs label 1, wrong (as tf.argMax would not say, but as countCorrect does).
      k.H.set([0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.4, 0.4, 0.2, 0.2, 0.3, 0.5, NaN, 0.9, 0.1], 300);
      k.H.set([0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0], 400);
      assert.equal(k.countCorrect(300, 400, 5, 3), 2);
      k.H.set([0.9, NaN, 0.1], 312);
      assert.equal(k.countCorrect(300, 400, 5, 3), 2, 'NaN later never wins: 0.9 at index 0 vs label 1, still wrong');
      k.H.set([0.1, NaN, 0.9], 312); k.H.set([0, 0, 1], 412);
      assert.equal(k.countCorrect(300, 400, 5, 3), 3, 'NaN in the middle skipped: argmax 2 = label 2');
      assert.equal(k.countCorrect(300, 400, 0, 3), 0, 'no rows');
    });
  }
});

describe('a probe of a trained network against float64 recomputation from its buffers', () => {
  for (const kind of ['wasm', 'js'] as const) {
    it(`${kind}: tanh, relu and sigmoid layers: moments, histograms, dead and saturated fractions, gradient RMS`, () => {
      const c = makeConfig([2], [
        { type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 6, activation: 'relu', init: 'he_normal' },
        { type: 'dense', units: 1, activation: 'sigmoid' }], { loss: 'binary_cross_entropy', batch: 16, lr: 0.5 });
      c.probe.samples = 37;
      let s = 5;
      const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 4 - 2;
      const split = (m: number) => { const x = Float32Array.from({ length: 2 * m }, r); return { x, y: Float32Array.from({ length: m }, (_, i) => (x[2 * i] * x[2 * i + 1] > 0 ? 1 : 0)), n: m }; };
      const data: Dataset = { inputShape: [2], task: 'binary', targetDim: 1, train: split(64), val: split(37) };
      const t = new Trainer(c, data, { kernels: kind });
      t.probe(); t.trainSteps(9);
      const p = t.probe();
      t.net.layers.forEach((l, i) => {
        const st = p.layers[i], n = 37 * l.outSize, what = `${kind} layer ${i}`;
        const vals = (v: Float32Array) => Array.from(v.subarray(0, n));
        const mom = (v: number[]) => { const m = v.reduce((q, x) => q + x, 0) / v.length; return [m, Math.sqrt(v.reduce((q, x) => q + (x - m) ** 2, 0) / v.length)]; };
        const near = (got: number | null, want: number, w: string) => assert.ok(got !== null && Math.abs(got - want) <= 1e-9 * Math.max(1e-3, Math.abs(want)), `${what} ${w}: ${got} vs ${want}`);
        const a = vals(l.out.v), z = vals(l.z!.v), g = vals(l.dOut.v);
        const [am, as] = mom(a), [zm, zs] = mom(z);
        near(st.activationMean, am, 'activationMean'); near(st.activationStd, as, 'activationStd');
        near(st.preactMean, zm, 'preactMean'); near(st.preactStd, zs, 'preactStd');
        near(st.gradRms, Math.sqrt(g.reduce((q, x) => q + x * x, 0) / n), 'gradRms');
        const W = l.params.find(q => q.kernel)!;
        near(st.weightGradRms, Math.sqrt(Array.from(W.g.v).reduce((q, x) => q + x * x, 0) / W.g.n), 'weightGradRms');
        const hist = (v: number[], e: number[]) => {
          const b = e.length - 1, inv = b / (e[b] - e[0]), out = new Array<number>(b).fill(0);
          for (const x of v) out[Math.min(b - 1, Math.max(0, Math.floor((x - e[0]) * inv)))]++;
          return out;
        };
        assert.deepEqual(st.activationHist!.counts, hist(a, st.activationHist!.edges), `${what} activation histogram`);
        assert.deepEqual(st.preactHist!.counts, hist(z, st.preactHist!.edges), `${what} pre-activation histogram`);
        if (i === 0) near(st.saturatedFraction, z.filter(x => Math.abs(x) > ACTIVATIONS.tanh.saturatedAbove!).length / n, 'tanh saturated');
        if (i === 1) {
          const dead = Array.from({ length: 6 }, (_, u) => z.filter((_, j) => j % 6 === u).every(x => !(x > 0))).filter(Boolean).length;
          near(st.deadFraction, dead / 6, 'relu dead');
        }
        assert.equal(st.nonFinite, 0);
      });
    });
  }
});
