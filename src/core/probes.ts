/**
 * Per-layer statistics of SPEC §4 on the probe batch, after a forward ('probe' mode: dropout off,
 * batchnorm on the batch's own statistics) and a backward pass. What "dead" and "saturated" mean per
 * activation comes from the activation table.
 */
import type { Histogram, LayerStats } from './types';
import { ACTIVATIONS } from './activations';
import type { Layer } from './layers';
import type { Buf } from './heap';
import type { Kernels } from './kernels';

export const HIST_BINS = 30;

/** Mean and population standard deviation of v[0..n), float64, NaN/Inf skipped. */
export function meanStd(v: Float32Array, n: number): { mean: number; std: number; finite: number } {
  let s = 0, c = 0;
  for (let i = 0; i < n; i++) { const x = v[i]; if (x - x === 0) { s += x; c++; } }
  const mean = c ? s / c : 0;
  let q = 0;
  for (let i = 0; i < n; i++) { const x = v[i]; if (x - x === 0) { const d = x - mean; q += d * d; } }
  return { mean, std: c ? Math.sqrt(q / c) : 0, finite: c };
}

/** Bin edges for a layer's values at its first probe: [min, max] widened by 10% of the span each side. */
export function chooseEdges(v: Float32Array, n: number, symmetric: boolean, bins = HIST_BINS): number[] {
  let lo = Infinity, hi = -Infinity;
  // Non-finite values are left out: an Inf in the first probe would make every edge NaN for the rest of the run.
  for (let i = 0; i < n; i++) { const x = v[i]; if (x < lo && x > -Infinity) lo = x; if (x > hi && x < Infinity) hi = x; }
  if (!(lo <= hi)) { lo = -1; hi = 1; }
  if (symmetric) { const r = Math.max(Math.abs(lo), Math.abs(hi)) * 1.2 || 1; lo = -r; hi = r; }
  else { const pad = (hi - lo) * 0.1 || Math.max(Math.abs(hi) * 0.1, 1); lo -= pad; hi += pad; }
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) edges.push(lo + (hi - lo) * i / bins);
  return edges;
}

/** Counts per bin; values outside the edges go to the first/last bin; NaN is not counted. */
export function histogram(v: Float32Array, n: number, edges: number[]): Histogram {
  const bins = edges.length - 1, lo = edges[0], width = (edges[bins] - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (x !== x) continue;
    let b = Math.floor((x - lo) / width);
    if (b < 0) b = 0; else if (b >= bins) b = bins - 1;
    counts[b]++;
  }
  return { edges, counts };
}

/** Fraction of units (last axis) whose every value satisfies isDead. */
export function deadFraction(z: Float32Array, n: number, units: number, isDead: (z: number) => boolean): number {
  const alive = new Uint8Array(units);
  let left = units;
  // Stops as soon as every unit has been seen alive: in a healthy layer that is within the first rows.
  for (let i = 0, u = 0; i < n && left > 0; i++, u = u + 1 === units ? 0 : u + 1) if (!alive[u] && !isDead(z[i])) { alive[u] = 1; left--; }
  return left / units;
}

export function fractionWhere(z: Float32Array, n: number, pred: (z: number) => boolean): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (pred(z[i])) c++;
  return n ? c / n : 0;
}

interface Summary { mean: number; std: number; nonFinite: number; saturated: number; counts: number[] | null }

/**
 * One pass over a buffer in the kernels: moments of the finite values, non-finite count, |x| > satAbove,
 * histogram. `o` is the caller's float64 view of the kernels' results (kept: a probe runs too rarely for V8
 * to optimize this code, so each allocation here costs far more than in a hot loop).
 */
function summarize(k: Kernels, scratch: Buf, o: Float64Array, b: Buf, n: number, edges: number[] | null, satAbove = Infinity): Summary {
  const bins = edges ? edges.length - 1 : 0, lo = edges ? edges[0] : 0, inv = edges ? bins / (edges[bins] - lo) : 0;
  k.summarize(b.off, n, lo, inv, bins, satAbove, scratch.off);
  const c = o[2], mean = c ? o[0] / c : 0;
  let counts: number[] | null = null;
  if (edges) { counts = new Array<number>(bins); for (let i = 0; i < bins; i++) counts[i] = o[4 + i]; }
  return { mean, std: c ? Math.sqrt(Math.max(0, o[1] / c - mean * mean)) : 0, nonFinite: n - c, saturated: o[3], counts };
}

/** Keeps each layer's histogram edges from its first probe. */
export class LayerProbe {
  private zEdges: number[] | null = null;
  private aEdges: number[] | null = null;
  private readonly results: Float64Array;

  constructor(readonly layer: Layer, private readonly kernels: Kernels, private readonly scratch: Buf) {
    this.results = new Float64Array(scratch.v.buffer, scratch.v.byteOffset, (scratch.n >> 1));
  }

  /**
   * Statistics of this layer for `rows` probe samples; weightGradRms and updateRatio are passed in (they
   * come from the last training step).
   */
  stats(rows: number, weightGradRms: number | null, updateRatio: number | null): LayerStats {
    const l = this.layer, n = rows * l.outSize, k = this.kernels, sc = this.scratch;
    const a = l.out.v;
    if (!this.aEdges) this.aEdges = chooseEdges(a, n, false);
    const as = summarize(k, sc, this.results, l.out, n, this.aEdges);
    const gs = summarize(k, sc, this.results, l.dOut, n, null);
    let preactMean: number | null = null, preactStd: number | null = null, preactHist: Histogram | null = null;
    let dead: number | null = null, saturated: number | null = null;
    let nonFinite = as.nonFinite + gs.nonFinite;
    if (l.activation && l.z) {
      const z = l.z.v;
      if (!this.zEdges) this.zEdges = chooseEdges(z, n, true);
      const info = ACTIVATIONS[l.activation.name];
      const zs = summarize(k, sc, this.results, l.z, n, this.zEdges, info.saturatedAbove ?? Infinity);
      preactMean = zs.mean; preactStd = zs.std; preactHist = { edges: this.zEdges, counts: zs.counts! };
      if (info.isDead) dead = deadFraction(z, n, l.units, info.isDead);
      if (info.saturatedAbove !== null) saturated = n ? zs.saturated / n : 0;
      else if (info.isSaturated) saturated = fractionWhere(z, n, info.isSaturated);
      if (z !== a) nonFinite += zs.nonFinite;
    }
    // RMS over all entries: (sum of squares of finite values) / n.
    const gms = gs.std * gs.std + gs.mean * gs.mean;
    return {
      deadFraction: dead, saturatedFraction: saturated,
      activationMean: as.mean, activationStd: as.std,
      preactMean, preactStd, preactHist, activationHist: { edges: this.aEdges, counts: as.counts! },
      gradRms: Math.sqrt(gms * (n - gs.nonFinite) / Math.max(1, n)),
      weightGradRms, updateRatio, nonFinite,
    };
  }
}
