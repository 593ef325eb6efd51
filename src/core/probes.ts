/**
 * Per-layer statistics of SPEC §4 on the probe batch, after a forward ('probe' mode: dropout off,
 * batchnorm on the batch's own statistics) and a backward pass. What "dead" and "saturated" mean per
 * activation comes from the activation table.
 */
import type { Histogram, LayerStats } from './types';
import { ACTIVATIONS } from './activations';
import type { Layer, Param } from './layers';
import type { Buf } from './heap';
import { MAX_SUMMARY_BINS, type Kernels } from './kernels';

export const HIST_BINS = 30;
// The statistics scratch (SUMMARY_FLOATS) holds this many bins: more would write past it into the next buffer.
if (HIST_BINS > MAX_SUMMARY_BINS) throw new Error(`HIST_BINS ${HIST_BINS} exceeds the ${MAX_SUMMARY_BINS} bins the probe scratch holds (kernels.ts)`);

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

/** Mean of `c` finite values summing to s, and their population std from the sum of squares q (0 when none). */
function meanOf(s: number, c: number): number { return c ? s / c : 0; }
function stdOf(q: number, c: number, mean: number): number { return c ? Math.sqrt(Math.max(0, q / c - mean * mean)) : 0; }

/** o[at..at+bins) as an array (a loop: Array.from over a subarray costs ~10x more in code this cold). */
function countsAt(o: Float64Array, at: number, bins: number): number[] {
  const c = new Array<number>(bins);
  for (let i = 0; i < bins; i++) c[i] = o[at + i];
  return c;
}

/** Keeps each layer's histogram edges from its first probe. */
export class LayerProbe {
  private zEdges: number[] | null = null;
  private aEdges: number[] | null = null;
  private readonly results: Float64Array;
  /** The layer's main weight, whose gradient RMS and update ratio the probe reports (none: pooling, dropout...). */
  readonly kernel: Param | undefined;
  /** Whether the layer has pre-activation statistics (an activation and its z buffer). */
  private readonly withZ: boolean;

  constructor(readonly layer: Layer, private readonly kernels: Kernels, private readonly scratch: Buf) {
    this.results = new Float64Array(scratch.v.buffer, scratch.v.byteOffset, (scratch.n >> 1));
    this.kernel = layer.params.find(p => p.kernel);
    this.withZ = layer.activation !== null && layer.z !== null;
  }

  /**
   * Statistics of this layer for `rows` probe samples: one kernel call (probeLayer) reads the activations, the
   * pre-activations, the gradient and the kernel's weights and gradient. weightGradRms is of the kernel's
   * gradient from the last training step; updateRatio needs `updateSq`, the squared norm of the kernel's last
   * update (undefined when there was none since the last probe).
   */
  stats(rows: number, updateSq: number | undefined): LayerStats {
    const l = this.layer, n = rows * l.outSize, o = this.results, kp = this.kernel;
    if (!this.aEdges) this.aEdges = chooseEdges(l.out.v, n, false);
    if (this.withZ && !this.zEdges) this.zEdges = chooseEdges(l.z!.v, n, true);
    const info = this.withZ ? ACTIVATIONS[l.activation!.name] : null;
    const ae = this.aEdges, ze = this.zEdges, bins = ae.length - 1;
    this.kernels.probeLayer(l.out.off, this.withZ ? l.z!.off : -1, l.dOut.off, n, ae[0], bins / (ae[bins] - ae[0]),
      ze ? ze[0] : 0, ze ? bins / (ze[bins] - ze[0]) : 0, bins, info?.saturatedAbove ?? Infinity,
      kp ? kp.g.off : 0, kp ? kp.g.n : 0, kp ? kp.w.off : 0, kp && updateSq !== undefined ? kp.w.n : 0, this.scratch.off);
    // [0..4) gradient, [4] kernel gradient and [5] kernel sums of squares, [6..) activations, [10 + bins..) z.
    const gMean = meanOf(o[0], o[2]), gStd = stdOf(o[1], o[2], gMean), gFinite = o[2];
    const aMean = meanOf(o[6], o[8]), aStd = stdOf(o[7], o[8], aMean);
    let nonFinite = (n - o[8]) + (n - gFinite);
    let preactMean: number | null = null, preactStd: number | null = null, preactHist: Histogram | null = null;
    let dead: number | null = null, saturated: number | null = null;
    if (info) {
      const zs = 10 + bins, z = l.z!.v;
      preactMean = meanOf(o[zs], o[zs + 2]); preactStd = stdOf(o[zs + 1], o[zs + 2], preactMean);
      preactHist = { edges: ze!, counts: countsAt(o, zs + 4, bins) };
      if (info.isDead) dead = deadFraction(z, n, l.units, info.isDead);
      if (info.saturatedAbove !== null) saturated = n ? o[zs + 3] / n : 0;
      else if (info.isSaturated) saturated = fractionWhere(z, n, info.isSaturated);
      if (l.z !== l.out) nonFinite += n - o[zs + 2];
    }
    // RMS over all entries: (sum of squares of finite values) / n.
    const gms = gStd * gStd + gMean * gMean;
    return {
      deadFraction: dead, saturatedFraction: saturated,
      activationMean: aMean, activationStd: aStd,
      preactMean, preactStd, preactHist, activationHist: { edges: ae, counts: countsAt(o, 10, bins) },
      gradRms: Math.sqrt(gms * gFinite / Math.max(1, n)),
      weightGradRms: kp ? Math.sqrt(o[4] / Math.max(1, kp.g.n)) : null,
      updateRatio: kp && updateSq !== undefined ? Math.sqrt(updateSq) / (Math.sqrt(o[5]) || 1) : null,
      nonFinite,
    };
  }
}
