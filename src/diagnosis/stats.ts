/** Robust statistics over probe series, shared by the run rules and the trial ranking. */

export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-quantile (0..1) by linear interpolation over the finite values. */
export function quantile(xs: number[], p: number): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * p, lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** The last max(minCount, ceil(fraction * n)) elements (all of them when fewer). */
export function tail<T>(xs: T[], fraction: number, minCount = 3): T[] {
  const k = Math.min(xs.length, Math.max(minCount, Math.ceil(fraction * xs.length)));
  return xs.slice(xs.length - k);
}

/** Longest run of consecutive true values, and where it starts. */
export function longestRun(flags: boolean[]): { length: number; start: number } {
  let best = { length: 0, start: -1 }, len = 0;
  for (let i = 0; i < flags.length; i++) {
    len = flags[i] ? len + 1 : 0;
    if (len > best.length) best = { length: len, start: i - len + 1 };
  }
  return best;
}

/** Index where the final run of true values starts (flags.length when the last value is false). */
export function finalRunStart(flags: boolean[]): number {
  let i = flags.length;
  while (i > 0 && flags[i - 1]) i--;
  return i;
}

/** Rounds to 2 significant digits (for suggested values such as a clip norm or a learning rate). */
export function round2(x: number): number { return Number(x.toPrecision(2)); }
