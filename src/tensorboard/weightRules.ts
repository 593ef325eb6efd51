/**
 * Findings from weight histograms alone (docs/tensorboard.md, "Weights"), for the logs most runs in the wild
 * have (Keras `histogram_freq`, PyTorch `named_parameters()` loops). Each finding names the tag and step it
 * comes from and carries its numbers; thresholds are calibrated on weight-only logs of the core's own runs
 * (bench/weightBound.ts) and on the corpus of real logs (test/fixtures/tfevents).
 */
import type { ActivationName } from '../model';
import { ACTIVATIONS, resolveActivation } from '../core/activations';
import { effectiveVariance, resolveInit } from '../core/initializers';
import type { Finding, Severity } from '../diagnosis/types';
import type { WeightStats } from '../core/types';
import type { TbLayer, TbRun } from './run';

/** Fan-in/out and type of a layer, from a model the user gives (`--model`); by layer name. */
export interface LayerFans { type: string; fanIn: number; fanOut: number }
export type ModelShapes = Record<string, LayerFans>;

/**
 * Thresholds (per logged step unless said otherwise). The update bound is a LOWER bound: on the calibration runs
 * (bench/weightBound.ts) the true ratio was a median 2-17x the bound with exact moments (old-style histograms),
 * rarely above 100x, so "not learning" is judged on bound x 100. TF2's 30-bucket bound is 0 in a third to three
 * quarters of the intervals: such logs are not judged "not learning" from it.
 */
export const WEIGHT_THRESHOLDS = {
  /** Lower bound per step above this: weights move >= 1% of their norm every step (~10x the usual 1e-3). */
  unstableRatio: 1e-2,
  unstableRatioError: 1e-1,
  /** bound x looseness below this: even the most the weights could have moved is ~100x below 1e-3. */
  stalledRatio: 1e-5,
  looseness: 100,
  /** Norm growth: last/first at least this, and the last third still growing at >= half the first third's rate. */
  growthFactor: 4,
  growthKeep: 0.5,
  /** Init: step-0 std off by more than this factor from the activation's recommended init. */
  initFactor: 2,
  initFactorWarning: 4,
} as const;

const sig3 = (x: number) => Number(x.toPrecision(3));
const fmt = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? String(sig3(x)) : x.toExponential(2));

export function weightFindings(run: TbRun, shapes: ModelShapes = {}): Finding[] {
  const out: Finding[] = [];
  const unit = run.stepUnit === 'epoch' ? 'epoch' : 'step';
  const weighted = run.layers.filter(l => run.timeline.some(p => p.layers[l.index]?.weights));
  const tagOf = (l: TbLayer) => run.tags.find(t => t.quantity === 'weight' && t.layer === l.name)?.tag;
  const make = (l: TbLayer, kind: Finding['kind'], severity: Severity, step: number | null, message: string, evidence: Finding['evidence']): Finding => {
    const tag = tagOf(l);
    return { kind, severity, layer: l.index, layerName: l.name, step, message, evidence: { ...evidence, run: run.name, ...(tag ? { tag } : {}) }, suggestions: [] };
  };
  const frozen: TbLayer[] = [];
  for (const l of weighted) {
    const series = run.timeline.map(p => ({ step: p.step, w: p.layers[l.index]?.weights })).filter((x): x is { step: number; w: WeightStats } => !!x.w);
    // Non-finite weights: the first step where the histogram's moments are NaN/Inf.
    const bad = series.find(x => x.w.nonFinite);
    if (bad) {
      out.push(make(l, 'non-finite', 'error', bad.step, `the weights of ${l.name} hold NaN/Inf from step ${bad.step}: the run diverged (lower the learning rate, clip gradients)`,
        { where: 'weights', step: bad.step }));
      continue;
    }
    const intervals = series.filter(x => x.w.interval !== null);
    initScale(l, series[0], shapes[l.name]);
    if (!intervals.length) continue;
    // Frozen: every logged histogram identical to the one before.
    if (intervals.every(x => x.w.unchanged)) { frozen.push(l); continue; }
    // Stopped: identical over the last intervals (at least 3 and a tenth of them) after changing before (dead
    // units, a vanished gradient whose updates fall below float32 resolution, a stopped optimizer).
    // With exact moments a bound of 0 means no change above the producer's float32 rounding.
    const still = (w: WeightStats) => !!w.unchanged || (w.exact && w.updateRatioLower === 0);
    let k = intervals.length;
    while (k > 0 && still(intervals[k - 1].w)) k--;
    if (k === 0) {
      // Never a resolvable change (exact moments equal to rounding): far below any working update ratio.
      out.push(make(l, 'update-ratio', 'warning', intervals[intervals.length - 1].step,
        `the weights of ${l.name} did not measurably change over ${intervals.length} logged intervals (${series[0].step}..${series[series.length - 1].step}): every change is below the log's float32 rounding, so the update ratio is far below the typical ~1e-3: the layer is not learning (learning rate too low, or a vanished gradient)`,
        { updateRatioLower: 0, intervals: intervals.length, estimator: 'exact moments equal to float32 rounding at every logged interval' }));
      continue;
    }
    if (intervals.length - k >= Math.max(3, intervals.length / 10)) {
      const since = k > 0 ? intervals[k - 1].step : series[0].step;
      out.push(make(l, 'frozen-weights', 'warning', since,
        `the weights of ${l.name} stopped changing at step ${since} (identical, or equal to float32 rounding, at the ${intervals.length - k + 1} logged steps since, after changing before): no gradient reaches them (dead units, a vanished gradient) or the optimizer stopped`,
        { stoppedAt: since, unchangedSteps: intervals.length - k + 1, lastStep: series[series.length - 1].step }));
      continue;
    }

    const ratios = intervals.map(x => x.w.updateRatioLower ?? 0);
    const recent = ratios.slice(Math.floor(ratios.length / 2));
    const med = median(recent);
    const exact = series.every(x => x.w.exact);
    const loose = WEIGHT_THRESHOLDS.looseness;
    const estimator = `lower bound from the change of the weight histogram (${exact ? 'exact moments and buckets' : 'buckets only'}), per ${unit}, median of the last ${recent.length} logged interval(s)`;
    if (unit === 'step' && med >= WEIGHT_THRESHOLDS.unstableRatio) {
      const severity: Severity = med >= WEIGHT_THRESHOLDS.unstableRatioError ? 'error' : 'warning';
      out.push(make(l, 'update-ratio', severity, intervals[intervals.length - 1].step,
        `the weights of ${l.name} move by at least ${fmt(100 * med)}% of their norm per step (update ratio >= ${fmt(med)}; about 1e-3 is typical): training is unstable or the learning rate is too high`,
        { updateRatioLower: sig3(med), threshold: WEIGHT_THRESHOLDS.unstableRatio, estimator, intervals: recent.length }));
    } else if (exact && recent.every(r => r > 0) && med * loose < WEIGHT_THRESHOLDS.stalledRatio) {
      // Only with exact moments: a bucket-only bound is often 0 (below the buckets' resolution), which says nothing.
      out.push(make(l, 'update-ratio', 'warning', intervals[intervals.length - 1].step,
        `the weights of ${l.name} barely change: update ratio >= ${fmt(med)} per ${unit}; the truth was rarely above 100x this bound on the calibration runs, so probably below ${fmt(med * loose)} (about 1e-3 is typical): the layer is hardly learning (learning rate too low, or a vanished gradient)`,
        { updateRatioLower: sig3(med), probablyBelow: sig3(med * loose), threshold: WEIGHT_THRESHOLDS.stalledRatio, estimator, intervals: recent.length }));
    }
    growth(l, series);
  }
  if (frozen.length) {
    const all = frozen.length === weighted.length;
    for (const l of frozen) {
      const s = run.timeline.filter(p => p.layers[l.index]?.weights);
      out.push(make(l, 'frozen-weights', all ? 'warning' : 'info', s[s.length - 1].step,
        all ? `the weights of ${l.name} are identical at all ${s.length} logged steps (${s[0].step}..${s[s.length - 1].step}), as are every other layer's: nothing is being trained (optimizer not stepping, zero learning rate, or every parameter frozen)`
          : `the weights of ${l.name} are identical at all ${s.length} logged steps (${s[0].step}..${s[s.length - 1].step}) while other layers change: the layer is frozen (requires_grad=False / trainable=False; intended when fine-tuning) or receives no gradient`,
        { loggedSteps: s.length, firstStep: s[0].step, lastStep: s[s.length - 1].step }));
    }
  }
  return out;

  function growth(l: TbLayer, series: { step: number; w: WeightStats }[]): void {
    if (series.length < 6) return;
    const n = series.length, third = Math.floor(n / 3);
    const rate = (a: number, b: number) => (Math.log(series[b].w.norm) - Math.log(series[a].w.norm)) / Math.max(1, series[b].step - series[a].step);
    const first = rate(0, third), last = rate(n - 1 - third, n - 1);
    const factor = series[n - 1].w.norm / series[0].w.norm;
    const tailRising = series.slice(n - 1 - third).every((x, i, a) => i === 0 || x.w.norm >= a[i - 1].w.norm);
    if (factor >= WEIGHT_THRESHOLDS.growthFactor && first > 0 && last >= WEIGHT_THRESHOLDS.growthKeep * first && tailRising) {
      out.push(make(l, 'weight-growth', 'warning', series[n - 1].step,
        `the weight norm of ${l.name} grew ${fmt(factor)}x (${fmt(series[0].w.norm)} at step ${series[0].step} to ${fmt(series[n - 1].w.norm)} at step ${series[n - 1].step}) and is not levelling off (growth rate in the last third ${fmt(last / first)}x the first third's): weights growing without bound (add weight decay, lower the learning rate, check for a missing normalization)`,
        { normFirst: sig3(series[0].w.norm), normLast: sig3(series[n - 1].w.norm), factor: sig3(factor), rateRatio: sig3(last / first) }));
    }
  }

  /** Step-0 std against the init the activation calls for (He for relu-family, Glorot for sigmoid/tanh/linear, LeCun for selu). */
  function initScale(l: TbLayer, first: { step: number; w: WeightStats }, given?: LayerFans): void {
    if (first.step !== 0 || !(first.w.std > 0)) return;
    const fanIn = given?.fanIn ?? (l.biasCount ? first.w.count / l.biasCount : undefined);
    if (!fanIn || !Number.isFinite(fanIn)) return;
    // Without the model, a layer's type is unknown: a conv's fan-out is filters * kernel area, not the bias count.
    const fanOut = given?.fanOut ?? (l.type === 'dense' && !given ? l.biasCount : undefined);
    const act = l.activation ? resolveActivation(l.activation.name) : undefined;
    const std = first.w.std;
    const expected: { name: string; std: number }[] = [];
    const add = (init: string) => {
      const spec = resolveInit(init);
      const v = spec && effectiveVariance(spec, fanIn, fanOut ?? fanIn);
      // A fan_avg init with an unknown fan-out is judged both ways (fan_out = fan_in, and fan_in alone).
      if (v) expected.push({ name: fanOut === undefined && spec.mode === 'fan_avg' ? `${init} (fan_out unknown: taken = fan_in)` : init, std: Math.sqrt(v) });
    };
    if (act) add(ACTIVATIONS[act as ActivationName].recommendedInit);
    else for (const init of ['he_normal', 'lecun_normal', 'glorot_normal']) add(init);
    if (!expected.length) return;
    const lo = Math.min(...expected.map(e => e.std)), hi = Math.max(...expected.map(e => e.std));
    const off = std > hi ? std / hi : std < lo ? lo / std : 1;
    if (off <= WEIGHT_THRESHOLDS.initFactor) return;
    const deep = weighted.length >= 5;
    const severity: Severity = off > WEIGHT_THRESHOLDS.initFactorWarning || deep ? 'warning' : 'info';
    const target = act ? `${expected[0].name} for ${act}${l.activationSource === 'inferred' ? ' (inferred)' : ''}` : 'any common init (he, lecun, glorot)';
    const dir = std > hi ? 'larger' : 'smaller';
    out.push(make(l, 'init-mismatch', severity, 0,
      `the weights of ${l.name} start with std ${fmt(std)}, ${fmt(off)}x ${dir} than ${target} (std ${fmt(act ? expected[0].std : std > hi ? hi : lo)} for fan-in ${fmt(fanIn)}): ${dir === 'larger' ? 'activations and gradients grow layer by layer' : 'the signal shrinks layer by layer'}${run.stepUnit === 'epoch' ? ' (Keras logs step 0 after the first epoch)' : ''}`,
      { std: sig3(std), expectedStd: sig3(act ? expected[0].std : std > hi ? hi : lo), factor: sig3(off), fanIn: sig3(fanIn), ...(fanOut !== undefined ? { fanOut: sig3(fanOut) } : {}),
        fanFrom: given ? 'model' : 'weights / biases', activation: act ?? null }));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}
