/**
 * SPEC §4 statistics from TensorBoard histograms, with what is exact and what is estimated said explicitly
 * (docs/tensorboard.md has the derivations):
 * - mean, std and RMS from num/sum/sum_squares: exact for old-style histograms (the producer summed the raw
 *   values); from bucket midpoints for TF2 tensors (error at most half the widest bucket).
 * - fractions of mass in a region (dead, saturated): the buckets inside the region count fully, a bucket
 *   straddling a region boundary by linear interpolation; `lower`/`upper` bound the truth (the straddling
 *   buckets counted as wholly outside / inside), so the error is at most the mass of one bucket per boundary.
 * Dead and saturated regions come from the activation table (src/core/activations.ts), the one place that
 * defines them.
 */
import type { ActivationName } from '../model';
import { ACTIVATIONS } from '../core/activations';
import { chooseEdges, HIST_BINS } from '../core/probes';
import type { Histogram } from '../core/types';
import type { TbHistogram } from './events';

/** A fraction with guaranteed bounds: lower <= truth <= upper. */
export interface Estimate { value: number; lower: number; upper: number }

/** Values this close to a point region (a relu's 0) count as on it: float32 relu outputs are exactly 0. */
const POINT_TOLERANCE = 1e-6;

/** Fraction of the histogram's mass in the union of closed intervals (disjoint, may use +-Infinity). */
export function massIn(h: TbHistogram, intervals: [number, number][]): Estimate {
  let value = 0, lower = 0, upper = 0, total = 0;
  const { edges, counts } = h;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (!c) continue;
    total += c;
    const a = edges[i], b = edges[i + 1];
    for (const [lo, hi] of intervals) {
      if (b < lo || a > hi) continue;
      if (a >= lo && b <= hi) { value += c; lower += c; upper += c; continue; }
      upper += c;
      value += b > a ? (c * (Math.min(b, hi) - Math.max(a, lo))) / (b - a) : c;
    }
  }
  if (!total) return { value: NaN, lower: NaN, upper: NaN };
  return { value: value / total, lower: lower / total, upper: Math.min(1, upper / total) };
}

/** The image of z-intervals under a monotone activation, as intervals of its output. */
function imageOf(name: ActivationName, intervals: [number, number][]): [number, number][] {
  const f = ACTIVATIONS[name].f;
  const at = (x: number) => f(x === -Infinity ? -1e300 : x === Infinity ? 1e300 : x);
  return intervals.map(([lo, hi]) => {
    const a = at(lo), b = at(hi);
    return a === b ? [a - POINT_TOLERANCE, b + POINT_TOLERANCE] : [Math.min(a, b), Math.max(a, b)];
  });
}

/** Where a quantity of a layer is measured: on z, or on a = f(z) through the monotone f. */
export type Space = 'preact' | 'activation';

/**
 * Fraction of (sample, unit) values in the activation's dead region (f' = 0). From a preact histogram it is the
 * mass at or below 0 for relu; from a post-relu histogram the mass at 0. Over a probe it is an upper bound on
 * SPEC §4's deadFraction (units dead on every sample), equal to it when units are either always on or always off.
 * null when the activation has no dead region.
 */
export function deadEstimate(h: TbHistogram, space: Space, activation: ActivationName): Estimate | null {
  const info = ACTIVATIONS[activation];
  if (!info.isDead || !info.regions.dead.length) return null;
  if (space === 'activation' && !info.monotonic) return null;
  const regions = space === 'preact' ? info.regions.dead : imageOf(activation, info.regions.dead);
  return massIn(h, regions);
}

/** Fraction of (sample, unit) values where f' < 0.1 max f' (SPEC §4's saturatedFraction). */
export function saturationEstimate(h: TbHistogram, space: Space, activation: ActivationName): Estimate | null {
  const info = ACTIVATIONS[activation];
  if (!info.isSaturated || !info.regions.saturated.length) return null;
  if (space === 'activation' && !info.monotonic) return null;
  const regions = space === 'preact' ? info.regions.saturated : imageOf(activation, info.regions.saturated);
  return massIn(h, regions);
}

export interface Moments { mean: number; std: number; rms: number; exact: boolean }

export function moments(h: TbHistogram): Moments {
  const n = h.num || 1;
  const mean = h.sum / n;
  const ms = h.sumSquares / n;
  return { mean, std: Math.sqrt(Math.max(0, ms - mean * mean)), rms: Math.sqrt(Math.max(0, ms)), exact: h.exactMoments };
}

/** Non-finite values the producer let through (NaN/Inf make sum or sum_squares non-finite). */
export function nonFiniteIn(h: TbHistogram): number {
  return Number.isFinite(h.sum) && Number.isFinite(h.sumSquares) && Number.isFinite(h.min) && Number.isFinite(h.max) ? 0 : 1;
}

/** Bin edges for a layer's chart, chosen from its first histogram the way the core chooses them from its first probe. */
export function chartEdges(h: TbHistogram, symmetric: boolean): number[] {
  return chooseEdges(Float32Array.of(h.min, h.max), 2, symmetric, HIST_BINS);
}

/** Re-bins a histogram onto fixed edges (mass spread uniformly within each bucket; outside mass to the end bins). */
export function rebin(h: TbHistogram, edges: number[]): Histogram {
  const bins = edges.length - 1, lo = edges[0], width = (edges[bins] - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  const binOf = (x: number) => Math.min(bins - 1, Math.max(0, Math.floor((x - lo) / width)));
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i];
    if (!c) continue;
    const a = h.edges[i], b = h.edges[i + 1];
    const first = binOf(a), last = binOf(b);
    if (first === last || !(b > a)) { counts[first] += c; continue; }
    for (let k = first; k <= last; k++) {
      const from = k === first ? a : lo + k * width;
      const to = k === last ? b : lo + (k + 1) * width;
      counts[k] += (c * Math.max(0, to - from)) / (b - a);
    }
  }
  return { edges, counts };
}
