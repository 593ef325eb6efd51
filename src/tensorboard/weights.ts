/**
 * What weight (and bias) histograms alone tell about training (docs/tensorboard.md, "Weights"):
 * - mean, std and L2 norm of a layer's weights: exact from num/sum/sum_squares (old-style histo), else from
 *   the buckets, with a guaranteed interval for the norm;
 * - a lower bound on ||W_b - W_a|| between two logged steps. Any pairing of the n values of W_a with the n
 *   values of W_b moves them at least as far as the sorted pairing does (1-D optimal transport), so
 *   ||W_b - W_a||^2 >= n * W2(P_a, P_b)^2, where P are the value distributions. Two lower bounds of W2 that a
 *   histogram supports: the moments' (Gelbrich) bound (m_a - m_b)^2 + (s_a - s_b)^2, which needs exact
 *   moments, and the quantile bound: the k-th smallest value lies in a known bucket in each histogram, so it
 *   moved at least the gap between those two buckets. The larger of the two is the estimate.
 * - the activation a layer's outputs imply (relu-family, sigmoid-like, tanh-like), with the evidence.
 */
import type { ActivationName } from '../model';
import type { TbHistogram } from './events';
import { massIn } from './histStats';

export interface WeightMoments {
  count: number;
  mean: number;
  std: number;
  /** L2 norm sqrt(sum of squares). */
  norm: number;
  /** Guaranteed interval of the norm: [norm, norm] when the producer logged sum_squares. */
  normBounds: [number, number];
  exact: boolean;
  nonFinite: boolean;
}

/** Relative slack for float32 producers: sums of float32 values carry rounding of this order. */
const ROUNDING = 1e-6;

export function weightMoments(h: TbHistogram): WeightMoments {
  const n = h.num;
  const nonFinite = !(Number.isFinite(h.sum) && Number.isFinite(h.sumSquares) && Number.isFinite(h.min) && Number.isFinite(h.max));
  const mean = n ? h.sum / n : NaN;
  const std = n ? Math.sqrt(Math.max(0, h.sumSquares / n - mean * mean)) : NaN;
  const norm = Math.sqrt(Math.max(0, h.sumSquares));
  if (h.exactMoments) return { count: n, mean, std, norm, normBounds: [norm, norm], exact: true, nonFinite };
  // From buckets: each value lies in its bucket, so x^2 lies between the bucket's smallest and largest square.
  let lo = 0, hi = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i];
    if (!c) continue;
    const a = h.edges[i], b = h.edges[i + 1];
    const minSq = a <= 0 && b >= 0 ? 0 : Math.min(a * a, b * b);
    lo += c * minSq; hi += c * Math.max(a * a, b * b);
  }
  return { count: n, mean, std, norm, normBounds: [Math.sqrt(lo), Math.sqrt(hi)], exact: false, nonFinite };
}

export interface Displacement {
  /** The lower bound on ||W_b - W_a|| (max of the two below). */
  lower: number;
  /** sqrt(n * ((m_a - m_b)^2 + (s_a - s_b)^2)), 0 when the moments are not exact. */
  fromMoments: number;
  /** sqrt(sum over sorted ranks of the squared gap between the buckets holding that rank). */
  fromQuantiles: number;
  /** true when the two histograms are identical (counts, edges and moments): the tensor did not change. */
  identical: boolean;
}

/**
 * A lower bound on ||W_b - W_a|| for two histograms of the same tensor (same number of values). null when the
 * counts differ (not the same tensor) or a histogram holds non-finite values.
 */
export function displacementLowerBound(a: TbHistogram, b: TbHistogram): Displacement | null {
  if (!a.num || Math.abs(a.num - b.num) > 1e-9 * a.num) return null;
  if (weightMoments(a).nonFinite || weightMoments(b).nonFinite) return null;
  const identical = sameHistogram(a, b);
  if (identical) return { lower: 0, fromMoments: 0, fromQuantiles: 0, identical };
  let fromMoments = 0;
  if (a.exactMoments && b.exactMoments) {
    const ma = weightMoments(a), mb = weightMoments(b);
    // Float32 rounding of the producer's sums: shrink each difference by its possible rounding error.
    const scale = Math.max(ma.norm, mb.norm) / Math.sqrt(a.num);
    const dm = Math.max(0, Math.abs(ma.mean - mb.mean) - ROUNDING * scale);
    const ds = Math.max(0, Math.abs(ma.std - mb.std) - ROUNDING * scale);
    fromMoments = Math.sqrt(a.num * (dm * dm + ds * ds));
  }
  const fromQuantiles = Math.sqrt(quantileGapSq(a, b));
  return { lower: Math.max(fromMoments, fromQuantiles), fromMoments, fromQuantiles, identical: false };
}

function sameHistogram(a: TbHistogram, b: TbHistogram): boolean {
  if (a.min !== b.min || a.max !== b.max || a.sum !== b.sum || a.sumSquares !== b.sumSquares) return false;
  // Only the non-empty buckets matter (writers trim empty edge buckets differently per step).
  const nz = (h: TbHistogram) => { const out: number[] = []; for (let i = 0; i < h.counts.length; i++) if (h.counts[i]) out.push(h.edges[i], h.edges[i + 1], h.counts[i]); return out; };
  const x = nz(a), y = nz(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Sum over ranks k of gap_k^2, where gap_k is the distance between the bucket holding the k-th smallest value of
 * a and the one holding it in b (0 when they overlap). Counts walk both cumulative distributions together.
 */
function quantileGapSq(a: TbHistogram, b: TbHistogram): number {
  let i = -1, j = -1, leftA = 0, leftB = 0, total = 0;
  const next = (h: TbHistogram, k: number) => { k++; while (k < h.counts.length && !(h.counts[k] > 0)) k++; return k; };
  i = next(a, i); j = next(b, j);
  if (i < a.counts.length) leftA = a.counts[i];
  if (j < b.counts.length) leftB = b.counts[j];
  while (i < a.counts.length && j < b.counts.length) {
    const m = Math.min(leftA, leftB);
    const gap = Math.max(0, b.edges[j] - a.edges[i + 1], a.edges[i] - b.edges[j + 1]);
    total += m * gap * gap;
    leftA -= m; leftB -= m;
    if (leftA <= 1e-9) { i = next(a, i); leftA = i < a.counts.length ? a.counts[i] : 0; }
    if (leftB <= 1e-9) { j = next(b, j); leftB = j < b.counts.length ? b.counts[j] : 0; }
  }
  return total;
}

// ---- activation inference ----------------------------------------------------------------------------------

export interface InferredActivation {
  name: ActivationName;
  /** What it looks like, in words: "relu-family", "sigmoid-like", "tanh-like". */
  family: string;
  evidence: string;
}

/** Values within this of 0 count as exact zeros (float32 relu outputs are exactly 0; TF puts them in [0, 1e-12)). */
const ZERO = 1e-6;

/**
 * The activation an output histogram implies, or null. relu-family: nothing below 0 and mass at 0; sigmoid-like:
 * everything inside (0, 1); tanh-like: everything inside (-1, 1) with negative values. A linear layer's outputs
 * (unbounded, signed) imply nothing.
 */
export function inferActivation(h: TbHistogram): InferredActivation | null {
  if (!h.num || !Number.isFinite(h.min) || !Number.isFinite(h.max)) return null;
  const atZero = massIn(h, [[-ZERO, ZERO]]).lower;
  const range = `values in [${fmt(h.min)}, ${fmt(h.max)}]`;
  if (h.min >= -ZERO && atZero > 0) {
    return { name: 'relu', family: 'relu-family', evidence: `${range}, ${fmt(100 * atZero)}% exactly 0` };
  }
  if (h.min > 0 && h.max < 1) return { name: 'sigmoid', family: 'sigmoid-like', evidence: `${range}, inside (0, 1)` };
  if (h.min > -1 && h.max < 1 && h.min < 0) return { name: 'tanh', family: 'tanh-like', evidence: `${range}, inside (-1, 1)` };
  return null;
}

/** Whether a later histogram still fits the inferred activation (a relu output never goes below 0, ...). */
export function stillFits(name: ActivationName, h: TbHistogram): boolean {
  if (!h.num) return true;
  if (name === 'relu') return h.min >= -ZERO;
  if (name === 'sigmoid') return h.min >= 0 && h.max <= 1;
  if (name === 'tanh') return h.min >= -1 && h.max <= 1;
  return true;
}

const fmt = (x: number) => Number(x.toPrecision(3)).toString();
