/**
 * What a layer's measured pre-activations would do under another activation: the share of them that would fall in
 * its dead region (f'(z) = 0) and in its saturated region, from the layer's pre-activation histogram and the
 * activation table's own isDead / isSaturated, so the Activation Explorer and the probes mean the same thing.
 *
 * A histogram only keeps counts per bin: values are taken as spread evenly inside their bin, and a bin cut by a
 * region boundary contributes the part of its width on each side (the boundary found by bisection on the table's
 * predicate). These are shares of (sample, unit) values, not of units: a unit is dead only when every sample is.
 */
import type { ActivationName } from '../model';
import type { Histogram } from './types';
import { ACTIVATIONS } from './activations';

export interface RegionFractions {
  /** Share of the values with f'(z) = 0; null when the activation has no dead region. */
  dead: number | null;
  /** Share of the values in the saturated region; null where the table does not judge saturation. */
  saturated: number | null;
}

/** Samples per bin where the predicate is evaluated before boundaries are refined (a region narrower than
 *  1/64 of a bin can be missed; the table's regions are half-lines and |z| > t, far wider than any bin). */
const PROBES = 64;

/** Part of [a, b] where `inside` holds, for a predicate that switches a few times at most inside the interval. */
export function measureWhere(inside: (z: number) => boolean, a: number, b: number): number {
  if (!(b > a)) return 0;
  const h = (b - a) / PROBES;
  let total = 0;
  let x0 = a, in0 = inside(a + h * 1e-6);   // just inside the bin: a boundary at a belongs to the bin on its left
  for (let k = 1; k <= PROBES; k++) {
    const x1 = k === PROBES ? b : a + k * h;
    const in1 = inside(k === PROBES ? b - h * 1e-6 : x1);
    if (in0 === in1) { if (in0) total += x1 - x0; }
    else {
      // One switch between x0 and x1 (the table's predicates are unions of intervals): find it.
      let lo = x0, hi = x1;
      for (let i = 0; i < 60; i++) { const mid = (lo + hi) / 2; if (inside(mid) === in0) lo = mid; else hi = mid; }
      total += in0 ? lo - x0 : x1 - lo;
    }
    x0 = x1; in0 = in1;
  }
  return total;
}

/** Share of the histogram's values inside the region `inside`. An empty histogram has no shares: null. */
export function histogramShare(hist: Histogram, inside: (z: number) => boolean): number | null {
  let n = 0, hit = 0;
  for (let k = 0; k < hist.counts.length; k++) {
    const c = hist.counts[k];
    if (!(c > 0)) continue;
    const a = hist.edges[k], b = hist.edges[k + 1];
    n += c;
    if (b > a) hit += (c * measureWhere(inside, a, b)) / (b - a);
    else if (inside(a)) hit += c;   // a zero-width bin (a constant layer): its one value
  }
  return n > 0 ? hit / n : null;
}

/** Dead and saturated shares of the values in `hist` under activation `name` (see the module comment). */
export function regionFractions(hist: Histogram, name: ActivationName): RegionFractions {
  const a = ACTIVATIONS[name];
  return {
    dead: a.isDead ? histogramShare(hist, a.isDead) : null,
    saturated: a.isSaturated ? histogramShare(hist, a.isSaturated) : null,
  };
}
