/**
 * The run rules of SPEC §4 over a probe timeline: dead-units, saturation, vanishing-gradient, exploding-gradient,
 * non-finite. They need only the timeline and a description of the layers (no NetworkConfig), so a timeline read
 * from TensorBoard logs (stats partly null) is judged the same way. Every decision is made on robust statistics:
 * medians over the last probes, runs of consecutive probes, and "it hurts" conditions, never on one probe.
 */
import type { ActivationName, LossName } from '../model';
import type { LayerStats, NonFiniteEvent, ProbePoint } from '../core/types';
import { ACTIVATIONS } from '../core/activations';
import { formatNumber as fmt, layerLabel } from '../format';
import type { Finding, Severity, Suggestion } from './types';
import { findingSpanOf, isWeighted, type DiagnosisLayer } from './layers';
import { resolveThresholds, type ThresholdKey } from './thresholds';
import { finalRunStart, longestRun, median, quantile, round2, tail } from './stats';
import type { Thresholds } from '../model';
import { atMostVarianceOf, hasVarianceOf, HE_DERIVED, REMEDY, suggest } from './remedies';

export interface RunInput {
  layers: DiagnosisLayer[];
  timeline: ProbePoint[];
  nonFinite?: NonFiniteEvent;
  loss?: LossName;
  thresholds?: Thresholds;
  /** Where the timeline came from (e.g. a TensorBoard run/tag), copied into every finding's evidence. */
  source?: string;
  /** The learning rate of the run, so that suggestions can name a lower one. */
  lr?: number;
}

type T = Record<ThresholdKey, number>;
const pct = (x: number) => `${fmt(100 * x, 2)}%`;
const sig3 = (x: number) => Number(x.toPrecision(3));

/** Everything the rules read, computed once. */
class Series {
  readonly n: number;
  readonly out: number;
  /** Per layer: tail median of gradRms(layer) / gradRms(output); NaN when not measurable. */
  readonly tailRatio: number[];
  /** Per layer: median of the ratio over the first 3 probes (gradients that explode at init, before training tames them). */
  readonly headRatio: number[];
  constructor(readonly input: RunInput, readonly t: T) {
    this.n = input.timeline.length;
    this.out = outputIndex(input.layers);
    // Indexed by config layer index (a caller may describe only some layers).
    this.tailRatio = []; this.headRatio = [];
    for (const l of input.layers) {
      const r = this.ratio(l.index);
      this.tailRatio[l.index] = median(tail(r, t.tail_fraction));
      this.headRatio[l.index] = median(r.slice(0, 3));
    }
  }
  stat(i: number, key: keyof LayerStats): (number | null)[] {
    return this.input.timeline.map(p => {
      const v = p.layers[i]?.[key];
      return typeof v === 'number' ? v : null;
    });
  }
  /** gradRms(layer) / gradRms(output) per probe, corrected for pooling in between (DiagnosisLayer.gradScale). */
  ratio(i: number): number[] {
    const scale = this.input.layers.find(l => l.index === i)?.gradScale ?? 1;
    return this.input.timeline.map(p => {
      const g = p.layers[i]?.gradRms, o = p.layers[this.out]?.gradRms;
      return g !== undefined && o !== undefined && o > 0 && Number.isFinite(g) && Number.isFinite(o) ? (g * scale) / o : NaN;
    });
  }
  steps(): number[] { return this.input.timeline.map(p => p.step); }
  /** The loss stayed above stall_fraction of its step-0 value over the last probes. */
  lossStalled(): { stalled: boolean; initial: number; final: number } {
    const losses = this.input.timeline.map(p => p.trainLoss);
    const initial = losses.find(Number.isFinite) ?? NaN;
    const final = median(tail(losses, this.t.tail_fraction));
    return { stalled: this.n >= 3 && final > this.t.stall_fraction * initial, initial, final };
  }
}

function outputIndex(layers: DiagnosisLayer[]): number {
  const outs = layers.filter(l => l.isOutput);
  const weighted = outs.find(l => isWeighted(l.type));
  return (weighted ?? outs[0] ?? layers[layers.length - 1])?.index ?? 0;
}

function make(l: DiagnosisLayer | undefined, kind: Finding['kind'], severity: Severity, step: number | null, message: string,
  evidence: Finding['evidence'], suggestions: Suggestion[]): Finding {
  return {
    kind, severity, layer: l?.index ?? -1, layerName: l?.name ?? 'network', step, message, evidence, suggestions,
    span: findingSpanOf(l, kind),
  };
}

const actName = (l: DiagnosisLayer) => l.activation?.name ?? 'linear';
const lowerLr = (lr: number | undefined, why: string): Suggestion[] => (lr ? [{ lr: round2(lr / 10), reason: why }] : []);

// ---- dead-units ------------------------------------------------------------------------------------------

function deadUnits(s: Series): { findings: Finding[]; fullyDead: number[] } {
  const { t } = s;
  const steps = s.steps();
  const findings: Finding[] = [];
  const fullyDead: number[] = [];
  const judged: { l: DiagnosisLayer; d: number[]; final: number }[] = [];
  for (const l of s.input.layers) {
    if (l.isOutput) continue;
    const raw = s.stat(l.index, 'deadFraction');
    if (raw.every(v => v === null)) continue;
    const d = raw.map(v => (v === null ? NaN : v));
    const final = median(tail(d, t.tail_fraction));
    const allDead = final >= 1 - 1e-9;
    // A layer with every unit dead is always an error, whatever the thresholds say.
    if (!(final >= t.dead_info) && !allDead) continue;
    if (allDead) fullyDead.push(l.index);
    judged.push({ l, d, final });
  }
  const firstDead = fullyDead[0];
  for (const { l, d, final } of judged) {
    // Layers above a fully dead layer receive a constant input: they are listed in that layer's finding.
    if (firstDead !== undefined && l.index > firstDead && fullyDead.includes(l.index)) continue;
    const severity: Severity = final >= t.dead_error || l.index === firstDead ? 'error' : final >= t.dead_warning ? 'warning' : 'info';
    const level = severity === 'info' ? t.dead_info : severity === 'warning' ? t.dead_warning : Math.min(t.dead_error, final);
    const at0 = d[0];
    const born = Number.isFinite(at0) && at0 >= level;
    const since = finalRunStart(d.map(v => v >= level));
    const sinceStep = steps[Math.min(since, steps.length - 1)];
    const maxDead = Math.max(...d.filter(Number.isFinite));
    const act = actName(l);
    const when = born
      ? `already ${pct(at0)} at step 0 (born dead)`
      : `${pct(Number.isFinite(at0) ? at0 : 0)} at step 0, they became dead during training by step ${sinceStep}`;
    const evidence: Finding['evidence'] = {
      deadFraction: sig3(final), atStep0: Number.isFinite(at0) ? sig3(at0) : null, max: sig3(maxDead),
      bornDead: born, deadSinceStep: sinceStep, probes: d.length,
    };
    let message: string;
    if (l.index === firstDead) {
      const above = fullyDead.filter(i => i > l.index);
      evidence.deadLayers = fullyDead;
      message = `the network is dead from layer ${layerLabel(l)}: every unit of this ${act} layer has f'(z)=0 on every probe sample, ${when}, so no gradient reaches the layers below and ${above.length ? `${above.length} layer(s) above it are dead too` : 'the layers above see a constant input'}`;
    } else {
      message = `${pct(final)} of the units of ${l.name} (${act}) are dead (f'(z)=0 on every probe sample, median of the last probes): ${when}`;
    }
    // The suggestion follows the cause: units that died during training were pushed there by large updates (a
    // smaller rate first); a network dead from a layer needs every layer that can die changed, not that one.
    const stack = l.index === firstDead
      ? s.input.layers.filter(x => !x.isOutput && ACTIVATIONS[actName(x) as keyof typeof ACTIVATIONS]?.isDead).map(x => x.index) : undefined;
    const where = stack && stack.length > 1 ? stack : undefined;
    const suggestions: Suggestion[] = [
      suggest(REMEDY.leakyRelu, where, where ? ` (on all ${where.length} layers that can die)` : ''),
      suggest(REMEDY.elu, where),
    ];
    // Info level (0.3-0.5 dead) is common in healthy relu nets (calibration: adam 1e-3 and 5e-3 runs reach 0.31):
    // their rate is no cause, and a 10x smaller one only slows learning (Keras corpus 02: val loss 0.27 -> 0.69).
    if (!born && severity !== 'info') suggestions.unshift(...lowerLr(s.input.lr, 'the units died during training: a smaller learning rate avoids the large updates that push them below 0 for every input'));
    // A layer on a model's trained weights is not offered a fresh init (the activation changes above stay).
    else if (l.index === firstDead && !l.fromModel) suggestions.push(suggest(REMEDY.heForDeepNarrow));
    findings.push(make(l, 'dead-units', severity, sinceStep, message, evidence, suggestions));
  }
  return { findings: mergeInfo(findings), fullyDead };
}

/**
 * Info-level dead units (0.3-0.5, common in deep healthy relu nets: calibration 24 x 96 relu + He, 0.35-0.54)
 * become one finding on the lowest layer listing the others, instead of one line per layer.
 */
function mergeInfo(findings: Finding[]): Finding[] {
  const info = findings.filter(f => f.severity === 'info');
  if (info.length < 2) return findings;
  const first = info[0];
  const fractions = info.map(f => f.evidence.deadFraction as number);
  const merged: Finding = {
    ...first,
    message: `${pct(Math.min(...fractions))}-${pct(Math.max(...fractions))} of the units of ${info.length} layers (${info.map(f => f.layerName).join(', ')}) are dead (median of the last probes): common in deep relu nets and harmless while the loss falls`,
    evidence: { ...first.evidence, layers: info.map(f => f.layer), deadFractions: fractions },
  };
  return [...findings.filter(f => f.severity !== 'info'), merged];
}

// ---- saturation ------------------------------------------------------------------------------------------

function saturation(s: Series): Finding[] {
  const { t } = s;
  const steps = s.steps();
  const stall = s.lossStalled();
  const judged: { l: DiagnosisLayer; severity: Severity; final: number; peak: number; run: { length: number; start: number }; worst: number; worstName?: string }[] = [];
  for (const l of s.input.layers) {
    if (l.isOutput) continue;
    const raw = s.stat(l.index, 'saturatedFraction');
    if (raw.every(v => v === null)) continue;
    const v = raw.map(x => (x === null ? NaN : x));
    const run = longestRun(v.map(x => x >= t.saturation_warning));
    if (run.length < t.saturation_probes) continue;
    const final = median(tail(v, t.tail_fraction));
    const errRun = longestRun(v.map(x => x >= t.saturation_error));
    // It hurts when this layer or one below it gets little gradient, or when the loss stalled while high.
    const below = s.input.layers.filter(x => x.index <= l.index && isWeighted(x.type) && Number.isFinite(s.tailRatio[x.index]));
    const worst = below.reduce((m, x) => Math.min(m, s.tailRatio[x.index]), Infinity);
    const hurts = worst < t.saturation_hurt_ratio || stall.stalled;
    const severity: Severity = final >= t.saturation_error && errRun.length >= t.saturation_probes ? 'error' : hurts ? 'warning' : 'info';
    judged.push({ l, severity, final, peak: Math.max(...v.filter(Number.isFinite)), run, worst,
      worstName: below.find(x => s.tailRatio[x.index] === worst)?.name });
  }
  // One finding per severity, on the lowest layer, listing the others: a saturated stack is one problem.
  const findings: Finding[] = [];
  for (const severity of ['error', 'warning', 'info'] as Severity[]) {
    const group = judged.filter(j => j.severity === severity);
    if (!group.length) continue;
    const first = group[0];
    const acts = [...new Set(group.map(j => actName(j.l)))].join('/');
    const fracs = group.map(j => j.final);
    const range = group.length > 1 ? `${pct(Math.min(...fracs))}-${pct(Math.max(...fracs))}` : pct(first.final);
    const who = group.length > 1 ? `${group.length} ${acts} layers (${group.map(j => j.l.name).join(', ')})` : `${first.l.name} (${acts})`;
    const worst = Math.min(...group.map(j => j.worst));
    const worstName = group.find(j => j.worst === worst)?.worstName;
    const why = worst < t.saturation_hurt_ratio ? `the gradient reaching ${worstName} is ${worst === 0 ? 'zero' : `${fmt(worst)} of the output layer's`}`
      : stall.stalled ? `the loss stalled at ${fmt(stall.final)} (${fmt(stall.initial)} at step 0)`
        : 'the loss still fell, so it does not seem to hurt';
    const message = `${range} of the unit activations of ${who} sit where f' < 0.1 max f' (saturated; median of the last probes, at least ${pct(t.saturation_warning)} on ${first.run.length} consecutive probes from step ${steps[first.run.start]}): ${why}`;
    const layers = group.map(j => j.l.index);
    const suggestions = [suggest(REMEDY.reluUnsaturated, layers)];
    // Glorot's reason is about sigmoid/tanh pre-activations: only those layers (relu6, hard_sigmoid, softsign saturate
    // for other reasons; relu is offered for them above), and only where it lowers the variance: not a layer already
    // on Glorot's (however written) or below it, whose saturation the init does not explain.
    // Nor a layer that starts from a model's trained weights (no init remedy is offered there).
    const glorot = group.filter(j => (actName(j.l) === 'sigmoid' || actName(j.l) === 'tanh') && !j.l.fromModel && !atMostVarianceOf(j.l, 'glorot_uniform')).map(j => j.l.index);
    if (acts === 'sigmoid') suggestions.push(suggest(REMEDY.tanhForSaturatedSigmoid, layers));
    else if (glorot.length) suggestions.push(suggest(REMEDY.glorotLinearRange, glorot));
    findings.push(make(first.l, 'saturation', severity, steps[first.run.start], message, {
      saturatedFraction: sig3(first.final), peak: sig3(first.peak), consecutiveProbes: first.run.length, fromStep: steps[first.run.start],
      layers, saturatedFractions: fracs.map(sig3),
      minGradRatioAtOrBelow: Number.isFinite(worst) ? Number(worst.toPrecision(3)) : null, lossStalled: stall.stalled,
    }, suggestions));
  }
  return findings;
}

// ---- vanishing / exploding gradients ----------------------------------------------------------------------

/**
 * A vanishing gradient through non-saturating layers: the init each hidden layer's activation calls for, on every
 * such layer (the variance shrinks at each layer with a smaller init, so fixing only the layers where the gradient
 * has already vanished leaves the shrinking above them). He for the relu family (its derived reason for relu and
 * leaky relu/prelu, the rule-of-thumb one naming the others), lecun_normal for selu (as init-mismatch says); a
 * layer whose activation calls for Glorot (linear, a hidden softmax) is left to the rules on its activation, and a
 * layer that already has its init's variance, however written, or starts from a model's trained weights, is not
 * offered it.
 */
function initSuggestions(layers: DiagnosisLayer[]): Suggestion[] {
  const heDerived: DiagnosisLayer[] = [], heLike: DiagnosisLayer[] = [], lecun: DiagnosisLayer[] = [];
  for (const x of layers) {
    if (!isWeighted(x.type) || x.isOutput || x.fromModel) continue;
    const a = actName(x), want = ACTIVATIONS[a as keyof typeof ACTIVATIONS]?.recommendedInit;
    if (want === 'he_normal' && !hasVarianceOf(x, want)) (HE_DERIVED.has(a as ActivationName) ? heDerived : heLike).push(x);
    else if (want === 'lecun_normal' && !hasVarianceOf(x, want)) lecun.push(x);
  }
  const at = (ls: DiagnosisLayer[]) => ls.map(l => l.index);
  return [
    ...(heDerived.length ? [suggest(REMEDY.heInit, at(heDerived))] : []),
    ...(heLike.length ? [suggest(REMEDY.heForReluLike, at(heLike), ` (${[...new Set(heLike.map(actName))].join(', ')})`)] : []),
    ...(lecun.length ? [suggest(REMEDY.lecunForSelu, at(lecun))] : []),
  ];
}

/** Why a vanishing gradient through non-saturating layers has no init suggestion, and what is left to try. */
function noInitOffered(layers: DiagnosisLayer[]): string {
  const own = layers.filter(x => isWeighted(x.type) && !x.isOutput
    && ['he_normal', 'lecun_normal'].includes(ACTIVATIONS[actName(x) as keyof typeof ACTIVATIONS]?.recommendedInit));
  const fromModel = own.filter(x => x.fromModel);
  const why = !own.length ? 'none of the hidden layers is relu-like or selu'
    : fromModel.length === own.length ? "the layers start from the model's trained weights"
      : fromModel.length ? `${fromModel.map(x => x.name).join(', ')} start${fromModel.length === 1 ? 's' : ''} from the model's trained weights; the other layers already have the variance their activation's init calls for`
        : "every hidden relu-like or selu layer already has the variance its activation's init calls for";
  return `; no init change is offered (${why}): try fewer layers, a batchnorm layer after each hidden layer, or other activations (Compare Activations)`;
}

/** What an exploding-gradient finding with no suggestion (no rate known, no finite norm to clip at) says to do. */
const NO_RATE_NOR_CLIP = '; lower the learning rate or clip the gradient norm (train.clip)';

function gradients(s: Series, fullyDead: number[]): Finding[] {
  const { t } = s;
  const findings: Finding[] = [];
  const steps = s.steps();
  const lastStep = steps[steps.length - 1] ?? 0;
  // Below (and at) a fully dead layer the gradient is exactly 0: the dead-units finding explains it.
  const cut = fullyDead.length ? Math.max(...fullyDead) : -1;
  const judged = s.input.layers.filter(l => isWeighted(l.type) && l.index !== s.out && l.index > cut && Number.isFinite(s.tailRatio[l.index]));
  const r = (l: DiagnosisLayer) => s.tailRatio[l.index];
  const ratios = (ls: DiagnosisLayer[]) => ls.map(l => Number(r(l).toPrecision(3)));
  // By config index: the layers may be a subset, so s.out is not a position in them.
  const outName = s.input.layers.find(l => l.index === s.out)?.name ?? 'output';

  const vanishing = judged.filter(l => r(l) < t.vanishing_warning);
  if (vanishing.length) {
    const lowest = vanishing[0];
    const min = Math.min(...vanishing.map(r));
    const at0 = s.ratio(lowest.index)[0];
    const acts = new Set(vanishing.map(actName));
    const saturating = [...acts].some(a => ACTIVATIONS[a as keyof typeof ACTIVATIONS]?.isSaturated);
    const suggestions = saturating
      ? [suggest(REMEDY.reluHe, vanishing.map(l => l.index)), suggest(REMEDY.tanhGlorot, vanishing.map(l => l.index))]
      : initSuggestions(s.input.layers);
    // Every layer already has its init: the finding still says what is left to try, in words (no config change of
    // ours fits: depth and batchnorm are the user's design).
    const left = suggestions.length ? '' : noInitOffered(s.input.layers);
    findings.push(make(lowest, 'vanishing-gradient', min < t.vanishing_error ? 'error' : 'warning', lastStep,
      `the gradient reaching ${lowest.name} is ${r(lowest) === 0 ? 'zero' : `${fmt(r(lowest))} of the output layer's`} (gradRms ratio, median of the last probes; ${Number.isFinite(at0) ? fmt(at0) : 'n/a'} at step 0): it vanishes in ${vanishing.length} layer(s) (${vanishing.map(l => l.name).join(', ')}), so the lower layers barely learn${left}`,
      { ratio: Number(r(lowest).toPrecision(3)), ratioAtStep0: Number.isFinite(at0) ? Number(at0.toPrecision(3)) : null,
        affectedLayers: vanishing.map(l => l.index), ratios: ratios(vanishing), outputLayer: outName },
      suggestions));
  }

  // Exploding: sustained at the end, or at the start (a chaotic init), whichever is larger.
  const up = (l: DiagnosisLayer) => Math.max(r(l), Number.isFinite(s.headRatio[l.index]) ? s.headRatio[l.index] : 0);
  const exploding = judged.filter(l => up(l) > t.exploding_warning);
  const norms = s.input.timeline.map(p => p.gradNorm);
  const losses = s.input.timeline.map(p => p.trainLoss);
  // A jump of the (one-batch) gradient norm counts only when the loss jumps with it, to a material level: a
  // converged net's rare hard batch gives 10-30x norm spikes while the loss moves from 0.001 to 0.03 (healthy
  // selu/relu nets of the calibration runs), which is not a problem.
  const jumps: number[] = [];
  for (let i = 5; i < norms.length; i++) {
    const m = median(norms.slice(0, i));
    const lossNow = Math.max(losses[i], losses[i + 1] ?? -Infinity);
    const lossRose = !Number.isFinite(lossNow)
      || (lossNow > t.exploding_loss_rise * median(losses.slice(0, i)) && lossNow > t.exploding_loss_floor * losses[0]);
    if (Number.isFinite(norms[i]) && m > 0 && norms[i] > t.exploding_jump * m && lossRose) jumps.push(i);
  }
  if (exploding.length || jumps.length) {
    const calm = jumps.length ? norms.slice(0, jumps[0]) : norms;
    const clip = round2(quantile(calm, 0.9));
    const suggestions: Suggestion[] = [];
    if (clip > 0) suggestions.push({ clip, reason: `clip the global gradient norm at ${fmt(clip)}, the 90th percentile of the norms observed${jumps.length ? ' before the first jump' : ''}` });
    suggestions.push(...lowerLr(s.input.lr, 'a smaller learning rate keeps updates from amplifying'));
    const evidence: Finding['evidence'] = { gradNormP90: clip, jumps: jumps.length, firstJumpStep: jumps.length ? steps[jumps[0]] : null,
      maxGradNorm: Number(Math.max(...norms.filter(Number.isFinite)).toPrecision(3)) };
    if (exploding.length) {
      const lowest = exploding[0];
      const max = Math.max(...exploding.map(up));
      const early = s.headRatio[lowest.index] > r(lowest);
      evidence.ratio = Number(up(lowest).toPrecision(3));
      evidence.ratioAtEnd = Number(r(lowest).toPrecision(3));
      evidence.affectedLayers = exploding.map(l => l.index);
      evidence.ratios = exploding.map(l => Number(up(l).toPrecision(3)));
      if (ACTIVATIONS[actName(lowest) as keyof typeof ACTIVATIONS]?.isSaturated) {
        // A saturating stack whose gradient grows with depth is in the chaotic regime of a too-large init: the cause
        // comes first, clipping only bounds the symptom.
        // Only on layers whose variance Glorot lowers: one already on Glorot's (however written) or below it is not
        // in that regime because of its init, so it keeps the clipping and learning-rate remedies alone.
        const hot = s.input.layers.filter(x => isWeighted(x.type) && !x.isOutput && ACTIVATIONS[actName(x) as keyof typeof ACTIVATIONS]?.isSaturated
          && !x.fromModel && !atMostVarianceOf(x, 'glorot_uniform')).map(x => x.index);
        if (hot.length) suggestions.unshift(suggest(REMEDY.glorotOutOfChaos, hot));
      }
      findings.push(make(lowest, 'exploding-gradient', max > t.exploding_error ? 'error' : 'warning', early ? steps[0] : lastStep,
        `the gradient reaching ${lowest.name} is ${fmt(up(lowest))}x the output layer's (gradRms ratio, median of the ${early ? 'first' : 'last'} probes${early ? `; ${fmt(r(lowest))}x at the end` : ''}): it grows through ${exploding.length} layer(s) (${exploding.map(l => l.name).join(', ')})${jumps.length ? `, and the gradient norm jumped above ${t.exploding_jump}x its running median ${jumps.length} time(s)` : ''}${suggestions.length ? '' : NO_RATE_NOR_CLIP}`,
        evidence, suggestions));
    } else {
      const i = jumps[0];
      findings.push(make(undefined, 'exploding-gradient', 'warning', steps[i],
        `the global gradient norm jumped to ${fmt(norms[i])} at step ${steps[i]}, ${fmt(norms[i] / median(norms.slice(0, i)))}x its running median (${jumps.length} jump(s) above ${t.exploding_jump}x)${suggestions.length ? '' : NO_RATE_NOR_CLIP}`,
        evidence, suggestions));
    }
  }
  return findings;
}

// ---- non-finite ------------------------------------------------------------------------------------------

function nonFinite(s: Series): Finding[] {
  const { timeline, layers } = s.input;
  let ev = s.input.nonFinite;
  if (!ev) {
    // Timelines without an event (e.g. from logs): the first probe with a NaN/Inf, forward order.
    for (const p of timeline) {
      const i = p.layers.findIndex(x => x && x.nonFinite > 0);
      if (i >= 0) { ev = { step: p.step, layer: i, where: 'forward' }; break; }
      if (!Number.isFinite(p.trainLoss)) { ev = { step: p.step, layer: -1, where: 'loss' }; break; }
    }
  }
  if (!ev) return [];
  const l = layers.find(x => x.index === ev!.layer);
  const where = ev.where === 'loss' ? 'the loss' : ev.where === 'forward' ? 'the forward pass' : 'the backward pass';
  // The norms of the run before it blew up: the probes up to the first whose loss left 2x its step-0 value.
  const initial = timeline[0]?.trainLoss;
  const blowUp = timeline.findIndex(p => !(p.trainLoss <= 2 * initial));
  const norms = timeline.slice(0, blowUp < 0 ? timeline.length : blowUp).map(p => p.gradNorm).filter(Number.isFinite);
  const suggestions: Suggestion[] = [...lowerLr(s.input.lr, 'the run diverged: a 10x smaller learning rate is the first thing to try')];
  const clip = norms.length ? round2(quantile(norms, 0.9)) : 0;
  if (clip > 0) suggestions.push({ clip, reason: `clip the gradient norm at ${fmt(clip)}, the 90th percentile of the norms observed before the run diverged` });
  return [make(l, 'non-finite', 'error', ev.step,
    `NaN/Inf first appeared in ${where} at step ${ev.step}${l ? `, layer ${layerLabel(l)}` : ''}: the run stopped there and kept what it measured`,
    { step: ev.step, layer: ev.layer, where: ev.where }, suggestions)];
}

export function runRules(input: RunInput): Finding[] {
  const s = new Series(input, resolveThresholds(input.thresholds));
  const findings = [...nonFinite(s)];
  if (s.n) {
    const dead = deadUnits(s);
    findings.push(...dead.findings, ...saturation(s), ...gradients(s, dead.fullyDead));
  }
  if (input.source) for (const f of findings) f.evidence.source = input.source;
  return findings;
}
