/**
 * Axis ranges, ticks and tick labels of the charts, without chart.js or the DOM (unit tests import them).
 * A log axis spans every positive value drawn; zeros (a dead layer's gradient) sit on a floor below the smallest
 * positive value, with the floor's tick labelled "0", instead of vanishing off a log scale.
 */
import { formatNumber } from '../src/format';

export interface LogRange {
  min: number; max: number;
  /** Where zeros are drawn (a tick labelled "0"); undefined when no value drawn is zero. */
  floor?: number;
}

const finitePositive = (v: number) => v > 0 && Number.isFinite(v);

/**
 * The range of a log axis for `values` (non-finite ones ignored): every positive value lies strictly inside it,
 * and when some value is exactly 0 a floor lies well below the smallest positive one, so a zero never reads as
 * "small but measured". `bars`: the values are bars, drawn from the axis minimum up.
 */
export function logRange(values: Iterable<number>, opts: { bars?: boolean } = {}): LogRange {
  let lo = Infinity, hi = -Infinity, zero = false;
  for (const v of values) {
    if (v === 0) zero = true;
    else if (finitePositive(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  if (lo === Infinity) { lo = 0.1; hi = 1; }
  // A single value gets a third of a decade around it; a narrow spread (a flat loss) is not flattened further.
  const span = hi > lo ? Math.max(Math.log10(hi / lo), 0.01) : 0.3;
  const pad = Math.pow(10, 0.08 * span);
  // Bars grow from the axis minimum: leave the smallest a third of the height (or half a decade), so it does not read as
  // nearly nothing next to the others.
  let min = opts.bars ? lo / Math.pow(10, Math.max(0.5, span / 2)) : lo / pad;
  const max = hi * pad;
  let floor: number | undefined;
  if (zero) {
    floor = min / Math.pow(10, Math.max(1, 0.2 * span));
    min = floor / pad;
  }
  return { min, max, floor };
}

/** A value drawn on a log axis: zeros on the floor, negatives and non-finite values not drawn (null). */
export function onLogAxis(v: number | null | undefined, range: LogRange): number | null {
  if (v === 0) return range.floor ?? null;
  return v !== null && v !== undefined && finitePositive(v) ? v : null;
}

/** 1, 2 or 5 times a power of ten, the smallest not below `x`. */
function niceStep(x: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/** The next smaller 1-2-5 step: 5 -> 2 -> 1 -> 0.5. */
function smallerStep(step: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
  const m = Math.round(step / p);
  return clean(m >= 5 ? 2 * p : m >= 2 ? p : p / 2);
}

/** Round away float noise (0.30000000000000004) so labels and equality work on the intended value. */
const clean = (v: number) => Number(v.toPrecision(12));

/**
 * Tick values of a log axis over [min, max] (at most ~6), plus the floor: decades on wide ranges, 1-2-5 within a
 * few decades, evenly spaced values on a range narrower than a decade (a loss between 1.12 and 1.15).
 */
export function logTicks(range: LogRange, maxTicks = 6): number[] {
  const { min, max, floor } = range;
  if (!(min > 0 && max > min && Number.isFinite(max))) return [];
  const decades = Math.log10(max / min);
  let ticks: number[] = [];
  if (decades >= 2.5) {
    const first = Math.ceil(Math.log10(min)), last = Math.floor(Math.log10(max));
    const every = Math.max(1, Math.ceil((last - first + 1) / maxTicks));
    for (let e = first; e <= last; e += every) ticks.push(clean(Math.pow(10, e)));
  } else if (decades >= 0.8) {
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of [1, 2, 5]) { const v = clean(m * Math.pow(10, e)); if (v >= min && v <= max) ticks.push(v); }
    }
    if (ticks.length > maxTicks) ticks = ticks.filter(v => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
    // Under about a decade and a half 1-2-5 can leave two ticks (1, 2 on a loss from 0.6 to 2.5): space them evenly.
    if (ticks.length < 3) ticks = linearTicks(min, max, Math.min(maxTicks, 5));
  } else {
    ticks = linearTicks(min, max, Math.min(maxTicks, 5));
  }
  if (floor !== undefined) {
    // The gap between the floor and the first real tick is the axis break: no tick may crowd it.
    const gap = 0.12 * Math.log10(max / floor);
    ticks = [floor, ...ticks.filter(v => Math.log10(v / floor) > gap)];
  }
  return ticks;
}

/** Evenly spaced round values inside [min, max]: at most maxTicks, at least three where a 1-2-5 step allows. */
export function linearTicks(min: number, max: number, maxTicks = 6): number[] {
  if (!(max > min) || !Number.isFinite(min) || !Number.isFinite(max)) return Number.isFinite(min) ? [min] : [];
  let step = niceStep((max - min) / Math.max(1, maxTicks - 1));
  const at = (st: number) => {
    const out: number[] = [];
    for (let v = Math.ceil(min / st - 1e-9) * st; v <= max + st * 1e-9; v += st) out.push(clean(v));
    return out;
  };
  let out = at(step);
  for (let i = 0; out.length < 3 && i < 4; i++) {
    step = smallerStep(step);
    out = at(step);
  }
  return out;
}

/**
 * Labels for tick values: the compact formatter with as few significant digits as make every label distinct (never
 * "1.1, 1.1") and true to its value (1.15 is not "1.2"). `floor` is the log axis floor, labelled "0".
 */
export function distinctLabels(values: number[], opts: { floor?: number; minDigits?: number } = {}): string[] {
  const isFloor = (v: number) => opts.floor !== undefined && v === opts.floor;
  const exact = (v: number, label: string) => isFloor(v) || Math.abs(Number(label) - v) <= 1e-9 * Math.abs(v);
  let labels: string[] = [];
  for (let d = opts.minDigits ?? 1; d <= 12; d++) {
    labels = values.map(v => (isFloor(v) ? '0' : formatNumber(v, d)));
    if (new Set(labels).size === new Set(values).size && values.every((v, i) => exact(v, labels[i]))) return labels;
  }
  return labels;
}
